/**
 * Sliding-window counters (the "sliding window log" approximated with two
 * fixed windows, as Cloudflare and most API gateways do): the count at `now`
 * is the current window's count plus the previous window's, weighted by how
 * much of the previous window still overlaps the last `windowMs`. Pure
 * arithmetic, shared by the in-memory and the Redis store.
 */
export interface WindowCounts {
  current: number;
  previous: number;
}

export interface WindowPosition {
  /** Index of the current fixed window. */
  index: number;
  /** Weight of the previous window's count, 1 at the window's start, 0 at its end. */
  previousWeight: number;
  /** Milliseconds since the current window began. */
  elapsedMs: number;
}

export function positionAt(now: number, windowMs: number): WindowPosition {
  const index = Math.floor(now / windowMs);
  const elapsedMs = now - index * windowMs;
  return { index, elapsedMs, previousWeight: 1 - elapsedMs / windowMs };
}

export function estimate(counts: WindowCounts, position: WindowPosition): number {
  return counts.previous * position.previousWeight + counts.current;
}

/**
 * How long until the estimate leaves room for `amount` under `limit`, in
 * milliseconds (at least 1): first the previous window's weight decays, then
 * the current window becomes the previous one.
 */
export function retryAfterMs(counts: WindowCounts, position: WindowPosition, windowMs: number, limit: number, amount: number): number {
  const room = limit - amount;
  if (room < 0) return windowMs; // never fits: one window is as good an answer as any
  if (counts.current <= room && counts.previous > 0) {
    // Wait until previous * (1 - t/W) + current <= room.
    const t = windowMs * (1 - (room - counts.current) / counts.previous);
    return Math.max(1, Math.ceil(t - position.elapsedMs));
  }
  // The current window alone is too full: wait for it to become the previous one and decay.
  const next = windowMs - position.elapsedMs;
  const decay = counts.current > 0 ? Math.max(0, windowMs * (1 - room / counts.current)) : 0;
  return Math.max(1, Math.ceil(next + decay));
}
