import { StringDecoder } from 'node:string_decoder';
import { ProviderError } from '../errors/provider-error.js';
import { DEFAULT_LIMITS, streamSourceOf, tooLargeError, type StreamSource } from './limits.js';
import { handIterator } from '../contract/hand-iterator.js';

/**
 * A source of chunks that can hand out what it already holds without an
 * async step (the HTTP client's body): the next step if one is at hand, else
 * undefined; it throws the source's failure.
 */
export interface ReadyChunks {
  ready(): IteratorResult<Uint8Array | string, unknown> | undefined;
}

const DONE: IteratorResult<never, undefined> = Object.freeze({ value: undefined, done: true });

/** Options of the stream readers (readSse, readNdjson) for a source that is not the HTTP client's body. */
export interface StreamReadOptions {
  /** Largest line (NDJSON) or event (SSE) accepted, in bytes (default: the body's, else 8 MiB). */
  maxLineBytes?: number;
  /** Where the stream came from, named in errors. */
  url?: string;
}

/**
 * An async iterator of the items parsed out of a stream of chunks (SSE events,
 * NDJSON lines). It parses the items of a chunk together and hands out those
 * already parsed as settled promises: an async generator would pay, per item,
 * an await on each `yield` and a resumption through its request queue, which
 * on a stream of thousands of small deltas is a measurable share of the time
 * (see bench/RESULTS.md). Errors of the source, or of `take`, end it, as a
 * throw ends a generator; `return()` closes the source (and so frees its socket).
 */
export abstract class ChunkReader<I, T> implements AsyncGenerator<T, undefined, unknown> {
  private readonly items: I[] = [];
  /** The body's line limit and origin, when it came from the HTTP client. */
  private readonly origin?: StreamSource;
  private readonly maxLineBytes: number;
  /** Where the stream came from (named in errors), if known. */
  protected readonly url?: string;
  /** Bytes since the end of the last complete record (line or event): what the parser holds. */
  private pendingBytes = 0;
  /** The last byte (or char code) of the previous chunk: a record boundary may straddle two chunks. */
  private lastCode = -1;
  private head = 0;
  private source?: AsyncIterator<Uint8Array | string>;
  private finished = false;
  private pending?: Promise<IteratorResult<T, undefined>>;
  /**
   * node's string_decoder rather than TextDecoder: on the many small chunks of
   * a stream it is about 3× cheaper (bench measure 9; bench/src/findings.md).
   */
  private readonly decoder = new StringDecoder('utf8');
  private started = false;

  constructor(
    private readonly chunks: AsyncIterable<Uint8Array | string>,
    limits: StreamReadOptions = {},
  ) {
    this.origin = streamSourceOf(chunks);
    this.maxLineBytes = limits.maxLineBytes ?? this.origin?.maxLineBytes ?? DEFAULT_LIMITS.maxLineBytes;
    this.url = limits.url ?? this.origin?.url;
  }

  /** The text of a chunk (a character cut between chunks is completed by the next); a leading BOM is dropped, as TextDecoder did. */
  protected decode(chunk: Uint8Array): string {
    const text = this.decoder.write(chunk);
    if (this.started || text === '') return text;
    this.started = true;
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  }

  /** What is left in the decoder at the end of the stream. */
  protected decodeEnd(): string {
    return this.decoder.end();
  }

  /**
   * The index just past the last record boundary in a chunk (the end of an
   * NDJSON line, the blank line ending an SSE event), or -1 when it has none.
   * `previous` is the last code of the chunk before, for a boundary that
   * straddles two chunks.
   */
  protected abstract boundaryEnd(chunk: Uint8Array | string, previous: number): number;

  /** Parses one chunk's text, adding the complete items to `out`. */
  protected abstract feed(text: string, out: I[]): void;

  /** Adds what is left once the source has ended. */
  protected abstract flush(out: I[]): void;

  /** Turns a parsed item into the value handed out (may throw, which ends the iterator). */
  protected abstract take(item: I): T;

  /** Adds more items from what an earlier chunk left pending, if any; true when it did. */
  protected refill(_out: I[]): boolean {
    return false;
  }

  /** Runs once, before the first chunk is fed (e.g. to load the parser). */
  protected prepare(): Promise<void> | undefined {
    return undefined;
  }

  next(): Promise<IteratorResult<T, undefined>> {
    if (this.pending) return this.pending.then(() => this.next(), () => this.next());
    if (this.head < this.items.length) return this.settled(this.items[this.head++]!);
    if (this.finished) return Promise.resolve(DONE);
    return this.pull();
  }

  async return(): Promise<IteratorResult<T, undefined>> {
    if (!this.finished) {
      this.end();
      await this.source?.return?.();
    }
    return { value: undefined, done: true };
  }

