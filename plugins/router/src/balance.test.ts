import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { ProviderError, type Aegis } from '@aegis/core';
import { startExampleComEmulator, type Emulator } from '@aegis/testkit';
import { BalanceProvider, MembersFailedError } from './index.js';
import { aegisFor, compositeProfile, exampleProfile, hi, KEY, rejection } from './__tests__/helpers.js';

let r1: Emulator;
let r2: Emulator;
let aegis: Aegis;
let dispose: () => void;

beforeAll(async () => {
  r1 = await startExampleComEmulator({ apiKey: KEY });
  r2 = await startExampleComEmulator({ apiKey: KEY });
  ({ aegis, dispose } = aegisFor([
    ...exampleProfile('r1', r1.url),
    ...exampleProfile('r2', r2.url),
    ...compositeProfile('rr', 'balance', ['r1', 'r2']),
    ...compositeProfile('rr_default', 'balance', ['r1', 'r2']),
    ...compositeProfile('lif', 'balance', ['r1', 'r2'], 'strategy: least_in_flight'),
    ...compositeProfile('short', 'balance', ['r1', 'r2'], 'cooldown: 0.2'),
    ...compositeProfile('long', 'balance', ['r1', 'r2'], 'cooldown: 30'),
    ...compositeProfile('plain', 'balance', ['r1', 'r2']),
    ...compositeProfile('streamer', 'balance', ['r1', 'r2']),
  ]));
});

afterAll(async () => {
  dispose();
  await Promise.all([r1.close(), r2.close()]);
});

beforeEach(() => {
  r1.reset();
  r2.reset();
  r1.setReply({ text: 'r1', chunks: ['r', '1'] });
  r2.setReply({ text: 'r2', chunks: ['r', '2'] });
});

afterEach(() => {
  jest.useRealTimers();
});

/** Everything but Date: timers, ticks and the event loop stay real. */
const REAL_TIMERS = [
  'hrtime',
  'nextTick',
  'performance',
  'queueMicrotask',
  'requestAnimationFrame',
  'cancelAnimationFrame',
  'requestIdleCallback',
  'cancelIdleCallback',
  'setImmediate',
  'clearImmediate',
  'setInterval',
  'clearInterval',
  'setTimeout',
  'clearTimeout',
] as const;

const counts = () => [r1.requests.length, r2.requests.length];

async function complete(profile: string, n: number): Promise<string[]> {
  const texts: string[] = [];
  for (let i = 0; i < n; i++) texts.push((await aegis.getCompletion(profile, hi)).text);
  return texts;
}

describe('type: balance', () => {
  it('defaults to round robin, a 30 s cooldown and no retries of its own', async () => {
    expect(await aegis.getBackendConfig('rr_default')).toMatchObject({ strategy: 'round_robin', cooldown: 30, max_retries: 0 });
  });

  it('spreads calls round robin', async () => {
    expect(await complete('rr', 4)).toEqual(['r1', 'r2', 'r1', 'r2']);
    expect(counts()).toEqual([2, 2]);
  });

  it('least_in_flight sends calls to the replica with fewer calls in flight', async () => {
    // r1's call stays in flight until the test ends it (no delay that a loaded machine could outlast).
    r1.failNext({ kind: 'hang' });
    const controller = new AbortController();
    const slow = rejection(aegis.getCompletion('lif', hi, { signal: controller.signal }));
    while (r1.requests.length === 0) await new Promise((resolve) => setImmediate(resolve));
    expect(await complete('lif', 3)).toEqual(['r2', 'r2', 'r2']);
    expect(counts()).toEqual([1, 3]);
    controller.abort();
    expect(await slow).toMatchObject({ reason: 'aborted' });
  });

  it('least_in_flight spreads like round robin when nothing is in flight', async () => {
    expect(await complete('lif', 4)).toEqual(['r1', 'r2', 'r1', 'r2']);
  });

  it('takes a replica that failed with a retryable error out for the cooldown, and back after it', async () => {
    // The cooldown reads the clock: only Date is faked (timers and sockets stay real), so the
    // 0.2 s pass when the test says so, not when a busy machine lets them.
    jest.useFakeTimers({ doNotFake: [...REAL_TIMERS] });
    r1.failNext({ kind: 'status', status: 503 });
    // The failing call goes on to the other replica.
    expect(await complete('short', 1)).toEqual(['r2']);
    expect(counts()).toEqual([1, 1]);
    const provider = (await aegis.getProviderForProfile('short')) as BalanceProvider;
    expect(provider.replicas()[0]!.coolingDownForMs).toBeGreaterThan(0);
    expect(await complete('short', 3)).toEqual(['r2', 'r2', 'r2']);
    expect(counts()).toEqual([1, 4]);
    jest.setSystemTime(Date.now() + 199);
    expect(await complete('short', 1)).toEqual(['r2']);
    jest.setSystemTime(Date.now() + 1);
    expect(provider.replicas()[0]!.coolingDownForMs).toBe(0);
    expect((await complete('short', 2)).sort()).toEqual(['r1', 'r2']);
    expect(counts()).toEqual([2, 6]);
  });

  it('when every replica is cooling down, uses the one whose cooldown ends first', async () => {
    r1.failNext({ kind: 'status', status: 503 });
    r2.failNext({ kind: 'status', status: 502 });
    const e = await rejection(aegis.getCompletion('long', hi));
    expect(MembersFailedError.isInstance(e)).toBe(true);
    expect((e as MembersFailedError).retryable).toBe(true);
    expect((e as Error).message).toMatch(/"r1": .*HTTP 503.*; "r2": .*HTTP 502/);
    // r1 went out first, so it comes back first: it is tried rather than failing outright.
    expect(await complete('long', 1)).toEqual(['r1']);
    expect(counts()).toEqual([2, 1]);
    // Its answer puts it back in rotation; r2 stays out.
    expect(await complete('long', 2)).toEqual(['r1', 'r1']);
  });

  it('does not cool down nor switch on a non-retryable error', async () => {
    r1.failNext({ kind: 'status', status: 400 });
    const e = (await rejection(aegis.getCompletion('plain', hi))) as ProviderError;
    expect([e.status, e.profile]).toEqual([400, 'r1']);
    expect(counts()).toEqual([1, 0]);
    expect(await complete('plain', 2)).toEqual(['r2', 'r1']);
  });

  it('streams from another replica when one fails before its first delta', async () => {
    r1.failNext({ kind: 'status', status: 503 });
    const provider = await aegis.getProviderForProfile('streamer');
    const stream = provider.streamCompletion(hi);
    const deltas: string[] = [];
    for await (const delta of stream) deltas.push(delta);
    expect(deltas).toEqual(['r', '2']);
    expect((await stream.result).text).toBe('r2');
    const replicas = (provider as BalanceProvider).replicas();
    expect(replicas.map((r) => r.inFlight)).toEqual([0, 0]);
    expect(replicas[0]!.coolingDownForMs).toBeGreaterThan(0);
  });
});
