/**
 * A call's deadline past what one Node timer holds (2^31−1 ms, about 24.8
 * days), and none at all: a longer delay handed to setTimeout fires after
 * 1 ms. Jest's fake timers fire an overflowing delay after 1 ms as Node does,
 * and move Date.now with the timers, so the steps are checked without waiting.
 */
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { CallDeadline } from './deadline.js';
import { MAX_TIMER_MS } from '../http/timers.js';

beforeEach(() => {
  jest.useFakeTimers();
});
afterEach(() => {
  jest.useRealTimers();
});

describe('CallDeadline', () => {
  it('waits out a deadline longer than one timer holds, in steps, and fires at it', () => {
    const deadline = new CallDeadline(MAX_TIMER_MS + 5000);
    jest.advanceTimersByTime(10); // the timer is set after this turn (setImmediate), then 1 ms of an overflowed one
    expect(deadline.aborted).toBe(false);
    jest.advanceTimersByTime(MAX_TIMER_MS); // the first step ends; 5 s are left
    expect(deadline.aborted).toBe(false);
    expect(jest.getTimerCount()).toBe(1); // the next step
    jest.advanceTimersByTime(5000);
    expect(deadline.aborted).toBe(true);
    expect(deadline.timedOut).toBe(true);
    deadline.dispose();
  });

  it('sets no timer for an infinite deadline, and never fires', () => {
    const deadline = new CallDeadline(Infinity);
    jest.advanceTimersByTime(10);
    expect(jest.getTimerCount()).toBe(0);
    expect(deadline.aborted).toBe(false);
    deadline.dispose();
  });

  it('still aborts an infinite deadline on the caller\'s signal', () => {
    const caller = new AbortController();
    const deadline = new CallDeadline(Infinity, caller.signal);
    jest.advanceTimersByTime(10);
    caller.abort();
    expect(deadline.aborted).toBe(true);
    expect(deadline.timedOut).toBe(false);
    deadline.dispose();
  });

  it('fires an ordinary deadline once, at its time', () => {
    const deadline = new CallDeadline(300);
    jest.advanceTimersByTime(290);
    expect(deadline.aborted).toBe(false);
    jest.advanceTimersByTime(20);
    expect(deadline.timedOut).toBe(true);
    expect(jest.getTimerCount()).toBe(0);
    deadline.dispose();
  });
});
