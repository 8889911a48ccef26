import type { CompletionResult } from './results.js';
import type { StreamEvent } from './stream-events.js';
import { handIterator } from './hand-iterator.js';

/**
 * Internal: how a source made by core (the provider's call machinery) reports
 * its end and its error to the stream itself, and lets it read the text so
 * far, so the stream adds no work of its own per delta.
 */
export interface StreamProgress {
  end(result: CompletionResult): void;
  fail(error: unknown): void;
}

export const REPORTS_PROGRESS: unique symbol = Symbol('aegis.reportsProgress');

/** A source that reports its progress: given the stream's callbacks, it returns how to read the text so far. */
export type ReportingSource = { [REPORTS_PROGRESS]?: (progress: StreamProgress) => () => string };

export const EMITS_EVENTS: unique symbol = Symbol('aegis.emitsEvents');

/** Internal: a source made by core that sends the events other than text deltas (reasoning, tool calls) to a listener. */
export type EventSource = { [EMITS_EVENTS]?: (listener: (event: StreamEvent) => void) => void };

/**
 * A streamed completion: iterate it for text deltas as they arrive; `result`
 * resolves with the final result (whose `text` is exactly the concatenated
 * deltas, with the tool calls and reasoning of the answer) once the stream has
 * ended, or rejects with the error that ended it. Reading `result` without
 * iterating drains the stream (from the next turn of the event loop on, so
 * `result` may be taken first and the stream iterated right after).
 * `events()` is the other way to read it: typed events for text, reasoning,
 * tool calls and the finish. A stream is read once, one way or the other: a
 * second reader (a second `events()`, or iterating beside it) gets an error.
 */
export class CompletionStream implements AsyncIterable<string> {
  private readonly source: AsyncGenerator<string, CompletionResult, undefined>;
  private started = false;
  /** `events()` has the stream (its own reading of the deltas goes through `deltas()`). */
  private eventsTaken = false;
  /** The deltas' iterator was asked for (by a caller, or by `result`'s drain): `events()` may not have the stream. */
  private deltasTaken = false;
  private draining = false;
  private received = '';
  private settle!: { resolve(r: CompletionResult): void; reject(e: unknown): void };
  private settled = false;
  private readonly finished: Promise<CompletionResult>;
  /** The text so far, read from a source that reports its progress itself (see StreamProgress). */
  private readonly reported?: () => string;

  constructor(source: AsyncGenerator<string, CompletionResult, undefined>) {
    this.source = source;
    this.finished = new Promise<CompletionResult>((resolve, reject) => {
      this.settle = {
        resolve: (result) => {
          this.settled = true;
          resolve(result);
        },
        reject: (error) => {
          this.settled = true;
          reject(error);
        },
      };
    });
    // The caller may only iterate and catch the error there; never report it twice as unhandled.
    this.finished.catch(() => undefined);
    const report = (source as ReportingSource)[REPORTS_PROGRESS];
    this.reported = report?.call(source, {
      end: (result) => this.settle.resolve(result),
      fail: (error) => this.settle.reject(error),
    });
  }

  /** The text received so far. */
  get text(): string {
    return this.reported ? this.reported() : this.received;
  }

  get result(): Promise<CompletionResult> {
    // Drained from the next turn on, unless a reader has come by then (taking `result` first, then iterating, is fine).
    if (!this.started && !this.eventsTaken && !this.draining) {
      this.draining = true;
      setImmediate(() => {
        if (!this.started && !this.eventsTaken && !this.deltasTaken) void this.drain();
      });
    }
    return this.finished;
  }

  /**
   * The deltas. A hand-written iterator rather than an async generator: it sits
   * between the provider and the caller on every delta, and a generator's
   * await per `yield` is a measurable share of a long stream (bench/RESULTS.md).
   * It behaves as the generator it replaces: the first `next()` claims the
   * stream, an error or the end settles `result`, and `return()` (a `break`)
   * closes the source, which frees its socket.
   */
  [Symbol.asyncIterator](): AsyncGenerator<string, void, undefined> {
    this.deltasTaken = true;
    return this.deltas(() => this.eventsTaken);
  }

  /** The deltas' iterator; `taken()` at the first `next()`: another reader has the stream, so that `next()` fails. */
  private deltas(taken: () => boolean = () => false): AsyncGenerator<string, void, undefined> {
    let state: 'new' | 'open' | 'closed' = 'new';
    const done = (): IteratorResult<string, void> => ({ value: undefined, done: true });
    return handIterator<string, void>(
      () => {
        if (state === 'closed') return Promise.resolve(done());
        if (state === 'new') {
          if (this.started || taken()) {
            state = 'closed';
            return Promise.reject(new Error('a CompletionStream can be iterated only once'));
          }
          this.started = true;
          state = 'open';
        }
        if (this.reported) return this.source.next() as Promise<IteratorResult<string, void>>;
        return this.source.next().then(
          (step) => {
            if (step.done) {
              state = 'closed';
              this.settle.resolve({ ...step.value, text: this.received });
              return done();
            }
            this.received += step.value;
            return step;
          },
          (error: unknown) => {
            state = 'closed';
            this.settle.reject(error);
            throw error;
          },
        );
      },
      async () => {
        if (state === 'open' && !this.settled) {
          // The consumer stopped early (break/return): close the source, which frees its socket.
          state = 'closed';
          await this.source.return(undefined as never);
          this.settle.reject(new Error('stream was closed by the consumer before it ended'));
        }
        state = 'closed';
        return done();
      },
    );
  }

