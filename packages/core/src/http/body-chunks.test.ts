import { PassThrough, type Readable } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { BodyChunks } from './body-chunks.js';

function reader(stream: Readable, check: (chunk: Buffer) => void = () => undefined) {
  const seen = { left: 0, failed: [] as unknown[] };
  const chunks = new BodyChunks(
    stream,
    check,
    () => seen.left++,
    (error) => {
      seen.failed.push(error);
      return new Error(`mapped: ${(error as Error).message}`);
    },
  );
  return { chunks, seen };
}

describe('BodyChunks', () => {
  it('hands out the chunks, written before and after the read, then the end', async () => {
    const body = new PassThrough();
    const { chunks, seen } = reader(body);
    body.write('one');
    const first = await chunks.next();
    const pending = chunks.next();
    body.write('two');
    const second = await pending;
    body.end();
    expect([first.value?.toString(), second.value?.toString()]).toEqual(['one', 'two']);
    expect(await chunks.next()).toEqual({ value: undefined, done: true });
    expect(await chunks.return()).toEqual({ value: undefined, done: true });
    expect(seen.left).toBe(0); // ended: nothing left to drain
  });

  it('throws the stream’s error through `failed`, to a waiting read and to the next one', async () => {
    const body = new PassThrough();
    const { chunks, seen } = reader(body);
    const pending = chunks.next();
    body.destroy(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    await expect(pending).rejects.toThrow('mapped: socket hang up');
    await expect(chunks.next()).rejects.toThrow('mapped: socket hang up');
    expect(seen.failed).toHaveLength(1);
  });

  it('is a premature close when the stream closes before its end', async () => {
    const body = new PassThrough();
    const { chunks, seen } = reader(body);
    body.write('part');
    await chunks.next();
    const pending = chunks.next();
    body.destroy();
    await expect(pending).rejects.toThrow('mapped: Premature close');
    expect((seen.failed[0] as { code?: string }).code).toBe('ERR_STREAM_PREMATURE_CLOSE');
  });

  it('ends with the error `check` throws for a chunk, which is not handed out', async () => {
    const body = new PassThrough();
    const { chunks, seen } = reader(body, (chunk) => {
      if (chunk.length > 3) throw new Error('too large');
    });
    body.write('abcdef');
    await expect(chunks.next()).rejects.toThrow('mapped: too large');
    expect(seen.failed).toHaveLength(1);
  });

  it('hands a body its reader left before the end to `left` (to end or close it), once', async () => {
    const body = new PassThrough();
    const { chunks, seen } = reader(body);
    body.write('some');
    await chunks.next();
    await chunks.return();
    await chunks.return();
    expect(seen.left).toBe(1);
    expect(body.listenerCount('readable')).toBe(0);
    expect(await chunks.next()).toEqual({ value: undefined, done: true });
  });
});
