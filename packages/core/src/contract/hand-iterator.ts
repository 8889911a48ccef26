/**
 * An async generator object from its `next` and `return`: what core's
 * hand-written stream iterators share (they replace generators on the path of
 * every delta, where a generator's await per `yield` shows). `throw` closes
 * the iterator, then throws, as a generator suspended at a `yield` does.
 */
export function handIterator<T, R>(
  next: () => Promise<IteratorResult<T, R>>,
  close: (value?: R) => Promise<IteratorResult<T, R>>,
): AsyncGenerator<T, R, undefined> {
  const iterator: AsyncGenerator<T, R, undefined> = {
    next,
    return: (value) => close(value as R),
    throw: async (error: unknown) => {
      await close();
      throw error;
    },
    [Symbol.asyncIterator]: () => iterator,
  };
  return iterator;
}
