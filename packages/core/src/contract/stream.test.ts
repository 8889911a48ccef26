import { describe, expect, it } from '@jest/globals';
import { CompletionStream, EMITS_EVENTS, type EventSource } from './stream.js';
import type { CompletionResult } from './results.js';
import type { StreamEvent } from './stream-events.js';

/** A source that yields `deltas` (emitting `events[i]` just before delta i), then ends with `result`; records whether it was closed. */
function sourceOf(deltas: string[], events: StreamEvent[][] = [], fail?: Error) {
  let listener: ((event: StreamEvent) => void) | undefined;
  const state = { returned: false, reads: 0 };
  let i = 0;
  const source: AsyncGenerator<string, CompletionResult, undefined> & EventSource = {
    next: async () => {
      state.reads++;
      for (const event of events[i] ?? []) listener?.(event);
      if (i < deltas.length) return { value: deltas[i++]!, done: false };
      if (fail) throw fail;
      return { value: { text: deltas.join(''), finishReason: 'stop', usage: { promptTokens: 1, completionTokens: 2 } }, done: true };
    },
    return: async (value) => {
      state.returned = true;
      return { value: value as CompletionResult, done: true };
    },
    throw: async (error) => {
      throw error;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
    [EMITS_EVENTS]: (l) => {
      listener = l;
    },
  };
  return { source, state };
}

async function all(events: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

describe('CompletionStream.events()', () => {
  it('hands out the events of a step before its text, then the finish with usage', async () => {
    const reasoning: StreamEvent = { type: 'reasoning-delta', text: 'think' };
    const { source } = sourceOf(['a', 'b'], [[reasoning], []]);
    expect(await all(new CompletionStream(source).events())).toEqual([
      reasoning,
      { type: 'text-delta', text: 'a' },
      { type: 'text-delta', text: 'b' },
      { type: 'finish', finishReason: 'stop', usage: { promptTokens: 1, completionTokens: 2 } },
    ]);
  });

  it('answers calls made before the last one came back in turn, as a generator does', async () => {
    const { source } = sourceOf(['a', 'b']);
    const events = new CompletionStream(source).events();
    const steps = await Promise.all([events.next(), events.next(), events.next(), events.next()]);
    expect(steps.map((s) => (s.done ? 'done' : s.value.type === 'text-delta' ? s.value.text : s.value.type))).toEqual(['a', 'b', 'finish', 'done']);
  });

  it('closes the source when the reader stops early, and ends', async () => {
    const { source, state } = sourceOf(['a', 'b', 'c']);
    const events = new CompletionStream(source).events();
    for await (const e of events) if (e.type === 'text-delta') break;
    expect(state.returned).toBe(true);
    expect(await events.next()).toEqual({ value: undefined, done: true });
  });

  it('throws the error that ends the stream, after the deltas before it, and rejects `result`', async () => {
    const { source } = sourceOf(['a'], [], new Error('reset'));
    const stream = new CompletionStream(source);
    const events = stream.events();
    expect(await events.next()).toEqual({ value: { type: 'text-delta', text: 'a' }, done: false });
    await expect(events.next()).rejects.toThrow('reset');
    await expect(stream.result).rejects.toThrow('reset');
    expect(await events.next()).toEqual({ value: undefined, done: true });
  });

  it('a second events() fails on its first read and leaves the first reader its events', async () => {
    const start: StreamEvent = { type: 'tool-call-start', index: 0, id: 'c1', name: 'lookup' };
    const { source } = sourceOf(['a'], [[start]]);
    const stream = new CompletionStream(source);
    const first = stream.events();
    const second = stream.events();
    await expect(second.next()).rejects.toThrow('a CompletionStream can be iterated only once');
    expect((await all(first)).map((e) => e.type)).toEqual(['tool-call-start', 'text-delta', 'finish']);
  });

  it('iterating the deltas beside events() fails, and events() still reads the whole stream', async () => {
    const { source } = sourceOf(['a', 'b']);
    const stream = new CompletionStream(source);
    const events = stream.events();
    await expect(stream[Symbol.asyncIterator]().next()).rejects.toThrow('a CompletionStream can be iterated only once');
    expect((await all(events)).map((e) => (e.type === 'text-delta' ? e.text : e.type))).toEqual(['a', 'b', 'finish']);
  });
  it('events() after the deltas\' iterator was made (not yet read) fails; the deltas never see an empty step', async () => {
    const { source } = sourceOf(['a', 'b'], [[{ type: 'reasoning-delta', text: 'think' }]]);
    const stream = new CompletionStream(source);
    const deltas = stream[Symbol.asyncIterator]();
    await expect(stream.events().next()).rejects.toThrow('a CompletionStream can be iterated only once');
    const seen: string[] = [];
    for (let step = await deltas.next(); !step.done; step = await deltas.next()) seen.push(step.value);
    expect(seen).toEqual(['a', 'b']);
  });
});

describe('CompletionStream iteration', () => {
  it('is once: a second iterator fails at its first read, beside the first one or after it, and takes no delta', async () => {
    const { source, state } = sourceOf(['a', 'b']);
    const stream = new CompletionStream(source);
    const first = stream[Symbol.asyncIterator]();
    const second = stream[Symbol.asyncIterator]();
    expect(await first.next()).toEqual({ value: 'a', done: false });
    await expect(second.next()).rejects.toThrow('a CompletionStream can be iterated only once');
    expect(await first.next()).toEqual({ value: 'b', done: false });
    expect((await first.next()).done).toBe(true);
    const after: string[] = [];
    await expect(
      (async () => {
        for await (const delta of stream) after.push(delta);
      })(),
    ).rejects.toThrow('iterated only once');
    expect(after).toEqual([]);
    expect(state.reads).toBe(3);
    expect((await stream.result).text).toBe('ab');
  });
});

describe('CompletionStream.result', () => {
  it('may be taken before the stream is iterated in the same turn: the reader gets every delta', async () => {
    const { source } = sourceOf(['a', 'b']);
    const stream = new CompletionStream(source);
    const result = stream.result;
    const deltas: string[] = [];
    for await (const delta of stream) deltas.push(delta);
    expect(deltas).toEqual(['a', 'b']);
    expect((await result).text).toBe('ab');
  });

  it('read alone, drains the stream', async () => {
    const { source, state } = sourceOf(['a', 'b']);
    expect((await new CompletionStream(source).result).text).toBe('ab');
    expect(state.reads).toBe(3);
  });
});

