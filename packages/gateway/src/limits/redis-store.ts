import { Redis } from 'ioredis';
import { RedisCooldowns } from './redis-cooldowns.js';
import type { LimitStore } from './store.js';
import type { WindowCounts } from './window.js';

// One round trip and atomic: read both windows, add only when the weighted sum stays within the limit.
const TAKE = `
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local prev = tonumber(redis.call('GET', KEYS[2]) or '0')
local amount = tonumber(ARGV[1])
if prev * tonumber(ARGV[2]) + cur + amount > tonumber(ARGV[3]) then return {0, cur, prev} end
cur = redis.call('INCRBY', KEYS[1], amount)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {1, cur, prev}`;

const ADD = `
redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

// Keeps the longer of the current and the new cooldown.
const COOL_DOWN = `
local left = redis.call('PTTL', KEYS[1])
if left < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], '1', 'PX', ARGV[1]) end
return 1`;

interface Scripts {
  aegisTake(cur: string, prev: string, amount: number, weight: string, limit: number, ttlMs: number): Promise<[number, number, number]>;
  aegisAdd(cur: string, amount: number, ttlMs: number): Promise<number>;
  aegisCoolDown(key: string, ms: number): Promise<number>;
}

export interface RedisLimitStoreOptions {
  url: string;
  /** Key prefix, so several gateways (or other apps) share one Redis. */
  prefix: string;
  /** Called on connection problems (the message never holds the URL's password: scrub it anyway). */
  onError?: (error: Error) => void;
  /** Called when shared cooldowns become local for a while (Redis away), and shared again. */
  onWarning?: (message: string) => void;
}

/**
 * Counters and cooldowns in Redis, shared by every replica (ioredis: the
 * most used Node client, with Lua script helpers and reconnection built in).
 * Each window is a key that expires after two windows. The providers' own
 * cooldowns (router members) are shared through `sharedCooldowns`.
 */
export class RedisLimitStore implements LimitStore {
  private readonly redis: Redis & Scripts;
  private readonly prefix: string;
  private lastError?: Error;
  private cooldowns?: RedisCooldowns;

  private constructor(options: RedisLimitStoreOptions) {
    this.prefix = options.prefix;
    this.redis = new Redis(options.url, {
      lazyConnect: true,
      // A limit check waits for no reconnection: it fails at once (and the request is answered) while Redis is away.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 5_000,
      retryStrategy: (times) => Math.min(times * 200, 2_000),
    }) as Redis & Scripts;
    this.redis.on('error', (error: Error) => {
      this.lastError = error;
      options.onError?.(error);
    });
    this.redis.defineCommand('aegisTake', { numberOfKeys: 2, lua: TAKE });
    this.redis.defineCommand('aegisAdd', { numberOfKeys: 1, lua: ADD });
    this.redis.defineCommand('aegisCoolDown', { numberOfKeys: 1, lua: COOL_DOWN });
  }

  /** Connects (throws when Redis cannot be reached: a replica must not start without its shared state). */
  static async connect(options: RedisLimitStoreOptions): Promise<RedisLimitStore> {
    const store = new RedisLimitStore(options);
    try {
      await store.redis.connect();
      await store.redis.ping();
      store.cooldowns = await RedisCooldowns.connect(store.redis, { prefix: options.prefix, onWarning: options.onWarning, onError: options.onError });
    } catch (error) {
      store.redis.disconnect();
      const cause = store.lastError ?? (error as Error);
      const { hostname, port } = new URL(options.url);
      throw new Error(`cannot connect to redis at ${hostname}:${port || 6379}: ${cause.message}`, { cause });
    }
    return store;
  }

  get healthy(): boolean {
    return this.redis.status === 'ready';
  }

  /** The router's member cooldowns, shared by every replica on this Redis and prefix. */
  get sharedCooldowns(): RedisCooldowns | undefined {
    return this.cooldowns;
  }

  private key(key: string, index: number): string {
    return `${this.prefix}${key}:${index}`;
  }

  async take(key: string, windowIndex: number, previousWeight: number, windowMs: number, amount: number, limit: number) {
    const [ok, current, previous] = await this.redis.aegisTake(
      this.key(key, windowIndex),
      this.key(key, windowIndex - 1),
      amount,
      previousWeight.toFixed(6),
      limit,
      windowMs * 2,
    );
    return { allowed: ok === 1, counts: { current: Number(current), previous: Number(previous) } };
  }

  async add(key: string, windowIndex: number, windowMs: number, amount: number): Promise<void> {
    await this.redis.aegisAdd(this.key(key, windowIndex), amount, windowMs * 2);
  }

  async peek(key: string, windowIndex: number): Promise<WindowCounts> {
    const [current, previous] = await this.redis.mget(this.key(key, windowIndex), this.key(key, windowIndex - 1));
    return { current: Number(current ?? 0), previous: Number(previous ?? 0) };
  }

  async coolDown(name: string, ms: number): Promise<void> {
    await this.redis.aegisCoolDown(`${this.prefix}cooldown:${name}`, Math.max(1, Math.ceil(ms)));
  }

  async cooldownLeft(name: string): Promise<number> {
    const left = await this.redis.pttl(`${this.prefix}cooldown:${name}`);
    return left > 0 ? left : 0;
  }

  async close(): Promise<void> {
    await this.cooldowns?.close();
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}
