/** A gateway over real plugins and the testkit's emulators, on a free loopback port. */
import http from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
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

/**
 * An OpenAI-compatible upstream the test steers: each streamed call sends its
 * first delta, then waits for `release()`; `flood` calls write deltas until the
 * socket pushes back. It tells when a call's connection closed early (aborted).
 */
export interface HeldUpstream {
  baseUrl: string;
  /** Resolves when a call has sent its first delta; with its controls. */
  nextCall(): Promise<HeldCall>;
  close(): Promise<void>;
}

export interface HeldCall {
  /** Sends the rest and ends the stream. */
  release(): void;
  /** Resolves when the upstream connection closed before the stream was ended by us. */
  aborted: Promise<void>;
  /** For a flood call: resolves with the bytes written when a write first returned false. */
  blocked: Promise<number>;
}

/** A profile `held` over a HeldUpstream's base URL (no retries: a test sees each call once). */
export function heldProfile(baseUrl: string): string {
  return `  - profile_name: held
    type: openai
    base_url: ${baseUrl}
    api_key: sk-held-0123456789
    model: m
    max_retries: 0
`;
}

export async function startHeldUpstream(): Promise<HeldUpstream> {
  const { createServer } = await import('node:http');
  const waiting: ((call: HeldCall) => void)[] = [];
  const ready: HeldCall[] = [];
  const chunk = (content: string) =>
    `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      const flood = body.includes('FLOOD');
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let ended = false;
      let onAbort!: () => void;
      const aborted = new Promise<void>((resolve) => (onAbort = resolve));
      res.on('close', () => {
        if (!ended) onAbort();
      });
      let onBlocked!: (n: number) => void;
      const blocked = new Promise<number>((resolve) => (onBlocked = resolve));
      const finish = () => {
        if (res.destroyed) return;
        ended = true;
        res.end(`${chunk(' end')}data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\ndata: [DONE]\n\n`);
      };
      res.write(chunk('first'));
      const call: HeldCall = { release: finish, aborted, blocked };
      if (flood) {
        // 1 KiB deltas until the socket refuses more (bounded at 256 MiB, which a buffering gateway would swallow).
        const piece = chunk('x'.repeat(1024));
        let written = 0;
        const pump = () => {
          while (!res.destroyed && written < 256 * 1024 * 1024) {
            written += piece.length;
            if (!res.write(piece)) {
              onBlocked(written);
              return;
            }
          }
        };
        pump();
      }
      const waiter = waiting.shift();
      if (waiter) waiter(call);
      else ready.push(call);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    nextCall: () => {
      const call = ready.shift();
      return call ? Promise.resolve(call) : new Promise<HeldCall>((resolve) => waiting.push(resolve));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A backend that answers every request with HTTP 500, counting them. */
export async function startFailingBackend(): Promise<{ baseUrl: string; requests: () => number; close(): Promise<void> }> {
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    req.resume();
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { message: 'the backend is broken', type: 'server_error' } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Profiles `flaky` (an openai profile on `baseUrl`, a failing backend) and `steady`, a fallback from it to `llama` that skips it for 600 s after one failure. */
export function flakyFallback(baseUrl: string): string {
  return `  - profile_name: flaky
    type: openai
    base_url: ${baseUrl}
    api_key: sk-flaky-0123456789
    model: gpt-4o-mini
    max_retries: 0
  - profile_name: steady
    type: fallback
    profiles: [flaky, llama]
    cooldown: 600
    cooldown_after: 1
`;
}

/** The access log entry that matches, once it is written (when the server sees the connection close). */
export async function waitForLog(gw: RunningGateway, match: (entry: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  // Polls the list: no timer race, the jest timeout is the only bound.
  for (;;) {
    const found = gw.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find(match);
    if (found) return found;
    await new Promise((resolve) => setImmediate(resolve));
  }
}
