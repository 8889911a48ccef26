/**
 * The retry loop and the call deadline on a fake clock: which wait, which
 * attempt, which error, decided by the code and not by how fast a loaded
 * machine runs. (The fault suites check the same through real sockets, with
 * margins; here every millisecond is exact.)
 */
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { ProviderError } from '../errors/provider-error.js';
import { CallDeadline } from '../contract/deadline.js';
import { backoffDelay, withRetries } from './retry.js';

beforeEach(() => {
  // setTimeout, clearTimeout and Date: the only clocks withRetries and CallDeadline read.
  jest.useFakeTimers({ now: 1_000_000, doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'hrtime', 'performance'] });
});
afterEach(() => {
  jest.useRealTimers();
  jest.restoreAllMocks();
});

const busy = (retryAfterMs?: number) => new ProviderError('HTTP 503', { status: 503, retryable: true, retryAfterMs, url: 'http://b/x' });
const refused = () => new ProviderError('connection refused', { reason: 'connection', retryable: true, url: 'http://b/x' });

/** Attempts that fail with `errors` in turn, then succeed; records when each started. */
function attempts(...errors: ProviderError[]) {
  const startedAt: number[] = [];
  const fn = async (attempt: number): Promise<string> => {
    startedAt.push(Date.now());
    const error = errors[attempt];
    if (error) throw error;
    return `ok after ${attempt}`;
  };
  return { fn, startedAt };
}

/** Settles a promise while the fake clock is advanced to each pending timer in turn. */
async function settle<T>(promise: Promise<T>): Promise<{ value?: T; error?: unknown }> {
  let outcome: { value?: T; error?: unknown } | undefined;
  promise.then(
    (value) => (outcome = { value }),
    (error: unknown) => (outcome = { error }),
  );
  for (let i = 0; i < 100 && !outcome; i++) await jest.advanceTimersToNextTimerAsync();
  if (!outcome) throw new Error('never settled');
  return outcome;
}

describe('backoffDelay', () => {
  it('is exponential with jitter between half and all of base × 2^attempt, capped', () => {
    expect([0, 1, 2].map((a) => backoffDelay(a, undefined, 500, 30_000, () => 0))).toEqual([250, 500, 1000]);
    expect([0, 1, 2].map((a) => backoffDelay(a, undefined, 500, 30_000, () => 1))).toEqual([500, 1000, 2000]);
    expect(backoffDelay(10, undefined, 500, 30_000, () => 1)).toBe(30_000);
  });

  it("uses the server's Retry-After instead, even 0", () => {
    expect(backoffDelay(3, busy(0), 500, 30_000, () => 1)).toBe(0);
    expect(backoffDelay(0, busy(7000))).toBe(7000);
  });
});

