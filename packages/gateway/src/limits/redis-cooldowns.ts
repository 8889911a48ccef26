import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { CooldownBoard, MAX_MS } from './cooldown-board.js';

// The cooldowns are one sorted set: member = key, score = end in Redis's clock (TIME), so
// replicas' clocks need not agree. Announcing keeps the later end, drops ended ones, and
// publishes the time left to the other replicas, in one atomic step.
const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

const ANNOUNCE = `${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%d', now))
local ends = now + tonumber(ARGV[2])
local current = tonumber(redis.call('ZSCORE', KEYS[1], ARGV[1]) or '0')
if current > ends then ends = current else redis.call('ZADD', KEYS[1], string.format('%d', ends), ARGV[1]) end
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
redis.call('PEXPIRE', KEYS[1], string.format('%d', tonumber(last[2]) - now + 1000))
redis.call('PUBLISH', ARGV[3], cjson.encode({ o = ARGV[4], k = ARGV[1], ms = ends - now }))
return 1`;

const RUNNING = `${NOW}
local found = redis.call('ZRANGEBYSCORE', KEYS[1], string.format('(%d', now), '+inf', 'WITHSCORES')
local out = {}
for i = 1, #found, 2 do
  out[#out + 1] = found[i]
  out[#out + 1] = string.format('%d', tonumber(found[i + 1]) - now)
end
return out`;

interface Scripts {
  aegisAnnounceCooldown(set: string, key: string, ms: number, channel: string, origin: string): Promise<number>;
  aegisRunningCooldowns(set: string): Promise<string[]>;
}

/** The largest message read from the channel (another process wrote it). */
const MAX_MESSAGE = 2048;

export interface RedisCooldownsOptions {
  /** Key prefix: the set is `<prefix>cooldowns:members`, the channel the same name. */
  prefix: string;
  /** Where "cooldowns are local for now" and "shared again" go. */
  onWarning?: (message: string) => void;
  /** Connection problems of the subscriber connection (once per outage). */
  onError?: (error: Error) => void;
}

/**
 * The gateway's SharedCooldowns: cooldowns in Redis for every replica. The
 * set in Redis holds what is running (a replica that starts, or reconnects,
 * reads it); PUBLISH tells the others at once. A second connection listens
 * (ioredis: a subscribed connection runs no other command), and subscribes
 * again after a reconnection (here, not by the client: a SUBSCRIBE that times
 * out is then handled, by another reconnection).
 *
 * Nothing here blocks a call: announcing is fire and forget, and what is
 * known (announced here or by the other replicas) is kept in memory by the
 * board it extends (CooldownBoard), replayed to each new subscriber. While
 * Redis is away, a cooldown applies on the replica that started it only (one
 * warning, and one when sharing works again).
 */
export class RedisCooldowns extends CooldownBoard {
  private readonly set: string;
  private readonly origin = randomUUID();
  private readonly subscriber: Redis;
  private sharing = true;
  private subscriberFailing = false;
  /** The subscriber connection was lost: messages may have been missed. */
  private missed = false;

  private constructor(
    private readonly commands: Redis & Scripts,
    private readonly options: RedisCooldownsOptions,
  ) {
    super();
    this.set = `${options.prefix}cooldowns:members`;
    commands.defineCommand('aegisAnnounceCooldown', { numberOfKeys: 1, lua: ANNOUNCE });
    commands.defineCommand('aegisRunningCooldowns', { numberOfKeys: 1, lua: RUNNING });
    this.subscriber = commands.duplicate({ lazyConnect: true, autoResubscribe: false });
    this.subscriber.on('error', (error: Error) => {
      if (this.subscriberFailing) return;
      this.subscriberFailing = true;
      options.onError?.(error);
    });
    this.subscriber.on('message', (_channel: string, message: string) => this.received(message));
    this.subscriber.on('close', () => (this.missed = true));
    // After a reconnection: subscribe again, then read what was announced meanwhile.
    this.subscriber.on('ready', () => {
      this.subscriberFailing = false;
      if (!this.missed || this.closed) return;
      this.missed = false;
      this.subscriber.subscribe(this.set).then(
        // The other connection may come back a moment later: then read.
        () => void this.readRunning().catch(() => this.commands.once('ready', () => void this.readRunning().catch(() => undefined))),
        // Not subscribed (Redis silent, or gone again): try on a new connection.
        () => {
          if (!this.closed && this.subscriber.status === 'ready') this.subscriber.disconnect(true);
        },
      );
    });
  }

  /**
   * Subscribes and reads what is running before it resolves: a replica
   * starting while a member cools down skips it from its first call.
   */
  static async connect(commands: Redis, options: RedisCooldownsOptions): Promise<RedisCooldowns> {
    const board = new RedisCooldowns(commands as Redis & Scripts, options);
    try {
      await board.subscriber.connect();
      await board.subscriber.subscribe(board.set);
      await board.readRunning();
    } catch (error) {
      board.subscriber.disconnect();
      throw error;
    }
    return board;
  }

  override announce(key: string, ms: number): void {
    if (this.closed || !(ms > 0)) return;
    ms = Math.min(ms, MAX_MS);
    // The subscribers of this process hear it at once (CooldownBoard); the other replicas through Redis.
    this.learn(key, ms);
    this.commands.aegisAnnounceCooldown(this.set, key, Math.ceil(ms), this.set, this.origin).then(
      () => {
        if (this.sharing) return;
        this.sharing = true;
        this.options.onWarning?.('member cooldowns are shared with the other replicas again');
      },
      (error: Error) => {
        if (!this.sharing) return;
        this.sharing = false;
        this.options.onWarning?.(`a member cooldown could not be shared: it applies on this replica only while redis is unavailable (${error.message})`);
      },
    );
  }

  /**
   * Opens the subscriber connection again (Redis stopped answering for long: the connection may be dead
   * without being closed, and a subscriber sends nothing that would time out). Once back, it reads what it missed.
   */
  reconnect(): void {
    if (!this.closed && this.subscriber.status === 'ready') this.subscriber.disconnect(true);
  }

  override async close(): Promise<void> {
    if (this.closed) return;
    await super.close();
    try {
      await this.subscriber.quit();
    } catch {
      this.subscriber.disconnect();
    }
  }

  /** The cooldowns running in Redis, applied here. */
  private async readRunning(): Promise<void> {
    const found = await this.commands.aegisRunningCooldowns(this.set);
    for (let i = 0; i + 1 < found.length; i += 2) this.learn(found[i]!, Number(found[i + 1]));
  }

  private received(message: string): void {
    if (message.length > MAX_MESSAGE) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(message);
    } catch {
      return;
    }
    const { o, k, ms } = (parsed ?? {}) as { o?: unknown; k?: unknown; ms?: unknown };
    if (o === this.origin || typeof k !== 'string' || typeof ms !== 'number') return;
    this.learn(k, ms);
  }
}
