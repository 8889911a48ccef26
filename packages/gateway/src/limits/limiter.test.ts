import { describe, expect, it } from '@jest/globals';
import { Limiter, WINDOW_MS } from './limiter.js';
import { MemoryLimitStore } from './store.js';
import { estimate, positionAt, retryAfterMs } from './window.js';
import { GatewayError } from '../errors.js';
import type { KeySpec } from '../config.js';

const key = (limits: KeySpec['limits']): KeySpec => ({ name: 'k', digest: Buffer.alloc(32), limits });

async function refusal(promise: Promise<unknown>): Promise<GatewayError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('sliding window', () => {
  it('weights the previous window by how much of it still overlaps the last minute', () => {
    const position = positionAt(WINDOW_MS * 10 + WINDOW_MS / 4, WINDOW_MS);
    expect(position.index).toBe(10);
    expect(position.previousWeight).toBeCloseTo(0.75);
    expect(estimate({ previous: 8, current: 2 }, position)).toBeCloseTo(8);
  });

  it('tells how long until there is room: the previous window decays, or the current one rolls over', () => {
    const start = positionAt(WINDOW_MS * 10, WINDOW_MS);
    // 10 in the previous window, limit 10: room for one when 10 * (1 - t/W) <= 9, at t = W/10.
    expect(retryAfterMs({ previous: 10, current: 0 }, start, WINDOW_MS, 10, 1)).toBe(WINDOW_MS / 10);
    // The current window alone is full: wait for it to end, then for its weight to fall by one in ten.
    expect(retryAfterMs({ previous: 0, current: 10 }, start, WINDOW_MS, 10, 1)).toBe(WINDOW_MS + WINDOW_MS / 10);
  });
});

describe('Limiter (in memory, injected clock)', () => {
  it('allows requests_per_minute calls, refuses the next with a Retry-After after which it is allowed', async () => {
    let now = WINDOW_MS * 100;
    const limiter = new Limiter(new MemoryLimitStore(() => now), () => now);
    const spec = key({ requestsPerMinute: 3 });
    for (let i = 0; i < 3; i++) (await limiter.acquire(spec)).release();
    const refused = await refusal(limiter.acquire(spec));
    expect(refused.status).toBe(429);
    const wait = Number(refused.options.headers!['retry-after']) * 1000;
    now += wait - 1000;
    await refusal(limiter.acquire(spec));
    now += 1000;
    (await limiter.acquire(spec)).release();
  });

  it('counts tokens after each call and refuses once the minute\'s tokens are spent', async () => {
    let now = WINDOW_MS * 100;
    const limiter = new Limiter(new MemoryLimitStore(() => now), () => now);
    const spec = key({ tokensPerMinute: 100 });
    (await limiter.acquire(spec)).release(60);
    (await limiter.acquire(spec)).release(60);
    const refused = await refusal(limiter.acquire(spec));
    expect(refused.options.code).toBe('token_limit_exceeded');
    now += 2 * WINDOW_MS;
    (await limiter.acquire(spec)).release(10);
  });

  it('caps calls in flight; a permit released twice frees one slot', async () => {
    const limiter = new Limiter(new MemoryLimitStore());
    const spec = key({ maxConcurrent: 2 });
    const a = await limiter.acquire(spec);
    const b = await limiter.acquire(spec);
    expect((await refusal(limiter.acquire(spec))).options.code).toBe('concurrency_limit_exceeded');
    a.release();
    a.release();
    const c = await limiter.acquire(spec);
    expect((await refusal(limiter.acquire(spec))).status).toBe(429);
    b.release();
    c.release();
  });

  it('a limiter made for another store (a reload to Redis) counts the calls still running under the previous one', async () => {
    const before = new Limiter(new MemoryLimitStore());
    const spec = key({ maxConcurrent: 2 });
    const a = await before.acquire(spec);
    const b = await before.acquire(spec);
    const after = new Limiter(new MemoryLimitStore(), Date.now, before.inFlightCounts);
    expect((await refusal(after.acquire(spec))).options.code).toBe('concurrency_limit_exceeded');
    // A call of the old configuration ending frees its place under the new one.
    a.release();
    const c = await after.acquire(spec);
    expect((await refusal(after.acquire(spec))).options.code).toBe('concurrency_limit_exceeded');
    b.release();
    c.release();
    expect(after.inFlightCounts.size).toBe(0);
  });

  it('caps calls in flight with a store that answers later (Redis): calls arriving while one waits on the store see it', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    class SlowStore extends MemoryLimitStore {
      override async take(...args: Parameters<MemoryLimitStore['take']>) {
        await gate;
        return super.take(...args);
      }
    }
    const limiter = new Limiter(new SlowStore());
    const spec = key({ maxConcurrent: 1, requestsPerMinute: 100 });
    const calls = Array.from({ length: 5 }, () => limiter.acquire(spec).then(() => 'allowed', (e: GatewayError) => e.options.code));
    open();
    expect((await Promise.all(calls)).sort()).toEqual(['allowed', ...Array(4).fill('concurrency_limit_exceeded')]);
  });

  it('a call its per-minute limit refuses does not hold a place under max_concurrent', async () => {
    const limiter = new Limiter(new MemoryLimitStore());
    const spec = key({ maxConcurrent: 1, requestsPerMinute: 1 });
    (await limiter.acquire(spec)).release();
    expect((await refusal(limiter.acquire(spec))).options.code).toBe('rate_limit_exceeded');
    expect((await refusal(limiter.acquire(spec))).options.code).toBe('rate_limit_exceeded');
  });

  it('keeps the longer of two cooldowns and forgets an expired one', async () => {
    let now = 0;
    const store = new MemoryLimitStore(() => now);
    await store.coolDown('p', 5000);
    await store.coolDown('p', 1000);
    expect(await store.cooldownLeft('p')).toBe(5000);
    now = 5000;
    expect(await store.cooldownLeft('p')).toBe(0);
  });
});
