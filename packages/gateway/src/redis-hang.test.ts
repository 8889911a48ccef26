/**
 * A Redis that stops answering without refusing connections (SIGSTOP of a real
 * redis-server: as a stuck primary, or a black-holed network) is treated as a
 * Redis that is away: calls of keys with limits get 503 limits_unavailable,
 * calls of keys without limits are answered, /readyz says 503, a reload to it
 * fails instead of hanging; once it answers again, all works again. And a
 * connection that stays dead (a TCP proxy dropping its bytes) is replaced.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { connect as connectTcp, createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { createTestAegis } from '@aegis/testkit';
import { RedisLimitStore } from './index.js';
import { backendsYaml, PLUGINS, startBackends, startGateway, UPSTREAM_ENV, type Backends } from './__tests__/harness.js';
import { startRedisServer, type RedisServer } from './__tests__/redis-server.js';

/** A ceiling for a test that would hang, not a measure. */
const TEST_TIMEOUT = 120_000;
const LIMITED = 'limited-key-0123456789abcdef';
const FREE = 'free-key-0123456789abcdef00';
const KEYS = { KEY_LIMITED: LIMITED, KEY_FREE: FREE };

let redis: RedisServer;
let pid: number | undefined;
let paused = false;
let backends: Backends;

/** Redis stops answering: its process is stopped, its connections stay open. */
const pause = () => {
  process.kill(pid!, 'SIGSTOP');
  paused = true;
};
const resume = () => {
  if (!paused) return;
  process.kill(pid!, 'SIGCONT');
  paused = false;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  redis = await startRedisServer();
  const raw = new Redis(redis.url);
  try {
    pid = Number(/process_id:(\d+)/.exec(await raw.info('server'))![1]);
  } finally {
    raw.disconnect();
  }
  backends = await startBackends();
});
afterAll(async () => {
  // Never leave a stopped redis-server behind (it would not even handle SIGTERM).
  if (pid !== undefined) process.kill(pid, 'SIGCONT');
  await redis?.stop();
  await backends?.close();
});

const chat = (url: string, key: string) =>
  fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify({ model: 'llama', messages: [{ role: 'user', content: 'hi' }] }),
  });
const readyz = async (url: string) => {
  const res = await fetch(`${url}/readyz`);
  return { status: res.status, body: (await res.json()) as { status: string; problems: string[] } };
};

describe('a gateway whose Redis stops answering', () => {
  const yaml = (prefix: string) =>
    backendsYaml(
      backends,
      `gateway:
  keys:
    - name: limited
      key: \${KEY_LIMITED}
      requests_per_minute: 1000
    - name: free
      key: \${KEY_FREE}
  redis_url: ${redis.url}
  redis_prefix: '${prefix}'
`,
    );

  it('answers 503 limits_unavailable to keys with limits, answers keys without, says not ready; all works again once Redis answers', async () => {
    const gw = await startGateway(yaml(`hang-${randomUUID()}:`), KEYS);
    try {
      expect((await chat(gw.url, LIMITED)).status).toBe(200);
      expect((await chat(gw.url, FREE)).status).toBe(200);
      expect((await readyz(gw.url)).status).toBe(200);

      pause();
      try {
        const [limited, free] = await Promise.all([chat(gw.url, LIMITED), chat(gw.url, FREE)]);
        expect(limited.status).toBe(503);
        expect(((await limited.json()) as { error: { code: string } }).error.code).toBe('limits_unavailable');
        expect(free.status).toBe(200);
        expect(((await free.json()) as { choices: unknown[] }).choices).toHaveLength(1);
        const notReady = await readyz(gw.url);
        expect(notReady.status).toBe(503);
        expect(notReady.body.problems.join(' ')).toMatch(/redis/i);
        // Still so for the next calls.
        expect((await chat(gw.url, LIMITED)).status).toBe(503);
        expect((await chat(gw.url, FREE)).status).toBe(200);
      } finally {
        resume();
      }

      // Ready again as soon as Redis answers (the jest timeout bounds the wait).
      while ((await readyz(gw.url)).status !== 200) await sleep(50);
      expect((await readyz(gw.url)).body.status).toBe('ready');
      expect((await chat(gw.url, LIMITED)).status).toBe(200);
      expect((await chat(gw.url, FREE)).status).toBe(200);
    } finally {
      resume();
      await gw.close();
    }
  }, TEST_TIMEOUT);

  it('a reload to a Redis that does not answer fails, and the running configuration keeps serving', async () => {
    const gw = await startGateway(backendsYaml(backends, 'gateway:\n  keys:\n    - name: free\n      key: ${KEY_FREE}\n'), KEYS);
    const next = createTestAegis({ plugins: PLUGINS, profiles: yaml(`reload-${randomUUID()}:`), env: { ...UPSTREAM_ENV, ...KEYS } });
    try {
      pause();
      try {
        await expect(gw.gateway.reload(next.aegis)).rejects.toThrow(/cannot connect to redis at 127\.0\.0\.1:\d+: no answer within 1000 ms/);
        expect((await chat(gw.url, FREE)).status).toBe(200);
        expect((await readyz(gw.url)).status).toBe(200);
      } finally {
        resume();
      }
    } finally {
      next.close();
      await gw.close();
    }
  }, TEST_TIMEOUT);
});

