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
  /** Called when shared cooldowns become local for a while (Redis away), and shared again; and when a silent Redis answers again. */
  onWarning?: (message: string) => void;
  /**
   * How long a command waits for Redis's answer (ms, default 1000). Past it the command fails, as when Redis
   * refuses connections: a Redis that stops answering (a stuck primary, a black-holed network) holds no call.
   */
  commandTimeoutMs?: number;
  /** How long opening a connection may take (ms, default 5000). */
  connectTimeoutMs?: number;
}

const DEFAULT_COMMAND_TIMEOUT_MS = 1_000;
const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
/** While Redis is silent: the pause between two PINGs asking whether it answers again. */
const PROBE_PAUSE_MS = 250;
/** Silent for this many command timeouts: the connections are opened again (the old ones may be dead for good). */
const RECONNECT_AFTER_TIMEOUTS = 5;

/** ioredis's error for a command past `commandTimeout`. */
const isTimeout = (error: unknown): boolean => error instanceof Error && error.message === 'Command timed out';

/**
 * Counters and cooldowns in Redis, shared by every replica (ioredis: the
 * most used Node client, with Lua script helpers and reconnection built in).
 * Each window is a key that expires after two windows. The providers' own
 * cooldowns (router members) are shared through `sharedCooldowns`.
 *
 * A Redis that stops answering without closing the connection is treated as
 * one that is away: a command fails after `commandTimeoutMs`, and from then on
 * the store is unhealthy and its commands fail at once (a cooldown read is
 * "none") until a PING, sent again and again meanwhile, is answered. Silent for
 * several timeouts, both connections are opened again.
 */
export class RedisLimitStore implements LimitStore {
  private readonly redis: Redis & Scripts;
  private readonly prefix: string;
  private readonly commandTimeoutMs: number;
  private lastError?: Error;
  private cooldowns?: RedisCooldowns;
  /** Since when Redis has not answered (a command timed out); unset while it answers. */
  private silentSince?: number;
  private probeTimer?: NodeJS.Timeout;
  private closing = false;

