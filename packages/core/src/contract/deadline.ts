/**
 * One call's abort signal: fires when the caller's signal aborts or when the
 * deadline passes, whichever comes first. `dispose()` clears the timer and the
 * listener, so a finished call leaves nothing behind.
 */
export class CallDeadline {
  readonly signal: AbortSignal;
  readonly deadline: number;
  /** `signal.aborted`, as a plain field: streams read it before every delta they hand out. */
  aborted = false;
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly onCallerAbort: () => void;

  constructor(
    timeoutMs: number,
    private readonly callerSignal?: AbortSignal,
  ) {
    this.signal = this.controller.signal;
    this.deadline = Date.now() + timeoutMs;
    this.onCallerAbort = () => this.abort(callerSignal?.reason ?? new DOMException('aborted', 'AbortError'));
    this.timer = setTimeout(() => this.abort(new DOMException(`deadline of ${timeoutMs} ms passed`, 'TimeoutError')), timeoutMs);
    if (callerSignal?.aborted) this.onCallerAbort();
    else callerSignal?.addEventListener('abort', this.onCallerAbort, { once: true });
  }

  get timedOut(): boolean {
    return this.signal.aborted && (this.signal.reason as { name?: string } | undefined)?.name === 'TimeoutError';
  }

  /** The only way the signal aborts (the controller is this object's own). */
  private abort(reason: unknown): void {
    this.aborted = true;
    this.controller.abort(reason);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.callerSignal?.removeEventListener('abort', this.onCallerAbort);
  }
}
