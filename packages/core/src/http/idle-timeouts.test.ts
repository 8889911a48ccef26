/**
 * The values of HttpRequestOptions.idleTimeoutMs that set no ordinary timer:
 * Infinity and 0 (no idle timeout), one past what a Node timer holds (capped),
 * and a negative or NaN one (a TypeError,
 * before any request). An infinite or negative one used to reach
 * `req.setTimeout` inside a setImmediate, whose ERR_OUT_OF_RANGE no promise
 * caught: it crashed the process.
 */
import http from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { HttpClient, type HttpRequestOptions } from './client.js';
import { idleTimerMs, MAX_TIMER_MS } from './timers.js';
import { listenOnLoopback, type Loopback } from '../__tests__/loopback.js';

let loopback: Loopback;
let requests = 0;
const client = new HttpClient();

beforeAll(async () => {
  const server = http.createServer((req, res) => {
    requests++;
    req.resume();
    req.on('end', () => res.end('{"ok":true}'));
  });
  loopback = await listenOnLoopback(server);
});
afterAll(async () => {
  client.destroy();
  await loopback.close();
});
afterEach(() => {
  requests = 0;
});

const form = (): FormData => {
  const f = new FormData();
  f.append('model', 'm');
  return f;
};
/** One request on the direct path (JSON) and one through got (multipart). */
const both = (options: HttpRequestOptions) => [client.postJson(`${loopback.base}/json`, {}, options), client.postForm(`${loopback.base}/form`, form(), options)];

describe('idleTimeoutMs', () => {
  it.each([Infinity, 0])('%s: no idle timeout; the request is answered', async (idleTimeoutMs) => {
    for (const answer of await Promise.all(both({ idleTimeoutMs }))) expect(answer.body).toEqual({ ok: true });
  });

  it('past what a timer holds (24.8 days): capped, and answered', async () => {
    for (const answer of await Promise.all(both({ idleTimeoutMs: 3e9 }))) expect(answer.body).toEqual({ ok: true });
  });

  it.each([-1, NaN, -Infinity])('%s: a TypeError, and no request sent', async (idleTimeoutMs) => {
    for (const outcome of await Promise.allSettled(both({ idleTimeoutMs }))) {
      expect(outcome.status === 'rejected' && outcome.reason).toBeInstanceOf(TypeError);
      expect(String((outcome as PromiseRejectedResult).reason)).toMatch(/idleTimeoutMs must be a number of milliseconds, 0 or more/);
    }
    expect(requests).toBe(0);
  });

  it('sets the socket timer only for a finite value above 0, at most what a timer holds', () => {
    expect([undefined, 0, Infinity, -1, NaN].map(idleTimerMs)).toEqual([undefined, undefined, undefined, undefined, undefined]);
    expect([150, MAX_TIMER_MS, 3e9].map(idleTimerMs)).toEqual([150, MAX_TIMER_MS, MAX_TIMER_MS]);
  });
});
