/** A gateway over real plugins and the testkit's emulators, on a free loopback port. */
import { createServer } from 'node:net';
import { createTestAegis, startOllamaEmulator, startOpenAIEmulator, type Emulator, type TestAegis } from '@aegis/testkit';
import type { AegisPlugin } from '@aegis/core';
import openaiPlugin from '@aegis/provider-openai';
import ollamaPlugin from '@aegis/provider-ollama';
import routerPlugins from '@aegis/provider-router';
import { createGateway, type Gateway, type GatewayOptions } from '../index.js';

export const PLUGINS: AegisPlugin[] = [openaiPlugin, ollamaPlugin, ...(Array.isArray(routerPlugins) ? routerPlugins : [routerPlugins])];

export interface Backends {
  openai: Emulator;
  ollama: Emulator;
  /** A port nothing listens on. */
  deadUrl: string;
  close(): Promise<void>;
}

export async function startBackends(): Promise<Backends> {
  const [openai, ollama, deadPort] = await Promise.all([startOpenAIEmulator({ apiKey: 'sk-upstream-secret-0123456789' }), startOllamaEmulator(), freePort()]);
  return {
    openai,
    ollama,
    deadUrl: `http://127.0.0.1:${deadPort}/v1`,
    close: async () => {
      await Promise.all([openai.close(), ollama.close()]);
    },
  };
}

/** profiles: chat (openai), llama (ollama), safe (fallback: a dead openai first, then ollama); then `extra` YAML. */
export function backendsYaml(b: Backends, extra = ''): string {
  return `profiles:
  - profile_name: chat
    type: openai
    base_url: ${b.openai.baseUrl}
    api_key: \${UPSTREAM_KEY}
    model: gpt-4o-mini
    max_retries: 0
  - profile_name: llama
    type: ollama
    base_url: ${b.ollama.baseUrl}
    model: llama3.2
    max_retries: 0
  - profile_name: dead
    type: openai
    base_url: ${b.deadUrl}
    api_key: sk-dead-0123456789
    model: gpt-4o-mini
    max_retries: 0
  - profile_name: safe
    type: fallback
    profiles: [dead, llama]
${extra}`;
}

export const UPSTREAM_ENV = { UPSTREAM_KEY: 'sk-upstream-secret-0123456789' };

export interface RunningGateway {
  gateway: Gateway;
  test: TestAegis;
  url: string;
  logs: string[];
  close(): Promise<void>;
}

export async function startGateway(yaml: string, env: Record<string, string> = {}, options: GatewayOptions = {}): Promise<RunningGateway> {
  const test = createTestAegis({ plugins: PLUGINS, profiles: yaml, env: { ...UPSTREAM_ENV, ...env } });
  const logs: string[] = [];
  const gateway = await createGateway(test.aegis, { accessLog: (line) => logs.push(line), defaultMetrics: false, ...options });
  const { url } = await gateway.listen({ port: 0, host: '127.0.0.1' });
  return {
    gateway,
    test,
    url,
    logs,
    close: async () => {
      await gateway.close({ timeoutMs: 0 });
      test.close();
    },
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
