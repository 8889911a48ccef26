/**
 * An async generator object from its `next` and `return`: what core's
 * hand-written stream iterators share (they replace generators on the path of
 * every delta, where a generator's await per `yield` shows). `throw` closes
 * the iterator, then throws, as a generator suspended at a `yield` does.
 *
 * A class rather than an object literal: a literal with a computed
 * `Symbol.asyncIterator` key and three closures was a third of the cost of
 * opening a stream (bench/src/gateway-findings.md).
 */
class HandIterator<T, R> implements AsyncGenerator<T, R, undefined> {
  constructor(
    readonly next: () => Promise<IteratorResult<T, R>>,
    private readonly close: (value?: R) => Promise<IteratorResult<T, R>>,
  ) {}

  return(value?: R | PromiseLike<R>): Promise<IteratorResult<T, R>> {
    return this.close(value as R);
  }

  async throw(error: unknown): Promise<IteratorResult<T, R>> {
    await this.close();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}

export function handIterator<T, R>(
  next: () => Promise<IteratorResult<T, R>>,
  close: (value?: R) => Promise<IteratorResult<T, R>>,
): AsyncGenerator<T, R, undefined> {
  return new HandIterator(next, close);
}
