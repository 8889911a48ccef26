import type { Logger } from '../contract/logger.js';
import type { CooldownListener, SharedCooldowns } from '../contract/shared-cooldowns.js';

/**
 * What an AEGIS instance hands its providers as `context.sharedCooldowns`: it
 * passes announcements and subscriptions on to the board the application
 * attached (at creation, or later: providers built before are then connected
 * to it), and ends every subscription when the instance closes, so providers
 * need no lifecycle of their own. Without a board, announcing does nothing.
 * A board or a listener that throws is logged, never passed on to a call.
 */
export class CooldownRelay implements SharedCooldowns {
  private board?: SharedCooldowns;
  /** The key this instance is announcing right now (its echo is not passed back to it). */
  private announcing?: string;
  /** Each provider's listener → the end of its subscription to the board (a no-op while there is none). */
  private readonly subscriptions = new Map<CooldownListener, () => void>();

  constructor(private readonly logger: Logger) {}

  announce(key: string, ms: number): void {
    if (!this.board) return;
    // A board may tell its listeners of the announcement at once (another instance of this process
    // hears it live): this instance's own providers already know it, and do not hear it again.
    this.announcing = key;
    try {
      this.board.announce(key, ms);
    } catch (error) {
      this.logger.warn(`shared cooldowns: announcing "${key}" failed (the cooldown applies in this process only): ${messageOf(error)}`);
    } finally {
      this.announcing = undefined;
    }
  }

  subscribe(listener: CooldownListener): () => void {
    const guarded: CooldownListener = (key, ms) => {
      if (key === this.announcing) return;
      try {
        listener(key, ms);
      } catch (error) {
        this.logger.warn(`shared cooldowns: a listener failed on "${key}": ${messageOf(error)}`);
      }
    };
    this.subscriptions.set(guarded, this.subscribeToBoard(guarded));
    return () => {
      this.subscriptions.get(guarded)?.();
      this.subscriptions.delete(guarded);
    };
  }

  /** Uses `board` from now on (instead of any other); returns the function that detaches it. */
  attach(board: SharedCooldowns): () => void {
    this.detach();
    this.board = board;
    for (const listener of this.subscriptions.keys()) this.subscriptions.set(listener, this.subscribeToBoard(listener));
    return () => {
      if (this.board === board) this.detach();
    };
  }

  /** Ends every subscription (the instance is closing). */
  close(): void {
    this.detach();
    this.subscriptions.clear();
  }

  private detach(): void {
    const board = this.board;
    if (!board) return;
    this.board = undefined;
    for (const [listener, end] of this.subscriptions) {
      this.subscriptions.set(listener, noop);
      try {
        end();
      } catch (error) {
        this.logger.warn(`shared cooldowns: ending a subscription failed: ${messageOf(error)}`);
      }
    }
  }

  private subscribeToBoard(listener: CooldownListener): () => void {
    if (!this.board) return noop;
    try {
      return this.board.subscribe(listener);
    } catch (error) {
      this.logger.warn(`shared cooldowns: subscribing failed (cooldowns stay local to this process): ${messageOf(error)}`);
      return noop;
    }
  }
}

const noop = (): void => undefined;

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
