import { describe, expect, it } from '@jest/globals';
import { streamDeltas, type DeltaStep, type StreamItem } from './deltas.js';

async function* batchesOf<I>(...batches: I[][]): AsyncGenerator<I[], undefined, undefined> {
  for (const batch of batches) yield batch;
  return undefined;
}

/** Every value the plugin stream yields (the batches as handed out), and its return value. */
async function collect<I>(batches: AsyncIterable<I[]>, step: DeltaStep<I>): Promise<{ yielded: (readonly StreamItem[])[]; end: unknown }> {
  const stream = streamDeltas(batches, step);
  const yielded: (readonly StreamItem[])[] = [];
  for (;;) {
    const next = await stream.next();
    if (next.done) return { yielded, end: next.value };
    yielded.push(next.value);
  }
}

const textStep: DeltaStep<string> = (item, deltas) => {
  if (item === '[end]') return { finishReason: 'stop' };
  if (item !== '') deltas.push(item);
  return undefined;
};

describe('streamDeltas', () => {
  it('hands out the stream’s first delta on its own, then every batch whole', async () => {
    const { yielded, end } = await collect(batchesOf(['a', 'b', 'c'], ['d', 'e'], ['f', '[end]']), textStep);
    expect(yielded).toEqual([['a'], ['b', 'c'], ['d', 'e'], ['f']]);
    expect(end).toEqual({ finishReason: 'stop' });
  });

  it('splits at the first item that carries text, not at the first item (a role-only chunk first)', async () => {
    const { yielded } = await collect(batchesOf(['', 'a', 'b'], ['c', '[end]']), textStep);
    expect(yielded).toEqual([['a'], ['b'], ['c']]);
  });

  it('keeps the first batch whole when its first delta is its last item, and splits a later batch when the first ones had no text', async () => {
    expect((await collect(batchesOf(['', 'a'], ['b', 'c', '[end]']), textStep)).yielded).toEqual([['a'], ['b', 'c']]);
    expect((await collect(batchesOf(['', ''], ['a', 'b', '[end]']), textStep)).yielded).toEqual([['a'], ['b']]);
  });

  it('ends at the item that ends the stream, after handing out the deltas before it', async () => {
    const { yielded, end } = await collect(batchesOf(['a', '[end]', 'never']), textStep);
    expect(yielded).toEqual([['a']]);
    expect(end).toEqual({ finishReason: 'stop' });
  });

  it('hands out the deltas before an item that throws, then throws', async () => {
    const step: DeltaStep<string> = (item, deltas) => {
      if (item === 'bad') throw new Error('garbage');
      deltas.push(item);
    };
    const stream = streamDeltas(batchesOf(['a', 'b', 'c', 'bad', 'd']), step);
    expect((await stream.next()).value).toEqual(['a']);
    expect((await stream.next()).value).toEqual(['b', 'c']);
    await expect(stream.next()).rejects.toThrow('garbage');
  });

  it('returns undefined when the items run out before one ends the stream (a truncated stream)', async () => {
    expect((await collect(batchesOf(['a', 'b']), textStep)).end).toBeUndefined();
  });

  /** Batches that record whether they were closed (`return()`), as a reader closes its body. */
  function closable<I>(...batches: I[][]) {
    const log = { closed: 0 };
    let i = 0;
    const iterator: AsyncIterableIterator<I[]> & { return(): Promise<IteratorResult<I[]>> } = {
      next: async () => (i < batches.length ? { value: batches[i++]!, done: false } : { value: undefined, done: true }),
      return: async () => {
        log.closed++;
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    return { iterator, log };
  }

  it('closes the batches when the stream ends at an item, fails at one or is returned early; not when they run out', async () => {
    const ended = closable(['a', '[end]', 'never']);
    expect((await collect(ended.iterator, textStep)).end).toEqual({ finishReason: 'stop' });
    expect(ended.log.closed).toBe(1);

    const ranOut = closable(['a'], ['b']);
    expect((await collect(ranOut.iterator, textStep)).end).toBeUndefined();
    expect(ranOut.log.closed).toBe(0);

    const failing = closable(['bad']);
    const step: DeltaStep<string> = () => {
      throw new Error('garbage');
    };
    await expect(streamDeltas(failing.iterator, step).next()).rejects.toThrow('garbage');
    expect(failing.log.closed).toBe(1);

    const early = closable(['a', 'b'], ['c']);
    const stream = streamDeltas(early.iterator, textStep);
    expect((await stream.next()).value).toEqual(['a']);
    expect(await stream.return(undefined)).toEqual({ value: undefined, done: true });
    expect(early.log.closed).toBe(1);
    expect(await stream.next()).toEqual({ value: undefined, done: true });
  });

  it('answers calls made before the last one came back in order, as a generator queues them', async () => {
    const stream = streamDeltas(batchesOf(['a', 'b'], ['c'], ['[end]']), textStep);
    const steps = await Promise.all([stream.next(), stream.next(), stream.next(), stream.next()]);
    expect(steps).toEqual([
      { value: ['a'], done: false },
      { value: ['b'], done: false },
      { value: ['c'], done: false },
      { value: { finishReason: 'stop' }, done: true },
    ]);
  });
});
