import type { SharedCooldowns } from '@aegis/core';
import type { WindowCounts } from './window.js';
import { CooldownBoard } from './cooldown-board.js';

/**
 * Where limit counters and upstream cooldowns live: this process's memory,
 * or Redis shared by every replica. `take` adds only when the sum stays within
 * the limit (one atomic step: no two replicas both take the last slot); `add`
 * always adds (tokens, counted after the call); `peek` reads.
 */
export interface LimitStore {
  take(key: string, windowIndex: number, previousWeight: number, windowMs: number, amount: number, limit: number): Promise<{ allowed: boolean; counts: WindowCounts }>;
  add(key: string, windowIndex: number, windowMs: number, amount: number): Promise<void>;
  peek(key: string, windowIndex: number): Promise<WindowCounts>;
  /** Puts `name` in cooldown for `ms` (keeps a longer one already set). */
  coolDown(name: string, ms: number): Promise<void>;
  /** Milliseconds of cooldown left for `name` (0: none); a number at once when the store has it at hand (memory). */
  cooldownLeft(name: string): number | Promise<number>;
  /** Whether the store can be used right now (Redis connected). */
  readonly healthy: boolean;
  /**
   * Where the providers' cooldowns (the router's members) are shared: by the
   * AEGIS instances the store serves (the running configuration and, during a
   * reload, the next one), and with the other replicas when the store is
   * shared too. None: each instance keeps its own.
   */
  readonly sharedCooldowns?: SharedCooldowns;
  close(): Promise<void>;
}

/** Counters in this process: for one replica. Clock injected, for tests. */
export class MemoryLimitStore implements LimitStore {
  private readonly windows = new Map<string, { index: number; current: number; previous: number }>();
  private readonly cooldowns = new Map<string, number>();
  readonly healthy = true;
  /** The member cooldowns of the instances this store serves (a reload's next configuration reads what still runs). */
  readonly sharedCooldowns = new CooldownBoard();

  constructor(private readonly now: () => number = Date.now) {}

  private counts(key: string, index: number): { index: number; current: number; previous: number } {
    let entry = this.windows.get(key);
    if (!entry) {
      entry = { index, current: 0, previous: 0 };
      this.windows.set(key, entry);
    } else if (entry.index !== index) {
      entry.previous = entry.index === index - 1 ? entry.current : 0;
      entry.current = 0;
      entry.index = index;
    }
    return entry;
  }

  async take(key: string, windowIndex: number, previousWeight: number, _windowMs: number, amount: number, limit: number) {
    const entry = this.counts(key, windowIndex);
    const allowed = entry.previous * previousWeight + entry.current + amount <= limit;
    if (allowed) entry.current += amount;
    return { allowed, counts: { current: entry.current, previous: entry.previous } };
  }

  async add(key: string, windowIndex: number, _windowMs: number, amount: number): Promise<void> {
    this.counts(key, windowIndex).current += amount;
  }

  async peek(key: string, windowIndex: number): Promise<WindowCounts> {
    const entry = this.counts(key, windowIndex);
    return { current: entry.current, previous: entry.previous };
  }

  async coolDown(name: string, ms: number): Promise<void> {
    const until = this.now() + ms;
    if ((this.cooldowns.get(name) ?? 0) < until) this.cooldowns.set(name, until);
  }

  cooldownLeft(name: string): number {
    const until = this.cooldowns.get(name);
    if (until === undefined) return 0;
    const left = until - this.now();
    if (left <= 0) this.cooldowns.delete(name);
    return Math.max(0, left);
  }

  async close(): Promise<void> {
    this.windows.clear();
    this.cooldowns.clear();
    await this.sharedCooldowns.close();
  }
}
