import { MAX_TIMER_MS } from '../http/timers.js';

/**
 * One call's abort signal: fires when the caller's signal aborts or when the
 * deadline passes, whichever comes first. `dispose()` clears the timer and the
 * listener, so a finished call leaves nothing behind.
 *
 * The timer and the listener on the caller's signal are set up after the
 * current turn of the event loop (`setImmediate`), not in the constructor: by
 * then the call's request has left, and neither sits on the path from the
 * call to the backend (cold, the two cost about as much as building the
 * request; bench/src/gateway-findings.md). Nothing is lost by waiting: the
 * deadline is counted from the constructor, a caller's signal that aborted in
 * the meantime aborts the call when they are set up, and one already aborted
 * aborts it at once.
 *
 * A deadline of Infinity sets no timer. One further off than a Node timer
 * holds (2^31−1 ms, about 24.8 days; a longer delay would fire after 1 ms)
 * is waited for in steps of at most that.
 */
export class CallDeadline {
  readonly signal: AbortSignal;
  readonly deadline: number;
  /** `signal.aborted`, as a plain field: streams read it before every delta they hand out. */
  aborted = false;
  private readonly controller = new AbortController();
  private timer?: NodeJS.Timeout;
  private disposed = false;
  private listening = false;
  /** The timer is one step of a longer wait (see wait). */
  private step = false;

  constructor(
    private readonly timeoutMs: number,
    private readonly callerSignal?: AbortSignal,
  ) {
    this.signal = this.controller.signal;
    this.deadline = Date.now() + timeoutMs;
    if (callerSignal?.aborted) this.onCallerAbort();
    else setImmediate(this.arm);
  }

  get timedOut(): boolean {
    return this.signal.aborted && (this.signal.reason as { name?: string } | undefined)?.name === 'TimeoutError';
  }

  dispose(): void {
    this.disposed = true;
    clearTimeout(this.timer);
    if (this.listening) this.callerSignal!.removeEventListener('abort', this.onCallerAbort);
  }

  private readonly arm = (): void => {
    if (this.disposed || this.aborted) return;
    const caller = this.callerSignal;
    if (caller?.aborted) return this.onCallerAbort();
    if (caller) {
      caller.addEventListener('abort', this.onCallerAbort, { once: true });
      this.listening = true;
    }
    this.wait();
  };

  /** Sets the timer for what is left of the deadline, or for the longest a timer runs if more is left. */
  private wait(): void {
    if (this.deadline === Infinity) return;
    const left = Math.max(0, this.deadline - Date.now());
    this.step = left > MAX_TIMER_MS;
    this.timer = setTimeout(this.onTimeout, this.step ? MAX_TIMER_MS : left);
  }

  private readonly onCallerAbort = (): void => {
    this.abort(this.callerSignal?.reason ?? new DOMException('aborted', 'AbortError'));
  };

  private readonly onTimeout = (): void => {
    // A step of a deadline further off than one timer holds: wait on. (Only then: a timer set for
    // the whole rest is the deadline, even if the wall clock, which `deadline` is counted in, moved.)
    if (this.step) return this.wait();
    this.abort(new DOMException(`deadline of ${this.timeoutMs} ms passed`, 'TimeoutError'));
  };

  /** The only way the signal aborts (the controller is this object's own). */
  private abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.controller.abort(reason);
  }
}