  async throw(error: unknown): Promise<IteratorResult<T, undefined>> {
    await this.return();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /**
   * The same items a batch at a time: those parsed together (out of one chunk,
   * or one part of a long one), so that a consumer pays one async step per batch
   * rather than per item. An item that fails `take` ends its batch and is
   * thrown by the next call, so the items before it are still handed out.
   * Hand-written rather than a generator (one step per batch, not three); it
   * closes the reader, as the generator's `finally` did, when it fails or is
   * returned early.
   */
  batches(): AsyncGenerator<T[], undefined, undefined> {
    const batchOf = (first: IteratorResult<T, undefined>): IteratorResult<T[], undefined> => {
      if (first.done) return DONE;
      const batch = [first.value];
      while (this.head < this.items.length) {
        let value: T;
        try {
          value = this.take(this.items[this.head]!);
        } catch {
          break; // handed out (thrown) by the next `next()`
        }
        this.head++;
        batch.push(value);
      }
      return { value: batch, done: false };
    };
    const failed = (error: unknown): Promise<never> =>
      this.return().then(() => {
        throw error;
      });
    return handIterator<T[], undefined>(
      () => this.next().then(batchOf, failed),
      () => this.return().then(() => DONE),
    );
  }

  private settled(item: I): Promise<IteratorResult<T, undefined>> {
    try {
      return Promise.resolve({ value: this.take(item), done: false });
    } catch (error) {
      this.end();
      void this.source?.return?.()?.catch(() => undefined);
      return Promise.reject(error);
    }
  }

  /**
   * Parses items out of the source's chunks: without an async step while the
   * source has chunks at hand (ReadyChunks), else once one arrives. Resolves
   * with the first item, or the end.
   */
  private pull(): Promise<IteratorResult<T, undefined>> {
    this.items.length = 0;
    this.head = 0;
    return this.fill();
  }

  /** Pulls until there are items (or the end); the continuation of `pull` after a wait. */
  private fill(): Promise<IteratorResult<T, undefined>> {
    try {
      if (!this.source) {
        const preparing = this.prepare();
        if (preparing) return this.after(preparing, () => (this.source = this.chunks[Symbol.asyncIterator]()));
        this.source = this.chunks[Symbol.asyncIterator]();
      }
      const source = this.source;
      const ready = (source as Partial<ReadyChunks>).ready;
      while (this.items.length === 0 && !this.finished) {
        if (this.refill(this.items)) continue;
        const step = ready?.call(source);
        if (step === undefined) return this.after(source.next(), (next) => this.use(next));
        this.use(step);
      }
    } catch (error) {
      return Promise.reject(this.failed(error));
    }
    if (this.head < this.items.length) return this.settled(this.items[this.head++]!);
    return Promise.resolve(DONE);
  }

  /** Waits for `step`, applies `then` to what it gives, and pulls on; the reader is busy (`pending`) meanwhile. */
  private after<S>(step: Promise<S>, then: (value: S) => unknown): Promise<IteratorResult<T, undefined>> {
    const pending = step.then(
      (value) => {
        this.pending = undefined;
        try {
          then(value);
        } catch (error) {
          throw this.failed(error);
        }
        return this.fill();
      },
      (error: unknown) => {
        this.pending = undefined;
        throw this.failed(error);
      },
    );
    this.pending = pending;
    return pending;
  }

  /** One step of the source: its chunk parsed into items, or its end. */
  private use(step: IteratorResult<Uint8Array | string, unknown>): void {
    if (step.done) {
      this.flush(this.items);
      this.finished = true;
      return;
    }
    const chunk = step.value;
    this.bound(chunk);
    this.feed(typeof chunk === 'string' ? chunk : this.decode(chunk), this.items);
  }

  /** Ends the reader on a failure (an oversized record also closes its body); the error to throw. */
  private failed(error: unknown): unknown {
    this.end();
    if (ProviderError.isInstance(error) && error.reason === 'response_too_large') this.origin?.destroy(error);
    return error;
  }

  /**
   * Counts the bytes of the record in progress and fails once they pass the
   * line limit, before the chunk is parsed: a line or event that never ends
   * (or a decompressed bomb of one) is never buffered past the limit. One
   * scan of each chunk, so linear in the stream's size.
   */
  private bound(chunk: Uint8Array | string): void {
    const length = chunk.length;
    if (length === 0) return;
    const end = this.boundaryEnd(chunk, this.lastCode);
    this.pendingBytes = end < 0 ? this.pendingBytes + length : length - end;
    this.lastCode = typeof chunk === 'string' ? chunk.charCodeAt(length - 1) : chunk[length - 1]!;
    if (this.pendingBytes > this.maxLineBytes) {
      throw tooLargeError('maxLineBytes', this.maxLineBytes, { url: this.url ?? 'the backend', method: this.origin?.method });
    }
  }

  private end(): void {
    this.finished = true;
    this.items.length = 0;
    this.head = 0;
  }
}