describe('RedisLimitStore on a Redis that stops answering', () => {
  it('fails its commands (at once while silent), reads no cooldown, is unhealthy, closes; healthy again once Redis answers', async () => {
    const errors: string[] = [];
    const warnings: string[] = [];
    const prefix = `store-${randomUUID()}:`;
    const store = await RedisLimitStore.connect({ url: redis.url, prefix, onError: (e) => errors.push(e.message), onWarning: (m) => warnings.push(m) });
    const second = await RedisLimitStore.connect({ url: redis.url, prefix });
    let closed = false;
    try {
      await store.coolDown('profile:p', 60_000);
      expect(await store.cooldownLeft('profile:p')).toBeGreaterThan(0);
      pause();
      try {
        await expect(store.take('rpm:k', 1, 0, 60_000, 1, 10)).rejects.toThrow(/no answer within 1000 ms/);
        expect(store.healthy).toBe(false);
        expect(errors.join('\n')).toMatch(/no answer within 1000 ms: calls of keys with limits get 503/);
        // Silent: refused without asking again, and a cooldown that cannot be read is none.
        await expect(store.peek('tpm:k', 1)).rejects.toThrow(/redis is not answering/);
        await expect(store.cooldownLeft('profile:p')).resolves.toBe(0);
        // Closing does not wait for an answer that does not come.
        await second.close();
        closed = true;
      } finally {
        resume();
      }
      while (!store.healthy) await sleep(50);
      expect(warnings).toContain('answering again');
      expect((await store.take('rpm:k', 1, 0, 60_000, 1, 10)).allowed).toBe(true);
      expect(await store.cooldownLeft('profile:p')).toBeGreaterThan(0);
    } finally {
      resume();
      await store.close();
      if (!closed) await second.close();
    }
  }, TEST_TIMEOUT);

  it('connecting to a Redis that does not answer fails with a clear error', async () => {
    pause();
    try {
      await expect(RedisLimitStore.connect({ url: redis.url, prefix: 'x:', commandTimeoutMs: 300 })).rejects.toThrow(/cannot connect to redis at 127\.0\.0\.1:\d+: no answer within 300 ms/);
    } finally {
      resume();
    }
  }, TEST_TIMEOUT);

  it('opens new connections when the old ones stay silent (a black-holed network): commands and shared cooldowns work again', async () => {
    const proxy = await startBlackHoleProxy(redis.port);
    const prefix = `hole-${randomUUID()}:`;
    const store = await RedisLimitStore.connect({ url: proxy.url, prefix, commandTimeoutMs: 300 });
    const other = await RedisLimitStore.connect({ url: redis.url, prefix });
    try {
      const board = store.sharedCooldowns!;
      proxy.blackHole();
      await expect(store.take('rpm:k', 1, 0, 60_000, 1, 10)).rejects.toThrow(/no answer within 300 ms/);
      expect(store.healthy).toBe(false);
      // The network comes back, but not for the connections it swallowed: only new ones work.
      proxy.heal();
      while (!store.healthy) await sleep(50);
      expect((await store.take('rpm:k', 1, 0, 60_000, 1, 10)).allowed).toBe(true);
      // The subscriber connection was replaced too: another replica's cooldown reaches this one.
      const heard = new Promise<void>((resolve) => board.subscribe((key) => key === 'router:p:after' && resolve()));
      other.sharedCooldowns!.announce('router:p:after', 30_000);
      await heard;
    } finally {
      await store.close();
      await other.close();
      await proxy.close();
    }
  }, TEST_TIMEOUT);
});

/**
 * A TCP proxy to Redis that can swallow bytes without closing anything: from `blackHole()` on, every
 * connection it holds, and every one opened until `heal()`, forwards nothing, for good.
 */
async function startBlackHoleProxy(port: number): Promise<{ url: string; blackHole(): void; heal(): void; close(): Promise<void> }> {
  let passing = true;
  const pairs = new Set<{ client: Socket; upstream: Socket; dead: boolean }>();
  const server: Server = createServer((client) => {
    const upstream = connectTcp(port, '127.0.0.1');
    const pair = { client, upstream, dead: !passing };
    pairs.add(pair);
    client.on('data', (data) => pair.dead || upstream.write(data));
    upstream.on('data', (data) => pair.dead || client.write(data));
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on('close', end);
      socket.on('error', end);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: own } = server.address() as { port: number };
  return {
    url: `redis://127.0.0.1:${own}`,
    blackHole: () => {
      passing = false;
      for (const pair of pairs) pair.dead = true;
    },
    heal: () => {
      passing = true;
    },
    close: async () => {
      for (const pair of pairs) {
        pair.client.destroy();
        pair.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
