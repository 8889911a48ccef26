import type { KeySpec } from '../config.js';
import { rateLimited } from '../errors.js';
import type { LimitStore } from './store.js';
import { estimate, positionAt, retryAfterMs } from './window.js';

export const WINDOW_MS = 60_000;

/** A permit for one call: release it when the call is over, with the tokens it used. */
export interface Permit {
  release(tokens?: number): void;
}

/**
 * Applies a key's limits to one call: concurrency (per replica), requests
 * per minute (taken atomically), tokens per minute (a call is refused once
 * the window's tokens reach the limit; each call's usage is counted when it
 * ends). Throws a 429 GatewayError with Retry-After when a limit is reached.
 */
export class Limiter {
  /**
   * @param inFlight the calls in flight per key name: pass the previous limiter's (`inFlightCounts`) when a
   *   reload changes the store, so calls still running under the old configuration count against `max_concurrent`
   *   (their permits leave this same map).
   */
  constructor(
    readonly store: LimitStore,
    private readonly now: () => number = Date.now,
    private readonly inFlight = new Map<string, number>(),
  ) {}

  /** The calls in flight per key name (this replica's), to hand to the limiter of a reload with another store. */
  get inFlightCounts(): Map<string, number> {
    return this.inFlight;
  }

  async acquire(key: KeySpec): Promise<Permit> {
    const { limits } = key;
    const running = this.inFlight.get(key.name) ?? 0;
    if (limits.maxConcurrent !== undefined && running >= limits.maxConcurrent) {
      throw rateLimited(`key "${key.name}" has ${running} calls in flight, its limit (max_concurrent ${limits.maxConcurrent})`, 1000, 'concurrency_limit_exceeded');
    }
    // Counted before the store is asked (an await): calls arriving meanwhile see this one.
    this.inFlight.set(key.name, running + 1);
    try {
      await this.checkRates(key);
    } catch (error) {
      this.leave(key.name);
      throw error;
    }
    let released = false;
    return {
      release: (tokens) => {
        if (released) return;
        released = true;
        this.leave(key.name);
        if (limits.tokensPerMinute !== undefined && tokens && tokens > 0) {
          const now = positionAt(this.now(), WINDOW_MS);
          // Counting is best effort once the answer is out: a store failure is logged by the caller's store, not thrown.
          this.store.add(`tpm:${key.name}`, now.index, WINDOW_MS, tokens).catch(() => undefined);
        }
      },
    };
  }

  /** The per-minute limits: refused (a 429) once the window's tokens are spent or its requests taken. */
  private async checkRates(key: KeySpec): Promise<void> {
    const { limits } = key;
    const position = positionAt(this.now(), WINDOW_MS);
    if (limits.tokensPerMinute !== undefined) {
      const counts = await this.store.peek(`tpm:${key.name}`, position.index);
      if (estimate(counts, position) >= limits.tokensPerMinute) {
        const wait = retryAfterMs(counts, position, WINDOW_MS, limits.tokensPerMinute - 1, 0);
        throw rateLimited(`key "${key.name}" used its tokens for this minute (tokens_per_minute ${limits.tokensPerMinute})`, wait, 'token_limit_exceeded');
      }
    }
    if (limits.requestsPerMinute !== undefined) {
      const { allowed, counts } = await this.store.take(`rpm:${key.name}`, position.index, position.previousWeight, WINDOW_MS, 1, limits.requestsPerMinute);
      if (!allowed) {
        const wait = retryAfterMs(counts, position, WINDOW_MS, limits.requestsPerMinute, 1);
        throw rateLimited(`key "${key.name}" reached its request limit (requests_per_minute ${limits.requestsPerMinute})`, wait);
      }
    }
  }

  private leave(name: string): void {
    const left = (this.inFlight.get(name) ?? 1) - 1;
    if (left <= 0) this.inFlight.delete(name);
    else this.inFlight.set(name, left);
  }
}
