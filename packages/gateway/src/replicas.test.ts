/**
 * Shared state in a real Redis: the store's atomic steps and the shared
 * member cooldowns, then two `aegis serve` processes on one Redis sharing a
 * key's request limit, an upstream's cooldown and a fallback member's
 * cooldown; reload and close leave no connection behind.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { createTestAegis } from '@aegis/testkit';
import { RedisLimitStore, type RedisCooldowns } from './index.js';
import { backendsYaml, flakyFallback, PLUGINS, startBackends, startFailingBackend, startGateway, UPSTREAM_ENV, type Backends } from './__tests__/harness.js';
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

describe('RedisCooldowns (the router\'s member cooldowns, shared)', () => {
  const stores: RedisLimitStore[] = [];
  const connect = async (prefix: string, onWarning?: (message: string) => void): Promise<RedisCooldowns> => {
    const store = await RedisLimitStore.connect({ url: redis.url, prefix, onWarning });
    stores.push(store);
    return store.sharedCooldowns!;
  };
  afterAll(async () => {
    await Promise.all(stores.map((s) => s.close()));
  });

  it('what one replica announces reaches the other at once (not back through Redis to itself), and a replica starting later reads what still runs', async () => {
    const prefix = `c-${randomUUID()}:`;
    const [a, b] = await Promise.all([connect(prefix), connect(prefix)]);
    const heardByA: [string, number][] = [];
    a.subscribe((key, ms) => heardByA.push([key, ms]));
    const heardByB: [string, number][] = [];
    let bHeard: () => void = () => undefined;
    const bHeardOne = new Promise<void>((resolve) => (bHeard = resolve));
    b.subscribe((key, ms) => {
      heardByB.push([key, ms]);
      bHeard();
    });

    a.announce('router:p:m', 30_000);
    await bHeardOne;
    expect(heardByB[0]![0]).toBe('router:p:m');
    expect(heardByB[0]![1]).toBeGreaterThan(25_000);
    expect(heardByB[0]![1]).toBeLessThanOrEqual(30_000);

    // A's own subscribers heard its announcement once, at once (the instances of one process share
    // the board). One subscriber connection gets messages in the order they were published: once A
    // has heard B's announcement, its own (published before) would have come again first if Redis
    // echoed it back.
    const aHeard = new Promise<void>((resolve) => a.subscribe((key) => key === 'router:p:n' && resolve()));
    b.announce('router:p:n', 10_000);
    await aHeard;
    expect(heardByA.map(([key]) => key)).toEqual(['router:p:m', 'router:p:n']);

    // A shorter cooldown announced later keeps the longer one in Redis (B's next announcement reaching A says both ran).
    b.announce('router:p:m', 1_000);
    b.announce('router:p:o', 1_000);
    await new Promise<void>((resolve) => a.subscribe((key) => key === 'router:p:o' && resolve()));
    const late = await connect(prefix);
    const replayed: [string, number][] = [];
    late.subscribe((key, ms) => replayed.push([key, ms]));
    expect(new Map(replayed).get('router:p:m')).toBeGreaterThan(25_000);
    expect(new Map(replayed).get('router:p:n')).toBeGreaterThan(5_000);
    // Another prefix (another gateway) sees none of it.
    const other = await connect(`other-${randomUUID()}:`);
    const none: string[] = [];
    other.subscribe((key) => none.push(key));
    expect(none).toEqual([]);
  });

  it('tells its subscribers in this process of an announcement at once (two instances on one board, as in a reload)', async () => {
    const board = await connect(`r-${randomUUID()}:`);
    const [first, second]: [string, number][][] = [[], []];
    board.subscribe((key, ms) => first.push([key, ms]));
    board.subscribe((key, ms) => second.push([key, ms]));
    board.announce('router:p:m', 30_000);
    expect(first).toEqual([['router:p:m', 30_000]]);
    expect(second).toEqual([['router:p:m', 30_000]]);
    board.announce('router:p:m', 1_000); // shorter than what runs: nothing new to tell
    expect(second).toHaveLength(1);
  });

  it('ignores what is not a cooldown message on its channel', async () => {
    const prefix = `g-${randomUUID()}:`;
    const board = await connect(prefix);
    const heard: [string, number][] = [];
    const done = new Promise<void>((resolve) =>
      board.subscribe((key, ms) => {
        heard.push([key, ms]);
        if (key === 'ok') resolve();
      }),
    );
    const raw = new Redis(redis.url);
    try {
      const channel = `${prefix}cooldowns:members`;
      for (const message of [
        'not json',
        'null',
        JSON.stringify({ k: 5, ms: 1000 }),
        JSON.stringify({ k: 'negative', ms: -1 }),
        JSON.stringify({ k: 'text', ms: '1000' }),
        JSON.stringify({ k: 'x'.repeat(600), ms: 1000 }),
        JSON.stringify({ k: 'padded', ms: 1000, pad: 'y'.repeat(3000) }),
        JSON.stringify({ o: 'another-replica', k: 'ok', ms: 1e15 }),
      ]) {
        await raw.publish(channel, message);
      }
      await done;
    } finally {
      raw.disconnect();
    }
    // Only the valid one, its duration bounded (a week at most).
    expect(heard).toEqual([['ok', 7 * 24 * 3600 * 1000]]);
  });

  it('a replica whose subscriber connection was cut reads, once back, the cooldowns it may have missed', async () => {
    const prefix = `k-${randomUUID()}:`;
    const board = await connect(prefix);
    const learnt = new Promise<number>((resolve) => board.subscribe((key, ms) => key === 'router:p:quiet' && resolve(ms)));
    const raw = new Redis(redis.url);
    try {
      // A cooldown in Redis that was never published (as one announced while this replica was cut off)...
      const [seconds, micros] = await raw.time();
      await raw.zadd(`${prefix}cooldowns:members`, Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) + 60_000, 'router:p:quiet');
      // ...can only reach it by the read after its subscriber connection comes back.
      await raw.client('KILL', 'TYPE', 'pubsub');
      expect(await learnt).toBeGreaterThan(50_000);
    } finally {
      raw.disconnect();
    }
  });

  it('while Redis is away, announcing throws nothing, warns once, and the cooldown stays known on this replica', async () => {
    const own = await startRedisServer();
    const { store, warnings, nextWarning } = await watchedStore(own.url, 'down:');
    const warning = nextWarning();
    try {
      const board = store.sharedCooldowns!;
      await own.stop();
      expect(() => board.announce('router:p:m', 30_000)).not.toThrow();
      expect(await warning).toMatch(/a member cooldown could not be shared: it applies on this replica only while redis is unavailable/);
      // More announcements during the same outage: no more warnings. A command sent after them on the
      // same connection settles after theirs (the client is offline: each is refused in turn).
      board.announce('router:p:m2', 30_000);
      board.announce('router:p:m3', 30_000);
      await store.peek('after', 0).catch(() => undefined);
      expect(warnings).toHaveLength(1);
      const known: string[] = [];
      board.subscribe((key) => known.push(key));
      expect(known).toEqual(['router:p:m', 'router:p:m2', 'router:p:m3']);
    } finally {
      await store.close();
    }
  });

  it('says once that sharing works again when Redis is back, and shares what is announced then', async () => {
    const own = await startRedisServer();
    const { store, warnings, nextWarning } = await watchedStore(own.url, 'back:');
    let again: Awaited<ReturnType<typeof startRedisServer>> | undefined;
    try {
      const board = store.sharedCooldowns!;
      await own.stop();
      const lost = nextWarning();
      board.announce('router:p:m', 30_000);
      expect(await lost).toMatch(/could not be shared/);
      again = await startRedisServer(own.port);
      // The client reconnects by itself (retrying every 2 s at most): wait for it, not for a time.
      while (!store.healthy) await new Promise((resolve) => setTimeout(resolve, 50));
      const back = nextWarning();
      board.announce('router:p:back', 30_000);
      expect(await back).toBe('member cooldowns are shared with the other replicas again');
      board.announce('router:p:later', 30_000);
      await store.peek('after', 0); // settles after the announcement sent before it on the same connection
      expect(warnings).toHaveLength(2);
      const raw = new Redis(again.url);
      try {
        expect(await raw.zrange('back:cooldowns:members', 0, -1)).toEqual(expect.arrayContaining(['router:p:back', 'router:p:later']));
      } finally {
        raw.disconnect();
      }
    } finally {
      await store.close();
      await again?.stop();
    }
  });
});

/** A store on `url` whose warnings are recorded; `nextWarning()` resolves with the next one (ask before it comes). */
async function watchedStore(url: string, prefix: string) {
  const warnings: string[] = [];
  let heard: (message: string) => void = () => undefined;
  const store = await RedisLimitStore.connect({
    url,
    prefix,
    onWarning: (message) => {
      warnings.push(message);
      heard(message);
    },
  });
  return { store, warnings, nextWarning: () => new Promise<string>((resolve) => (heard = resolve)) };
}