  /**
   * The stream as typed events, in the order they happen: `text-delta`,
   * `reasoning-delta`, `tool-call-start` (id and name known),
   * `tool-call-delta` (a fragment of the arguments' JSON), `tool-call` (the
   * call complete, its arguments parsed), and last `finish` with the finish
   * reason and usage. An error that ends the stream is thrown from the
   * iteration (and rejects `result`); a `break` closes the stream.
   */
  events(): AsyncGenerator<StreamEvent, void, undefined> {
    // A hand-written iterator, as the deltas' own: a generator's await and resumption per event
    // would come on top of theirs, on every delta of every stream a gateway serves.
    type Out = IteratorResult<StreamEvent, void>;
    // A second reader: the first keeps the events (its listener is not replaced), this one fails as iterating twice does.
    if (this.eventsTaken || this.started || this.deltasTaken) return this.deltas(() => true) as unknown as AsyncGenerator<StreamEvent, void, undefined>;
    this.eventsTaken = true;
    const queue: StreamEvent[] = [];
    let read = 0;
    (this.source as EventSource)[EMITS_EVENTS]?.((event) => queue.push(event));
    const deltas = this.deltas();
    // 'open': reading deltas; 'finishing': the deltas ended, the finish event is next; 'closed'.
    let state: 'open' | 'finishing' | 'closed' = 'open';
    /** A delta whose step also produced events: they go first (they came before its text). */
    let text: string | undefined;
    let busy: Promise<Out> | undefined;
    const done = (): Out => ({ value: undefined, done: true });
    const finish = (result: CompletionResult): Out => {
      state = 'closed';
      const event: StreamEvent = { type: 'finish', finishReason: result.finishReason };
      if (result.rawFinishReason !== undefined) event.rawFinishReason = result.rawFinishReason;
      if (result.usage !== undefined) event.usage = result.usage;
      return { value: event, done: false };
    };
    /** The next event at hand, without reading the source; undefined when a read (or the result) is needed. */
    const atHand = (): Out | undefined => {
      if (read < queue.length) return { value: queue[read++]!, done: false };
      queue.length = read = 0;
      if (text !== undefined) {
        const value: StreamEvent = { type: 'text-delta', text };
        text = undefined;
        return { value, done: false };
      }
      return undefined;
    };
    /** An error that ended the stream while events of its last step were still to hand out: thrown after them. */
    let failure: { error: unknown } | undefined;
    const onFail = (error: unknown): Out => {
      const ready = atHand();
      if (!ready) throw error;
      failure = { error };
      return ready;
    };
    const onStep = (step: IteratorResult<string, void>): Out | Promise<Out> => {
      if (step.done) state = 'finishing';
      // An empty step only hands over the events of parts that came without text (see runStream).
      else if (step.value !== '') text = step.value;
      return atHand() ?? (state === 'finishing' ? this.finished.then(finish) : deltas.next().then(onStep, onFail));
    };
    const pull = (): Out | Promise<Out> => {
      if (state === 'closed') return done();
      const ready = atHand();
      if (ready) return ready;
      if (failure) throw failure.error;
      if (state === 'finishing') return this.finished.then(finish);
      return deltas.next().then(onStep, onFail);
    };
    const iterator: AsyncGenerator<StreamEvent, void, undefined> = handIterator<StreamEvent, void>(
      () => {
        // Called again before the last step came back: in turn, as a generator queues it.
        if (busy) return busy.then(() => iterator.next(), () => iterator.next());
        let out: Out | Promise<Out>;
        try {
          out = pull();
        } catch (error) {
          state = 'closed';
          return Promise.reject(error);
        }
        if (!(out instanceof Promise)) return Promise.resolve(out);
        // The bookkeeping goes on a branch of its own, registered before the caller's: the caller's
        // step is the source's, not one more after it.
        const reading = out;
        busy = reading;
        reading.then(
          () => {
            if (busy === reading) busy = undefined;
          },
          () => {
            if (busy === reading) busy = undefined;
            state = 'closed';
          },
        );
        return reading;
      },
      async () => {
        const wasOpen = state === 'open';
        state = 'closed';
        if (wasOpen) await deltas.return();
        return done();
      },
    );
    return iterator;
  }

  private async drain(): Promise<void> {
    try {
      for await (const _ of this) {
        // consume
      }
    } catch {
      // reported through `result`
    }
  }
}
