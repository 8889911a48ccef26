/**
 * Node holds a timer's delay in a signed 32-bit integer. A longer delay (more
 * than about 24.8 days) is no error: `setTimeout` fires it after 1 ms (with a
 * TimeoutOverflowWarning), a socket's `setTimeout` cuts it to this; and a
 * socket's `setTimeout` throws, outside any promise, for a negative or
 * infinite one. Every timer set from a user's number of milliseconds goes
 * through here.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * The socket-idle timer to set for an `idleTimeoutMs`: none for undefined, 0
 * or Infinity (and, defensively, for a negative or NaN one, which callers
 * refuse before); at most MAX_TIMER_MS, as a silence that long is no answer
 * either way.
 */
export function idleTimerMs(idleTimeoutMs: number | undefined): number | undefined {
  if (idleTimeoutMs === undefined || !(idleTimeoutMs > 0) || idleTimeoutMs === Infinity) return undefined;
  return Math.min(idleTimeoutMs, MAX_TIMER_MS);
}