  private constructor(private readonly options: RedisLimitStoreOptions) {
    this.prefix = options.prefix;
    this.commandTimeoutMs = options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    this.redis = new Redis(options.url, {
      lazyConnect: true,
      // A limit check waits for no reconnection: it fails at once (and the request is answered) while Redis is away.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      // Nor for a Redis that does not answer (the ready check of a new connection included). The subscriber
      // connection (RedisCooldowns) is a duplicate: the same timeouts.
      commandTimeout: this.commandTimeoutMs,
      connectTimeout: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      // Closing waits this long for Redis to close its side too (a silent one never does).
      disconnectTimeout: this.commandTimeoutMs,
      retryStrategy: (times) => Math.min(times * 200, 2_000),
    }) as Redis & Scripts;
    this.redis.on('error', (error: Error) => {
      this.lastError = this.explain(error);
      options.onError?.(this.lastError);
    });
    // A new connection passed its ready check (an INFO answered): Redis answers.
    this.redis.on('ready', () => this.answered());
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
      store.cooldowns = await RedisCooldowns.connect(store.redis, {
        prefix: options.prefix,
        onWarning: options.onWarning,
        onError: options.onError && ((error) => options.onError!(store.explain(error))),
      });
    } catch (error) {
      store.closing = true;
      store.stopProbing();
      store.redis.disconnect();
      const cause = store.lastError ?? store.explain(error as Error);
      const { hostname, port } = new URL(options.url);
      throw new Error(`cannot connect to redis at ${hostname}:${port || 6379}: ${cause.message}`, { cause });
    }
    return store;
  }

  /** Connected, and answering (no command timed out since the last answer). */
  get healthy(): boolean {
    return this.redis.status === 'ready' && this.silentSince === undefined;
  }

  /** The router's member cooldowns, shared by every replica on this Redis and prefix. */
  get sharedCooldowns(): RedisCooldowns | undefined {
    return this.cooldowns;
  }

  private key(key: string, index: number): string {
    return `${this.prefix}${key}:${index}`;
  }

  async take(key: string, windowIndex: number, previousWeight: number, windowMs: number, amount: number, limit: number) {
    const [ok, current, previous] = await this.send(() =>
      this.redis.aegisTake(this.key(key, windowIndex), this.key(key, windowIndex - 1), amount, previousWeight.toFixed(6), limit, windowMs * 2),
    );
    return { allowed: ok === 1, counts: { current: Number(current), previous: Number(previous) } };
  }

  async add(key: string, windowIndex: number, windowMs: number, amount: number): Promise<void> {
    await this.send(() => this.redis.aegisAdd(this.key(key, windowIndex), amount, windowMs * 2));
  }

  async peek(key: string, windowIndex: number): Promise<WindowCounts> {
    const [current, previous] = await this.send(() => this.redis.mget(this.key(key, windowIndex), this.key(key, windowIndex - 1)));
    return { current: Number(current ?? 0), previous: Number(previous ?? 0) };
  }

  async coolDown(name: string, ms: number): Promise<void> {
    await this.send(() => this.redis.aegisCoolDown(`${this.prefix}cooldown:${name}`, Math.max(1, Math.ceil(ms))));
  }

  /** 0 when Redis is away or silent: a call is not failed (nor held) for a cooldown that cannot be read. */
  async cooldownLeft(name: string): Promise<number> {
    try {
      const left = await this.send(() => this.redis.pttl(`${this.prefix}cooldown:${name}`));
      return left > 0 ? left : 0;
    } catch {
      return 0;
    }
  }

  /** Sends a command, unless Redis is silent (then fails at once); a timeout makes it silent, an answer not. */
  private send<T>(command: () => Promise<T>): Promise<T> {
    if (this.silentSince !== undefined) return Promise.reject(new Error(`redis is not answering (no answer within ${this.commandTimeoutMs} ms)`));
    return command().then(
      (value) => {
        this.answered();
        return value;
      },
      (error: unknown) => {
        if (isTimeout(error)) this.fellSilent();
        throw this.explain(error as Error);
      },
    );
  }

  private fellSilent(): void {
    if (this.silentSince !== undefined || this.closing) return;
    this.silentSince = Date.now();
    this.options.onError?.(new Error(`no answer within ${this.commandTimeoutMs} ms: calls of keys with limits get 503 (limits_unavailable), and /readyz 503, until it answers`));
    this.probe();
  }

  private answered(): void {
    if (this.silentSince === undefined) return;
    this.silentSince = undefined;
    this.stopProbing();
    this.options.onWarning?.('answering again');
  }

  /** While silent: PING until answered; silent for long, open new connections (the old ones may never answer). */
  private probe(): void {
    if (this.probeTimer || this.closing || this.silentSince === undefined) return;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = undefined;
      if (this.silentSince === undefined || this.closing) return;
      if (this.redis.status !== 'ready') return this.probe(); // reconnecting: 'ready' ends the silence
      if (Date.now() - this.silentSince >= RECONNECT_AFTER_TIMEOUTS * this.commandTimeoutMs) {
        this.silentSince = Date.now();
        this.redis.disconnect(true);
        this.cooldowns?.reconnect();
        return this.probe();
      }
      this.redis.ping().then(
        () => this.answered(),
        () => this.probe(),
      );
    }, PROBE_PAUSE_MS);
    this.probeTimer.unref();
  }

  private stopProbing(): void {
    clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
  }

  /** ioredis says "Command timed out": say what it means. */
  private explain(error: Error): Error {
    return isTimeout(error) ? new Error(`no answer within ${this.commandTimeoutMs} ms`, { cause: error }) : error;
  }

  async close(): Promise<void> {
    this.closing = true;
    this.stopProbing();
    await this.cooldowns?.close();
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}
