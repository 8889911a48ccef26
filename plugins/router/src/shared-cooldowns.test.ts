/**
 * Member cooldowns shared between replicas (context.sharedCooldowns): a
 * cooldown announced elsewhere makes the member skipped here, without a
 * request to it; one started here is announced. The board is a fake in
 * memory; the gateway's Redis board is tested in packages/gateway.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { Aegis, SharedCooldowns } from '@aegis/core';
import { startExampleComEmulator, type Emulator } from '@aegis/testkit';
import { cooldownKey, type FallbackProvider, type BalanceProvider } from './index.js';
import { aegisFor, closedPortUrl, compositeProfile, exampleProfile, FakeCooldownBoard, hi, KEY, recordingLogger } from './__tests__/helpers.js';

let a: Emulator;
let b: Emulator;
let closed: string;

beforeAll(async () => {
  [a, b, closed] = await Promise.all([startExampleComEmulator({ apiKey: KEY }), startExampleComEmulator({ apiKey: KEY }), closedPortUrl()]);
});

afterAll(async () => {
  await Promise.all([a.close(), b.close()]);
});

beforeEach(() => {
  a.reset();
  b.reset();
  a.setReply({ text: 'from a' });
  b.setReply({ text: 'from b' });
});

function setup(board: SharedCooldowns | undefined, ...composites: string[][]): { aegis: Aegis; dispose(): void; log: ReturnType<typeof recordingLogger> } {
  const log = recordingLogger();
  const made = aegisFor([...exampleProfile('a', a.url), ...exampleProfile('b', b.url), ...exampleProfile('down', closed), ...composites.flat()], {
    sharedCooldowns: board,
    logger: log,
  });
  return { ...made, log };
}

describe('member cooldowns shared through context.sharedCooldowns', () => {
  let board: FakeCooldownBoard;
  let aegis: Aegis;
  let dispose: () => void;
  let log: ReturnType<typeof recordingLogger>;

  beforeEach(() => {
    board = new FakeCooldownBoard();
    ({ aegis, dispose, log } = setup(
      board,
      compositeProfile('chain', 'fallback', ['a', 'b'], 'cooldown: 30'),
      compositeProfile('dead_first', 'fallback', ['down', 'b'], 'cooldown: 30', 'cooldown_after: 1'),
      compositeProfile('pool', 'balance', ['a', 'b'], 'cooldown: 30'),
      compositeProfile('brief', 'fallback', ['a', 'b'], 'cooldown: 5'),
      compositeProfile('never', 'fallback', ['a', 'b'], 'cooldown: 0'),
    ));
  });

  afterEach(() => dispose());

  it('keys are made of the profile names only, escaped so that no two pairs share one', () => {
    expect(cooldownKey('chain', 'a')).toBe('router:chain:a');
    expect(cooldownKey('a:b', 'c')).not.toBe(cooldownKey('a', 'b:c'));
  });

  it('a cooldown another replica announced makes the member skipped here: no request reaches it', async () => {
    const chain = (await aegis.getProviderForProfile('chain')) as FallbackProvider;
    board.elsewhere(cooldownKey('chain', 'a'), 20_000);
    expect(chain.memberStates()[0]!.coolingDownForMs).toBeGreaterThan(19_000);
    expect((await chain.getCompletion(hi)).text).toBe('from b');
    expect((await chain.getCompletion(hi)).text).toBe('from b');
    expect([a.requests.length, b.requests.length]).toEqual([0, 2]);
    expect(log.lines).toContainEqual(expect.stringContaining('profile "chain": member "a" skipped for 20 s: cooling down on another replica'));
    // Learnt, not started here: nothing is announced back.
    expect(board.announced).toEqual([]);
  });

  it('a balance profile takes the replica out of rotation the same way', async () => {
    const pool = (await aegis.getProviderForProfile('pool')) as BalanceProvider;
    board.elsewhere(cooldownKey('pool', 'b'), 20_000);
    for (let i = 0; i < 4; i++) expect((await pool.getCompletion(hi)).text).toBe('from a');
    expect(b.requests.length).toBe(0);
  });

  it('a provider built after the cooldown was announced learns it when it subscribes', async () => {
    board.elsewhere(cooldownKey('chain', 'a'), 20_000);
    const chain = (await aegis.getProviderForProfile('chain')) as FallbackProvider;
    expect((await chain.getCompletion(hi)).text).toBe('from b');
    expect(a.requests.length).toBe(0);
  });

  it('a cooldown started here is announced under the member\'s key, for the profile\'s cooldown', async () => {
    expect((await aegis.getCompletion('dead_first', hi)).text).toBe('from b');
    expect(board.announced).toEqual([[cooldownKey('dead_first', 'down'), 30_000]]);
  });

  it('only the profile and member named by the key are affected; other keys are ignored', async () => {
    const chain = (await aegis.getProviderForProfile('chain')) as FallbackProvider;
    const pool = (await aegis.getProviderForProfile('pool')) as BalanceProvider;
    board.elsewhere(cooldownKey('pool', 'a'), 20_000);
    board.elsewhere('router:nosuch:a', 20_000);
    board.elsewhere('another-plugin:a', 20_000);
    expect(chain.memberStates().map((m) => m.coolingDownForMs)).toEqual([0, 0]);
    expect(pool.memberStates()[0]!.coolingDownForMs).toBeGreaterThan(0);
  });

  it('never skips a member longer than its own profile\'s cooldown, and keeps the later end of both', async () => {
    const brief = (await aegis.getProviderForProfile('brief')) as FallbackProvider;
    const now = Date.now();
    board.elsewhere(cooldownKey('brief', 'a'), 3_600_000);
    const capped = brief.memberStates(now)[0]!.coolingDownForMs;
    expect(capped).toBeGreaterThan(0);
    expect(capped).toBeLessThanOrEqual(5_000 + (Date.now() - now));
    // A shorter one announced later does not shorten it.
    board.elsewhere(cooldownKey('brief', 'a'), 1);
    expect(brief.memberStates(now)[0]!.coolingDownForMs).toBe(capped);
  });

  it('a profile with cooldown: 0 neither subscribes nor skips anything', async () => {
    const never = (await aegis.getProviderForProfile('never')) as FallbackProvider;
    const before = board.listeners.size;
    board.elsewhere(cooldownKey('never', 'a'), 20_000);
    expect(never.memberStates()[0]!.coolingDownForMs).toBe(0);
    expect((await never.getCompletion(hi)).text).toBe('from a');
    expect(board.listeners.size).toBe(before);
  });

  it('closing the AEGIS instance ends its providers\' subscriptions', async () => {
    await aegis.getProviderForProfile('chain');
    await aegis.getProviderForProfile('pool');
    expect(board.listeners.size).toBe(2);
    aegis.close();
    expect(board.listeners.size).toBe(0);
  });
});

describe('a board attached after the providers were built (aegis.shareCooldowns)', () => {
  it('connects the providers already built, and detaching it disconnects them', async () => {
    const { aegis, dispose } = setup(undefined, compositeProfile('chain', 'fallback', ['a', 'b'], 'cooldown: 30'));
    try {
      const chain = (await aegis.getProviderForProfile('chain')) as FallbackProvider;
      const board = new FakeCooldownBoard();
      board.elsewhere(cooldownKey('chain', 'a'), 20_000);
      const detach = aegis.shareCooldowns(board);
      // The cooldown running on the board was replayed to the provider as it was connected.
      expect((await chain.getCompletion(hi)).text).toBe('from b');
      expect(a.requests.length).toBe(0);
      detach();
      expect(board.listeners.size).toBe(0);
    } finally {
      dispose();
    }
  });

  it('without a board, a cooldown stays in this process and calls work as before', async () => {
    const { aegis, dispose } = setup(undefined, compositeProfile('dead_first', 'fallback', ['down', 'b'], 'cooldown: 30', 'cooldown_after: 1'));
    try {
      expect((await aegis.getCompletion('dead_first', hi)).text).toBe('from b');
      expect(((await aegis.getProviderForProfile('dead_first')) as FallbackProvider).memberStates()[0]!.coolingDownForMs).toBeGreaterThan(0);
    } finally {
      dispose();
    }
  });
});

describe('a board that misbehaves never fails a call', () => {
  it('a board whose announce and subscribe throw: calls answer, the cooldown stays local, a warning says so', async () => {
    const failing: SharedCooldowns = {
      announce: () => {
        throw new Error('board down');
      },
      subscribe: () => {
        throw new Error('board down');
      },
    };
    const { aegis, dispose, log } = setup(failing, compositeProfile('dead_first', 'fallback', ['down', 'b'], 'cooldown: 30', 'cooldown_after: 1'));
    try {
      expect((await aegis.getCompletion('dead_first', hi)).text).toBe('from b');
      expect(((await aegis.getProviderForProfile('dead_first')) as FallbackProvider).memberStates()[0]!.coolingDownForMs).toBeGreaterThan(0);
      expect(log.lines).toContainEqual(expect.stringMatching(/shared cooldowns: subscribing failed .*board down/));
      expect(log.lines).toContainEqual(expect.stringMatching(/shared cooldowns: announcing "router:dead_first:down" failed .*board down/));
    } finally {
      dispose();
    }
  });

  it('a listener that throws is contained: the board goes on delivering to the others', async () => {
    const board = new FakeCooldownBoard();
    const { aegis, dispose, log } = setup(board, compositeProfile('chain', 'fallback', ['a', 'b'], 'cooldown: 30'));
    try {
      const chain = (await aegis.getProviderForProfile('chain')) as FallbackProvider;
      // A second subscriber on the same instance (another plugin's provider), which throws.
      const relay = (chain as unknown as { context: { sharedCooldowns: SharedCooldowns } }).context.sharedCooldowns;
      relay.subscribe(() => {
        throw new Error('listener bug');
      });
      board.elsewhere(cooldownKey('chain', 'a'), 20_000);
      expect(chain.memberStates()[0]!.coolingDownForMs).toBeGreaterThan(0);
      expect(log.lines).toContainEqual(expect.stringMatching(/shared cooldowns: a listener failed on "router:chain:a": listener bug/));
    } finally {
      dispose();
    }
  });
});
