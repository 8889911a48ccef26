import type { CooldownListener, SharedCooldowns } from '@aegis/core';

/** Bounds on what a board keeps (a cooldown announced elsewhere is read from outside the process). */
export const MAX_KEY = 512;
export const MAX_MS = 7 * 24 * 3600 * 1000;
const MAX_KNOWN = 10_000;

/**
 * Member cooldowns shared by the AEGIS instances of one process: the running
 * configuration and, during a reload, the next one (the gateway attaches the
 * same board to both, and a new instance reads what still runs). The memory
 * store's board; the Redis board (RedisCooldowns) extends it to the other
 * replicas.
 *
 * What is announced is kept (the later end wins, at most a week ahead) and
 * passed at once to every subscriber; each instance's relay keeps its own
 * echo from its providers.
 */
export class CooldownBoard implements SharedCooldowns {
  private readonly listeners = new Set<CooldownListener>();
  /** Key → end (this process's clock) of every cooldown known, announced here or elsewhere. */
  private readonly known = new Map<string, number>();
  protected closed = false;

  announce(key: string, ms: number): void {
    if (this.closed || !(ms > 0)) return;
    this.learn(key, ms);
  }

  subscribe(listener: CooldownListener): () => void {
    const now = Date.now();
    for (const [key, ends] of this.known) if (ends > now) listener(key, ends - now);
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** Subscriptions open (one per composite provider of each instance attached): for diagnostics and tests. */
  get subscriberCount(): number {
    return this.listeners.size;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    this.known.clear();
  }

  /** A cooldown, kept (for later subscribers) and passed on when it changes what is known; false when it did not. */
  protected learn(key: string, ms: number): boolean {
    if (this.closed || key.length > MAX_KEY || !Number.isFinite(ms) || ms <= 0) return false;
    ms = Math.min(ms, MAX_MS);
    if (!this.remember(key, Date.now() + ms)) return false;
    for (const listener of this.listeners) {
      try {
        listener(key, ms);
      } catch {
        // the relay in front of each instance logs its listeners' failures; announcing never throws
      }
    }
    return true;
  }

  /** Records a cooldown's end (the later one is kept); false when it changes nothing known. */
  private remember(key: string, ends: number): boolean {
    if ((this.known.get(key) ?? 0) >= ends) return false;
    if (!this.known.has(key) && this.known.size >= MAX_KNOWN) {
      const now = Date.now();
      for (const [k, e] of this.known) if (e <= now) this.known.delete(k);
      if (this.known.size >= MAX_KNOWN) return false;
    }
    this.known.set(key, ends);
    return true;
  }
}