describe('withRetries', () => {
  it('waits the backoff between attempts, then returns the answer', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(0);
    const { fn, startedAt } = attempts(busy(), busy());
    const retries: number[] = [];
    const { value } = await settle(withRetries(fn, { maxRetries: 3, onRetry: (_e, _n, ms) => retries.push(ms) }));
    expect(value).toBe('ok after 2');
    expect(retries).toEqual([250, 500]);
    expect(startedAt.map((t) => t - startedAt[0]!)).toEqual([0, 250, 750]);
  });

  it('waits what Retry-After asks instead of the backoff', async () => {
    const { fn, startedAt } = attempts(busy(4000));
    expect((await settle(withRetries(fn, { maxRetries: 1 }))).value).toBe('ok after 1');
    expect(startedAt[1]! - startedAt[0]!).toBe(4000);
  });

  it('gives up after maxRetries with the last error', async () => {
    const last = busy(0);
    const { fn, startedAt } = attempts(busy(0), busy(0), last);
    expect((await settle(withRetries(fn, { maxRetries: 2 }))).error).toBe(last);
    expect(startedAt).toHaveLength(3);
  });

  it('does not retry what is not retryable', async () => {
    const bad = new ProviderError('HTTP 400', { status: 400 });
    const { fn, startedAt } = attempts(bad);
    expect((await settle(withRetries(fn, { maxRetries: 5 }))).error).toBe(bad);
    expect(startedAt).toHaveLength(1);
  });

  it('fails at once with the last error when the next wait would pass the deadline, rather than sleeping into it', async () => {
    jest.spyOn(Math, 'random').mockReturnValue(1);
    const second = refused();
    const { fn, startedAt } = attempts(refused(), second, refused());
    const retries: number[] = [];
    // Waits of 500 then 1,000 ms against a 1,400 ms deadline: the first fits, the second does not.
    const deadline = Date.now() + 1400;
    const { error } = await settle(withRetries(fn, { maxRetries: 5, deadline, onRetry: (_e, _n, ms) => retries.push(ms) }));
    expect(error).toBe(second);
    expect(retries).toEqual([500]);
    expect(startedAt.map((t) => t - startedAt[0]!)).toEqual([0, 500]);
    expect(Date.now()).toBeLessThan(deadline);
  });

  it('a Retry-After beyond the deadline fails at once with that error', async () => {
    const limited = busy(60_000);
    const { fn, startedAt } = attempts(limited);
    const start = Date.now();
    expect((await settle(withRetries(fn, { maxRetries: 3, deadline: start + 30_000 }))).error).toBe(limited);
    expect(startedAt).toHaveLength(1);
    expect(Date.now()).toBe(start);
  });

  it('an abort during the wait ends it at once as "aborted", keeping the failure as the cause', async () => {
    const controller = new AbortController();
    const first = busy(60_000);
    const { fn, startedAt } = attempts(first);
    const call = withRetries(fn, { maxRetries: 1, signal: controller.signal });
    const outcome = call.catch((e: unknown) => e);
    await jest.advanceTimersByTimeAsync(1000);
    controller.abort();
    const error = (await outcome) as ProviderError;
    expect(error).toMatchObject({ reason: 'aborted', retryable: false, url: 'http://b/x', cause: first });
    expect(startedAt).toHaveLength(1);
    expect(jest.getTimerCount()).toBe(0);
  });

  it("with a CallDeadline: retried while a Retry-After fits, never sleeping into the deadline", async () => {
    const deadline = new CallDeadline(5000);
    const { fn, startedAt } = attempts(busy(4000), busy(4000));
    const { error } = await settle(withRetries(fn, { maxRetries: 3, signal: deadline.signal, deadline: deadline.deadline }));
    // Retried at 4 s; the second 4 s wait would end past 5 s: the last 503, without waiting.
    expect(error).toMatchObject({ status: 503 });
    expect(startedAt.map((t) => t - startedAt[0]!)).toEqual([0, 4000]);
    deadline.dispose();
  });
});

describe('CallDeadline', () => {
  /** One turn of the event loop (setImmediate is real here): the deadline sets its timer and listener then. */
  const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

  it('aborts its signal with a TimeoutError exactly when the time is up, not before', async () => {
    const deadline = new CallDeadline(300);
    expect(deadline.deadline).toBe(Date.now() + 300);
    await turn();
    jest.advanceTimersByTime(299);
    expect([deadline.aborted, deadline.timedOut]).toEqual([false, false]);
    jest.advanceTimersByTime(1);
    expect([deadline.aborted, deadline.timedOut]).toEqual([true, true]);
    expect((deadline.signal.reason as Error).name).toBe('TimeoutError');
    deadline.dispose();
  });

  it('counts the time from its creation, though its timer is set after the turn', async () => {
    const deadline = new CallDeadline(300);
    expect(jest.getTimerCount()).toBe(0); // nothing on the way to the backend
    jest.advanceTimersByTime(200); // the rest of the turn took 200 ms
    await turn();
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(99);
    expect(deadline.aborted).toBe(false);
    jest.advanceTimersByTime(1);
    expect(deadline.timedOut).toBe(true);
    deadline.dispose();
  });

  it("follows the caller's signal, which is not a timeout", async () => {
    const caller = new AbortController();
    const deadline = new CallDeadline(300, caller.signal);
    await turn();
    caller.abort();
    expect([deadline.aborted, deadline.timedOut]).toEqual([true, false]);
    deadline.dispose();
  });

  it("sees a caller's abort that came before its listener, and one that came before it", async () => {
    const caller = new AbortController();
    const deadline = new CallDeadline(300, caller.signal);
    caller.abort(new Error('gone'));
    await turn();
    expect([deadline.aborted, (deadline.signal.reason as Error).message]).toEqual([true, 'gone']);
    expect(new CallDeadline(300, caller.signal).aborted).toBe(true);
    deadline.dispose();
  });

  it('leaves no timer and no listener behind once disposed', async () => {
    const caller = new AbortController();
    const deadline = new CallDeadline(300, caller.signal);
    await turn();
    expect(jest.getTimerCount()).toBe(1);
    deadline.dispose();
    expect(jest.getTimerCount()).toBe(0);
    caller.abort();
    jest.advanceTimersByTime(1000);
    expect(deadline.aborted).toBe(false);
  });

  it('sets up nothing when disposed within its turn', async () => {
    const caller = new AbortController();
    const deadline = new CallDeadline(300, caller.signal);
    deadline.dispose();
    await turn();
    expect(jest.getTimerCount()).toBe(0);
    caller.abort();
    expect(deadline.aborted).toBe(false);
  });
});
