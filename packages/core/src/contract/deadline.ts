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
    this.timer = setTimeout(this.onTimeout, Math.max(0, this.deadline - Date.now()));
  };

  private readonly onCallerAbort = (): void => {
    this.abort(this.callerSignal?.reason ?? new DOMException('aborted', 'AbortError'));
  };

  private readonly onTimeout = (): void => {
    this.abort(new DOMException(`deadline of ${this.timeoutMs} ms passed`, 'TimeoutError'));
  };

  /** The only way the signal aborts (the controller is this object's own). */
  private abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.controller.abort(reason);
  }
}
