import type { Readable } from 'node:stream';

/** What becomes of the body when its reader stops before the end (see `BodyChunks.return`). */
export type LeftBody = (stream: Readable) => void;

const DONE: IteratorResult<never, undefined> = Object.freeze({ value: undefined, done: true });

/**
 * A response body's chunks as an async iterator, read with the stream's own
 * events (`readable`, `end`, `error`, `close`) rather than Node's async
 * iterator: that one is an async generator over the same events, with an
 * end-of-stream watcher of its own, and it sits on every chunk of every
 * stream. Behaves as it does: the chunks in order, the stream's error thrown,
 * a close before the end a premature close, one reader at a time.
 *
 * `check` sees each chunk before it is handed out and may throw (a size
 * limit), which ends the iteration with that error. A failure (the stream's
 * or `check`'s) goes through `failed`, which returns the error to throw.
 * `return()` (the reader stopped) detaches and hands the stream to `left`,
 * which ends or closes it.
 */
export class BodyChunks implements AsyncIterableIterator<Buffer> {
  private ended = false;
  private failure: unknown;
  private waiter?: { resolve(step: IteratorResult<Buffer, undefined>): void; reject(error: unknown): void };
  private detached = false;

  constructor(
    private readonly stream: Readable,
    private readonly check: (chunk: Buffer) => void,
    private readonly left: LeftBody,
    private readonly failed: (error: unknown) => unknown,
  ) {
    stream.on('readable', this.wake);
    stream.on('end', this.onEnd);
    stream.on('error', this.onError);
    stream.on('close', this.onClose);
  }

  next(): Promise<IteratorResult<Buffer, undefined>> {
    let step: IteratorResult<Buffer, undefined> | undefined;
    try {
      step = this.ready();
    } catch (error) {
      return Promise.reject(error);
    }
    if (step !== undefined) return Promise.resolve(step);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /**
   * The next step if one is at hand (a chunk, or the end), else undefined;
   * throws the failure. What a reader calls to go on without an async step
   * while the body's chunks are already there (pull.ts, ReadyChunks).
   */
  ready(): IteratorResult<Buffer, undefined> | undefined {
    if (this.failure !== undefined) throw this.failure;
    if (this.detached) return DONE;
    const chunk = this.stream.read() as Buffer | null;
    if (chunk !== null) {
      try {
        this.check(chunk);
      } catch (error) {
        this.fail(error);
        throw this.failure;
      }
      return { value: chunk, done: false };
    }
    if (this.ended) {
      this.detach();
      return DONE;
    }
    return undefined;
  }

  return(): Promise<IteratorResult<Buffer, undefined>> {
    if (!this.detached) {
      const finished = this.ended || this.failure !== undefined;
      this.detach();
      if (!finished) this.left(this.stream);
    }
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private readonly wake = (): void => {
    const waiter = this.waiter;
    if (!waiter) return;
    let step: IteratorResult<Buffer, undefined> | undefined;
    try {
      step = this.ready();
    } catch (error) {
      this.waiter = undefined;
      waiter.reject(error);
      return;
    }
    if (step === undefined) return;
    this.waiter = undefined;
    waiter.resolve(step);
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    this.wake();
  };

  private readonly onError = (error: unknown): void => {
    this.fail(error);
  };

  private readonly onClose = (): void => {
    if (this.ended || this.failure !== undefined) return;
    const premature = closedBeforeEnd(this.stream);
    if (premature) this.fail(premature);
    else this.onEnd();
  };

  private fail(error: unknown): void {
    if (this.failure !== undefined) return;
    this.detach();
    this.failure = this.failed(error) ?? error;
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.reject(this.failure);
  }

  private detach(): void {
    this.detached = true;
    this.stream.off('readable', this.wake);
    this.stream.off('end', this.onEnd);
    this.stream.off('error', this.onError);
    this.stream.off('close', this.onClose);
  }
}

/**
 * What a stream's `close` means: undefined when its body had ended (every
 * byte read, or the end reached with nothing left to read, even before 'end'
 * is emitted), else the premature-close error Node's own readers give.
 */
export function closedBeforeEnd(stream: Readable): Error | undefined {
  const state = (stream as unknown as { _readableState?: { ended?: boolean } })._readableState;
  if (stream.readableEnded || (state?.ended && stream.readableLength === 0)) return undefined;
  return Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
}
