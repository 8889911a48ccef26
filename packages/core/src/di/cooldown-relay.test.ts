import { describe, expect, it } from '@jest/globals';
import type { CooldownListener, SharedCooldowns } from '../contract/shared-cooldowns.js';
import { CooldownRelay } from './cooldown-relay.js';

/** A board that replays what it was told is running, and lets the test announce as another replica. */
class Board implements SharedCooldowns {
  readonly announced: [string, number][] = [];
  readonly listeners = new Set<CooldownListener>();
  constructor(private readonly running: [string, number][] = []) {}
  announce(key: string, ms: number): void {
    this.announced.push([key, ms]);
  }
  subscribe(listener: CooldownListener): () => void {
    for (const [key, ms] of this.running) listener(key, ms);
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }
  elsewhere(key: string, ms: number): void {
    for (const listener of this.listeners) listener(key, ms);
  }
}

function recorder(): { lines: string[]; logger: { debug(): void; info(): void; warn(m: string): void; error(m: string): void } } {
  const lines: string[] = [];
  return { lines, logger: { debug: () => undefined, info: () => undefined, warn: (m) => void lines.push(m), error: (m) => void lines.push(m) } };
}

describe('CooldownRelay (what providers get as context.sharedCooldowns)', () => {
  it('without a board: announcing does nothing and subscribing hears nothing', () => {
    const relay = new CooldownRelay(recorder().logger);
    const heard: string[] = [];
    relay.subscribe((key) => heard.push(key));
    expect(() => relay.announce('k', 1000)).not.toThrow();
    expect(heard).toEqual([]);
  });

  it('a board attached later reaches the listeners subscribed before (with what it has running), and announcements reach it', () => {
    const relay = new CooldownRelay(recorder().logger);
    const heard: [string, number][] = [];
    relay.subscribe((key, ms) => heard.push([key, ms]));
    const board = new Board([['running', 5000]]);
    relay.attach(board);
    expect(heard).toEqual([['running', 5000]]);
    board.elsewhere('later', 1000);
    expect(heard).toEqual([
      ['running', 5000],
      ['later', 1000],
    ]);
    relay.announce('mine', 3000);
    expect(board.announced).toEqual([['mine', 3000]]);
  });

  it('detaching, attaching another board, unsubscribing and closing end the subscriptions on the board', () => {
    const relay = new CooldownRelay(recorder().logger);
    const first = new Board();
    const second = new Board();
    const detachFirst = relay.attach(first);
    const unsubscribe = relay.subscribe(() => undefined);
    relay.subscribe(() => undefined);
    expect(first.listeners.size).toBe(2);
    relay.attach(second);
    expect([first.listeners.size, second.listeners.size]).toEqual([0, 2]);
    // Detaching a board no longer attached changes nothing.
    detachFirst();
    expect(second.listeners.size).toBe(2);
    unsubscribe();
    expect(second.listeners.size).toBe(1);
    relay.close();
    expect(second.listeners.size).toBe(0);
    relay.announce('k', 1000);
    expect(second.announced).toEqual([]);
  });

  it('a board or a listener that throws is logged, never thrown at the provider', () => {
    const { lines, logger } = recorder();
    const relay = new CooldownRelay(logger);
    const board = new Board();
    relay.attach({
      announce: () => {
        throw new Error('no route to store');
      },
      subscribe: (listener) => board.subscribe(listener),
    });
    relay.subscribe(() => {
      throw new Error('listener bug');
    });
    const heard: string[] = [];
    relay.subscribe((key) => heard.push(key));
    expect(() => relay.announce('k', 1000)).not.toThrow();
    expect(() => board.elsewhere('x', 1000)).not.toThrow();
    expect(heard).toEqual(['x']);
    expect(lines).toEqual([
      'shared cooldowns: announcing "k" failed (the cooldown applies in this process only): no route to store',
      'shared cooldowns: a listener failed on "x": listener bug',
    ]);
  });

  it("an announcement reaches another instance on the same board at once, and not the announcer's own listeners", () => {
    /** A board that tells every subscriber of an announcement made here (as the gateway's Redis board does). */
    class EchoBoard extends Board {
      override announce(key: string, ms: number): void {
        super.announce(key, ms);
        this.elsewhere(key, ms);
      }
    }
    const board = new EchoBoard();
    const [a, b] = [new CooldownRelay(recorder().logger), new CooldownRelay(recorder().logger)];
    const heardByA: string[] = [];
    const heardByB: string[] = [];
    a.subscribe((key) => heardByA.push(key));
    b.subscribe((key) => heardByB.push(key));
    a.attach(board);
    b.attach(board);
    a.announce('router:p:m', 30_000);
    expect(heardByB).toEqual(['router:p:m']);
    expect(heardByA).toEqual([]);
    board.elsewhere('router:p:m', 10_000); // the same key, from another replica later: A hears that
    expect(heardByA).toEqual(['router:p:m']);
  });
});
