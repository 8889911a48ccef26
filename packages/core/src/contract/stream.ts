import type { CompletionResult } from './results.js';

/**
 * A streamed completion: iterate it for text deltas as they arrive; `result`
 * resolves with the final result (whose `text` is exactly the concatenated
 * deltas) once the stream has ended, or rejects with the error that ended it.
 * Reading `result` without iterating drains the stream.
 */
export class CompletionStream implements AsyncIterable<string> {
  private readonly source: AsyncGenerator<string, CompletionResult, undefined>;
  private started = false;
  private received = '';
  private settle!: { resolve(r: CompletionResult): void; reject(e: unknown): void };
  private readonly finished: Promise<CompletionResult>;

  constructor(source: AsyncGenerator<string, CompletionResult, undefined>) {
    this.source = source;
    this.finished = new Promise<CompletionResult>((resolve, reject) => {
      this.settle = { resolve, reject };
    });
    // The caller may only iterate and catch the error there; never report it twice as unhandled.
    this.finished.catch(() => undefined);
  }

  /** The text received so far. */
  get text(): string {
    return this.received;
  }

  get result(): Promise<CompletionResult> {
    if (!this.started) void this.drain();
    return this.finished;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<string, void, undefined> {
    if (this.started) throw new Error('a CompletionStream can be iterated only once');
    this.started = true;
    let done = false;
    try {
      while (true) {
        const step = await this.source.next();
        if (step.done) {
          done = true;
          this.settle.resolve({ ...step.value, text: this.received });
          return;
        }
        this.received += step.value;
        yield step.value;
      }
    } catch (error) {
      done = true;
      this.settle.reject(error);
      throw error;
    } finally {
      if (!done) {
        // The consumer stopped early (break/return): close the source, which frees its socket.
        await this.source.return(undefined as never);
        this.settle.reject(new Error('stream was closed by the consumer before it ended'));
      }
    }
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
