import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from '@jest/globals';
import {
  BackendProvider,
  BaseBackendConfig,
  createAegis,
  definePlugin,
  PLUGIN_API_VERSION,
  z,
  type Aegis,
  type AegisPlugin,
  type Logger,
  type EmbeddingsOptions,
  type EmbeddingsResult,
  type CooldownListener,
  type SharedCooldowns,
} from '@aegis/core';
import exampleCom from 'aegis-provider-example-com';
import routerPlugins from '../index.js';

export const KEY = 'router-test-key-5c1d';
export const hi = [{ role: 'user' as const, content: 'Say hello' }];

/** The lines of an example_com profile pointing at `baseUrl` (an emulator's url, or a closed port); no retries unless `extra` sets them. */
export function exampleProfile(name: string, baseUrl: string, ...extra: string[]): string[] {
  return [
    `- profile_name: ${name}`,
    '  type: example_com',
    `  llm_url: "${baseUrl}/v1/completion"`,
    `  api_key: ${KEY}`,
    ...(extra.some((line) => line.startsWith('max_retries:')) ? [] : ['  max_retries: 0']),
    ...extra.map((line) => `  ${line}`),
  ];
}

/** The lines of a composite profile. */
export function compositeProfile(name: string, type: 'fallback' | 'balance', members: string[], ...extra: string[]): string[] {
  return [`- profile_name: ${name}`, `  type: ${type}`, `  profiles: [${members.join(', ')}]`, ...extra.map((line) => `  ${line}`)];
}

/** A provider with embeddings and no network, to show that a fallback skips members without them. */
class FakeEmbedder extends BackendProvider {
  protected override async doEmbeddings(texts: string[], _options: EmbeddingsOptions): Promise<EmbeddingsResult> {
    return { embeddings: texts.map((t) => [t.length, 1]), model: 'fake' };
  }
}

export const fakeEmbedderPlugin = definePlugin({
  apiVersion: PLUGIN_API_VERSION,
  type: 'fake_embedder',
  configSchema: BaseBackendConfig.extend({ type: z.literal('fake_embedder') }),
  capabilities: ['embeddings'],
  create: (config, context) => new FakeEmbedder(config, context),
});

/** An AEGIS instance over a backends.yaml written to a temp dir; `dispose` closes it and removes the dir. */
export function aegisFor(
  lines: string[],
  options: { plugins?: AegisPlugin[]; logger?: Logger; sharedCooldowns?: SharedCooldowns } = {},
): { aegis: Aegis; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'aegis-router-'));
  const configPath = join(dir, 'backends.yaml');
  writeFileSync(configPath, lines.join('\n') + '\n');
  const aegis = createAegis({
    configPath,
    plugins: [exampleCom, fakeEmbedderPlugin, ...routerPlugins, ...(options.plugins ?? [])],
    env: {},
    discover: false,
    logLevel: 'silent',
    logger: options.logger,
    sharedCooldowns: options.sharedCooldowns,
  });
  return {
    aegis,
    dispose() {
      aegis.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The base URL of a loopback port nothing listens on (connection refused). */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** What a promise rejects with (fails the test when it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  const outcome = await promise.then(
    (value) => ({ resolved: value }),
    (error: unknown) => ({ error }),
  );
  expect(outcome).toHaveProperty('error');
  return (outcome as { error: unknown }).error;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A logger that keeps every line, to see what the machinery did (retries, cooldowns). */
export function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const keep = (message: string) => void lines.push(message);
  return { lines, debug: keep, info: keep, warn: keep, error: keep };
}

/**
 * A shared cooldown board in memory, standing for the store replicas share:
 * it records what this process announces, and `elsewhere` plays another
 * replica announcing (delivered at once to every subscriber). What is running
 * is replayed to a new subscriber, as the contract says.
 */
export class FakeCooldownBoard implements SharedCooldowns {
  readonly announced: [key: string, ms: number][] = [];
  readonly listeners = new Set<CooldownListener>();
  private readonly running = new Map<string, number>();

  announce(key: string, ms: number): void {
    this.announced.push([key, ms]);
  }

  subscribe(listener: CooldownListener): () => void {
    for (const [key, until] of this.running) if (until > Date.now()) listener(key, until - Date.now());
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  elsewhere(key: string, ms: number): void {
    this.running.set(key, Date.now() + ms);
    for (const listener of this.listeners) listener(key, ms);
  }
}
