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
});
