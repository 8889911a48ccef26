/**
 * Shared state in a real Redis: the store's atomic steps, then two `aegis
 * serve` processes on one Redis sharing a key's request limit and an
 * upstream's cooldown.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { RedisLimitStore } from './index.js';
import { backendsYaml, startBackends, UPSTREAM_ENV, type Backends } from './__tests__/harness.js';
import { startRedisServer, type RedisServer } from './__tests__/redis-server.js';
import { startServe, type ServeProcess } from './__tests__/serve-process.js';

let redis: RedisServer;

beforeAll(async () => {
  redis = await startRedisServer();
});
afterAll(async () => {
  await redis?.stop();
});

describe('RedisLimitStore', () => {
  it('takes atomically: of 40 concurrent takes from two clients under a limit of 25, exactly 25 pass', async () => {
    const prefix = `t-${randomUUID()}:`;
    const [a, b] = await Promise.all([RedisLimitStore.connect({ url: redis.url, prefix }), RedisLimitStore.connect({ url: redis.url, prefix })]);
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).take('rpm:k', 7, 1, 60_000, 1, 25)));
    expect(results.filter((r) => r.allowed)).toHaveLength(25);
    expect(await a.peek('rpm:k', 7)).toEqual({ current: 25, previous: 0 });
    expect(await b.peek('rpm:k', 8)).toEqual({ current: 0, previous: 25 });
    await a.add('tpm:k', 7, 60_000, 120);
    expect((await b.peek('tpm:k', 7)).current).toBe(120);
    await a.coolDown('profile:p', 30_000);
    await b.coolDown('profile:p', 1_000);
    expect(await b.cooldownLeft('profile:p')).toBeGreaterThan(1_000);
    expect(a.healthy).toBe(true);
    await Promise.all([a.close(), b.close()]);
  });

  it('fails to connect with a clear error when Redis is not there', async () => {
    await expect(RedisLimitStore.connect({ url: 'redis://127.0.0.1:1', prefix: 'x:' })).rejects.toThrow(/cannot connect to redis at 127\.0\.0\.1:1: .*ECONNREFUSED/);
  });
});

describe('two gateway processes on one Redis', () => {
  let backends: Backends;
  let dir: string;
  let replicas: ServeProcess[] = [];
  const KEY = 'replica-key-0123456789abcdef';

  beforeAll(async () => {
    backends = await startBackends();
    dir = mkdtempSync(join(tmpdir(), 'aegis-replicas-'));
    const yaml = backendsYaml(
      backends,
      `gateway:
  keys:
    - name: shared
      key: \${GATEWAY_KEY}
      requests_per_minute: 3
  redis_url: ${redis.url}
  redis_prefix: 'replicas-${randomUUID()}:'
`,
    );
    writeFileSync(join(dir, 'backends.yaml'), yaml);
    const env = { ...UPSTREAM_ENV, GATEWAY_KEY: KEY, AEGIS_LOG_LEVEL: 'warn' };
    replicas = await Promise.all([startServe(['--config', join(dir, 'backends.yaml')], env), startServe(['--config', join(dir, 'backends.yaml')], env)]);
  });

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await backends?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const call = (replica: ServeProcess, model: string) =>
    fetch(`${replica.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
    });

  it('share one key\'s request limit: what one replica used, the other refuses', async () => {
    const [a, b] = replicas as [ServeProcess, ServeProcess];
    expect((await call(a, 'llama')).status).toBe(200);
    expect((await call(b, 'llama')).status).toBe(200);
    expect((await call(a, 'llama')).status).toBe(200);
    // Three used in the window (one per replica at least): the fourth is refused by either replica.
    const refusedByB = await call(b, 'llama');
    expect(refusedByB.status).toBe(429);
    expect(Number(refusedByB.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await call(a, 'llama')).status).toBe(429);
    const ready = await (await fetch(`${b.url}/readyz`)).json();
    expect(ready.status).toBe('ready');
  });
});

describe('two gateway processes share an upstream\'s cooldown', () => {
  let backends: Backends;
  let dir: string;
  let replicas: ServeProcess[] = [];

  beforeAll(async () => {
    backends = await startBackends();
    dir = mkdtempSync(join(tmpdir(), 'aegis-replicas-'));
    writeFileSync(join(dir, 'backends.yaml'), backendsYaml(backends, `gateway:\n  redis_url: ${redis.url}\n  redis_prefix: 'cooldown-${randomUUID()}:'\n`));
    const env = { ...UPSTREAM_ENV, AEGIS_LOG_LEVEL: 'error' };
    replicas = await Promise.all([startServe(['--config', join(dir, 'backends.yaml')], env), startServe(['--config', join(dir, 'backends.yaml')], env)]);
  });

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await backends?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a backend\'s 429 seen by one replica makes the other answer 429 without calling it', async () => {
    const [a, b] = replicas as [ServeProcess, ServeProcess];
    backends.openai.failNext({ kind: 'status', status: 429, retryAfter: '30' });
    const first = await fetch(`${a.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'x' }] }) });
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('30');
    const upstreamCalls = backends.openai.requests.length;
    const second = await fetch(`${b.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'x' }] }) });
    expect(second.status).toBe(429);
    expect((await second.json()).error.code).toBe('upstream_rate_limited');
    expect(backends.openai.requests.length).toBe(upstreamCalls);
  });
});