describe('two gateway processes share a fallback member\'s cooldown', () => {
  let backends: Backends;
  let failing: Awaited<ReturnType<typeof startFailingBackend>>;
  let dir: string;
  let replicas: ServeProcess[] = [];
  const env = { ...UPSTREAM_ENV, AEGIS_LOG_LEVEL: 'info' };
  const config = () => ['--config', join(dir, 'backends.yaml')];

  beforeAll(async () => {
    [backends, failing] = await Promise.all([startBackends(), startFailingBackend()]);
    dir = mkdtempSync(join(tmpdir(), 'aegis-replicas-'));
    const extra = `${flakyFallback(failing.baseUrl)}gateway:
  redis_url: ${redis.url}
  redis_prefix: 'members-${randomUUID()}:'
`;
    writeFileSync(join(dir, 'backends.yaml'), backendsYaml(backends, extra));
    replicas = await Promise.all([startServe(config(), env), startServe(config(), env)]);
  });

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await Promise.all([backends?.close(), failing?.close()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const chat = (replica: ServeProcess) =>
    fetch(`${replica.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'steady', messages: [{ role: 'user', content: 'x' }] }) });

  it('a member that failed through replica A is not contacted through replica B, nor through a replica started later', async () => {
    const [a, b] = replicas as [ServeProcess, ServeProcess];
    const first = await chat(a);
    expect(first.status).toBe(200);
    expect(failing.requests()).toBe(1);
    expect(a.stderr()).toMatch(/profile "steady": member "flaky" skipped for 600 s after: .*HTTP 500/);
    // B learns it through Redis (pub/sub): wait for B to say so, then call it.
    await b.waitForStderr(/profile "steady": member "flaky" skipped for \d+ s: cooling down on another replica/);
    const second = await chat(b);
    expect(second.status).toBe(200);
    expect(failing.requests()).toBe(1);

    // A replica that starts now reads the running cooldown before it serves.
    const c = await startServe(config(), env);
    replicas.push(c);
    expect(c.stderr()).toMatch(/member "flaky" skipped for \d+ s: cooling down on another replica/);
    expect((await chat(c)).status).toBe(200);
    expect(failing.requests()).toBe(1);
  });
});

describe('reload and close leave no Redis connection nor subscription behind', () => {
  let backends: Backends;
  let raw: Redis;
  beforeAll(async () => {
    backends = await startBackends();
    raw = new Redis(redis.url);
  });
  afterAll(async () => {
    raw?.disconnect();
    await backends?.close();
  });

  /** The connections Redis has, besides `raw`. */
  const clients = async () => String(await raw.client('LIST')).trim().split('\n').length - 1;
  const subscribers = async (prefix: string) => Number(((await raw.pubsub('NUMSUB', `${prefix}cooldowns:members`)) as [string, number])[1]);
  /** Waits until `check` passes: Redis drops a connection just after it answered QUIT. */
  const eventually = async (check: () => Promise<void>): Promise<void> => {
    for (;;) {
      try {
        return await check();
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  };

  it('one subscriber connection per store, reused by a reload with the same Redis, closed by a reload to another and by close', async () => {
    const base = await clients();
    const prefix1 = `r1-${randomUUID()}:`;
    const prefix2 = `r2-${randomUUID()}:`;
    const yaml = (prefix: string) => backendsYaml(backends, `gateway:\n  redis_url: ${redis.url}\n  redis_prefix: '${prefix}'\n`);
    const gw = await startGateway(yaml(prefix1));
    const instances = [gw.test];
    try {
      expect(await subscribers(prefix1)).toBe(1);
      expect(await clients()).toBe(base + 2);
      const same = createTestAegis({ plugins: PLUGINS, profiles: yaml(prefix1), env: UPSTREAM_ENV });
      instances.push(same);
      await gw.gateway.reload(same.aegis);
      expect(await subscribers(prefix1)).toBe(1);
      expect(await clients()).toBe(base + 2);
      const moved = createTestAegis({ plugins: PLUGINS, profiles: yaml(prefix2), env: UPSTREAM_ENV });
      instances.push(moved);
      await gw.gateway.reload(moved.aegis);
      await eventually(async () => {
        expect(await subscribers(prefix1)).toBe(0);
        expect(await subscribers(prefix2)).toBe(1);
        expect(await clients()).toBe(base + 2);
      });
    } finally {
      await gw.gateway.close({ timeoutMs: 0 });
      for (const instance of instances) instance.close();
    }
    await eventually(async () => {
      expect(await subscribers(prefix2)).toBe(0);
      expect(await clients()).toBe(base);
    });
  });

  it('a retired instance\'s providers unsubscribe: across reloads the board keeps one subscription per composite profile served', async () => {
    const prefix = `r3-${randomUUID()}:`;
    const store = await RedisLimitStore.connect({ url: redis.url, prefix });
    const board = store.sharedCooldowns!;
    const gw = await startGateway(backendsYaml(backends), {}, { store });
    const instances = [gw.test];
    try {
      // `safe` (a fallback) is the one composite profile served.
      expect(board.subscriberCount).toBe(1);
      for (let i = 0; i < 3; i++) {
        const next = createTestAegis({ plugins: PLUGINS, profiles: backendsYaml(backends), env: UPSTREAM_ENV });
        instances.push(next);
        await gw.gateway.reload(next.aegis);
        expect(board.subscriberCount).toBe(1);
      }
    } finally {
      await gw.gateway.close({ timeoutMs: 0 });
      for (const instance of instances) instance.close();
    }
    expect(board.subscriberCount).toBe(0);
  });
});
