/**
 * The stream readers and body reading that bench/ made faster (hand-written
 * iterators instead of async generators, batch parsing, reading bodies with
 * events): the behaviour the generators had, kept.
 */
import http from 'node:http';
import { listenOnLoopback, type Loopback } from '../__tests__/loopback.js';
import { setTimeout as realTimeout } from 'node:timers';
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { HttpClient } from './client.js';
import { readNdjson, readNdjsonBatches } from './ndjson.js';
import { readSse, readSseBatches } from './sse.js';
import { ProviderError } from '../errors/provider-error.js';

async function* chunksOf(...pieces: string[]): AsyncGenerator<Uint8Array> {
  for (const piece of pieces) yield new TextEncoder().encode(piece);
}

async function collect<T>(iterable: AsyncIterable<T>): Promise<{ values: T[]; error?: unknown }> {
  const values: T[] = [];
  try {
    for await (const v of iterable) values.push(v);
    return { values };
  } catch (error) {
    return { values, error };
  }
}

describe('readNdjson', () => {
  it('yields every line of many, across chunk boundaries, skipping blank lines, with a last line without newline', async () => {
    const text = Array.from({ length: 100 }, (_, i) => JSON.stringify({ i }) + (i % 7 === 0 ? '\r\n\n' : '\n')).join('') + '{"i":100}';
    const cut = [0, 5, 333, 334, 900, text.length];
    const pieces = cut.slice(1).map((end, k) => text.slice(cut[k], end));
    const { values, error } = await collect(readNdjson<{ i: number }>(chunksOf(...pieces), 'http://x/api'));
    expect(error).toBeUndefined();
    expect(values.map((v) => v.i)).toEqual(Array.from({ length: 101 }, (_, i) => i));
  });

  it('hands out the lines before a garbage one, then fails naming the URL, and closes the source', async () => {
    let closed = false;
    async function* source() {
      try {
        yield Array.from({ length: 40 }, (_, i) => `{"i":${i}}\n`).join('') + '{"i":\n{"i":99}\n';
        yield '{"never":1}\n';
      } finally {
        closed = true;
      }
    }
    const { values, error } = await collect(readNdjson<{ i: number }>(source(), 'http://x/api/chat?key=secret'));
    expect(values).toHaveLength(40);
    expect(ProviderError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain('not valid JSON');
    expect((error as Error).message).not.toContain('secret');
    expect(closed).toBe(true);
  });

  it('closes the source when the consumer stops early', async () => {
    let closed = false;
    async function* source() {
      try {
        yield '{"a":1}\n{"a":2}\n';
        yield '{"a":3}\n';
      } finally {
        closed = true;
      }
    }
    for await (const v of readNdjson(source(), 'http://x')) {
      expect(v).toEqual({ a: 1 });
      break;
    }
    expect(closed).toBe(true);
  });

  it('drops a last line cut short (no newline, not JSON): it ends as a truncated stream, without an error of its own', async () => {
    const iterator = readNdjson<{ i: number }>(chunksOf('{"i":1}\n{"i":2}\n{"i":3,"te', 'xt":"cut her'), 'http://x/api');
    const { values, error } = await collect(iterator);
    expect(error).toBeUndefined();
    expect(values).toEqual([{ i: 1 }, { i: 2 }]);
    // The same a batch at a time.
    const batches = await collect(readNdjsonBatches<{ i: number }>(chunksOf('{"i":1}\n{"i":2}\n{"i":3,"te'), 'http://x/api'));
    expect([batches.values.flat(), batches.error]).toEqual([[{ i: 1 }, { i: 2 }], undefined]);
  });

  it('a garbage line that has its newline is still bad_response', async () => {
    const { error } = await collect(readNdjson(chunksOf('{"i":1}\nnot json\n'), 'http://x/api'));
    expect(error).toMatchObject({ reason: 'bad_response', retryable: false });
  });

  it('passes on an error of the source, after what came before it', async () => {
    async function* source() {
      yield '{"a":1}\n';
      throw new Error('reset');
    }
    const { values, error } = await collect(readNdjson(source(), 'http://x'));
    expect(values).toEqual([{ a: 1 }]);
    expect((error as Error).message).toBe('reset');
  });
});

describe('readSse', () => {
  it('yields events split anywhere, keeps an unterminated last event back, and ends', async () => {
    const iterator = readSse(chunksOf('data: a\n', '\ndata: b\n\nevent: x\nda', 'ta: c\n\n', 'data: cut'));
    const { values, error } = await collect(iterator);
    expect(error).toBeUndefined();
    expect(values.map((e) => [e.event, e.data])).toEqual([
      [undefined, 'a'],
      [undefined, 'b'],
      ['x', 'c'],
    ]);
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
  });
});

describe('batch readers', () => {
  it('readNdjsonBatches: the lines of a chunk together (16 first, then up to 128), every line once, in order', async () => {
    const lines = (from: number, count: number) => Array.from({ length: count }, (_, i) => `{"i":${from + i}}\n`).join('');
    const first = lines(0, 40) + '{"i":';
    const { values, error } = await collect(readNdjsonBatches<{ i: number }>(chunksOf(first, '40}\n', lines(41, 300)), 'http://x/api'));
    expect(error).toBeUndefined();
    expect(values.map((batch) => batch.length)).toEqual([16, 24, 1, 128, 128, 44]);
    expect(values.flat().map((v) => v.i)).toEqual(Array.from({ length: 341 }, (_, i) => i));
  });

  it('readNdjsonBatches: the lines before a garbage one come as a batch, then the error, and the source is closed', async () => {
    let closed = false;
    async function* source() {
      try {
        yield '{"a":1}\n{"a":2}\nnot json\n{"a":3}\n';
        yield '{"never":1}\n';
      } finally {
        closed = true;
      }
    }
    const { values, error } = await collect(readNdjsonBatches<{ a: number }>(source(), 'http://x/api/chat'));
    expect(values).toEqual([[{ a: 1 }, { a: 2 }]]);
    expect(ProviderError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain('http://x/api/chat sent data that is not valid JSON: not json');
    expect(closed).toBe(true);
  });

  it('readSseBatches: the events of a chunk together; a consumer that stops closes the source', async () => {
    let closed = false;
    async function* source() {
      try {
        yield 'data: a\n\ndata: b\n\nda';
        yield 'ta: c\n\n';
        yield 'data: d\n\n';
      } finally {
        closed = true;
      }
    }
    const batches: string[][] = [];
    for await (const batch of readSseBatches(source())) {
      batches.push(batch.map((e) => e.data));
      if (batches.length === 2) break;
    }
    expect(batches).toEqual([['a', 'b'], ['c']]);
    expect(closed).toBe(true);
  });

  it('reads a source that has its chunks at hand (ReadyChunks) without waiting on it, and waits once it has none', async () => {
    const held = ['data: a\n\n', 'data: b\n\ndata: c\n\n'];
    const later = ['data: d\n\n'];
    const calls = { ready: 0, next: 0 };
    const source = {
      ready: () => {
        calls.ready++;
        const chunk = held.shift();
        return chunk === undefined ? undefined : { value: chunk, done: false };
      },
      next: async () => {
        calls.next++;
        const chunk = later.shift();
        return chunk === undefined ? { value: undefined, done: true } : { value: chunk, done: false };
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
    const batches = readSseBatches(source as unknown as AsyncIterable<string>);
    expect((await batches.next()).value?.map((e) => e.data)).toEqual(['a']);
    expect((await batches.next()).value?.map((e) => e.data)).toEqual(['b', 'c']);
    expect(calls).toEqual({ ready: 2, next: 0 });
    expect((await batches.next()).value?.map((e) => e.data)).toEqual(['d']);
    expect(await batches.next()).toEqual({ value: undefined, done: true });
    expect(calls.next).toBe(2); // d, then the end: nothing was at hand for either
  });
});

describe('HttpClient bodies and streams', () => {
  let server: http.Server;
  let base: string;
  let loopback: Loopback;
  let opened = 0;
  const client = new HttpClient();

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.url === '/ndjson' || req.url === '/ndjson-late-end') {
          res.writeHead(200, { 'content-type': 'application/x-ndjson' });
          res.write(Array.from({ length: 300 }, (_, i) => JSON.stringify({ i, done: i === 299 }) + '\n').join(''));
          // The body's end (chunked encoding's last chunk) a moment after the end marker.
          if (req.url === '/ndjson-late-end') realTimeout(() => res.end(), 10);
          else res.end();
        } else if (req.url === '/endless') {
          res.writeHead(200, { 'content-type': 'application/x-ndjson' });
          res.write('{"i":0,"done":true}\n');
          const timer = setInterval(() => res.write('{"more":1}\n'), 5);
          res.on('close', () => clearInterval(timer));
        } else if (req.url === '/cut') {
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
          res.write('{"partial":');
          realTimeout(() => res.socket?.destroy(), 20);
        } else {
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
        }
      });
    });
    loopback = await listenOnLoopback(server, () => opened++);
    base = loopback.base;
  });

  afterAll(async () => {
    client.destroy();
    await loopback.close();
  });

  // The grace after a reader stops is a timer (client.ts, DRAIN_GRACE_MS = 50): it is faked
  // here (setTimeout only: sockets, intervals and setImmediate stay real), so it fires when a
  // test advances it, never because a loaded machine was slow to read the body's end.
  afterEach(() => {
    jest.useRealTimers();
  });
  const fakeGraceTimer = () =>
    jest.useFakeTimers({
      doNotFake: ['Date', 'hrtime', 'nextTick', 'performance', 'queueMicrotask', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval'],
    });

  /** Polls (on real setImmediate turns, 10 s at most) until `check` holds. */
  async function until(check: () => boolean, what: string): Promise<void> {
    const end = performance.now() + 10_000;
    while (!check()) {
      if (performance.now() > end) throw new Error(`never happened: ${what}`);
      await new Promise((r) => setImmediate(r));
    }
  }
  /** Kept-alive sockets back in the client's pool (the agent is private: read for the test). */
  const pooled = (): number => {
    const agent = (client as unknown as { agent?: { http: http.Agent } }).agent?.http;
    return Object.values(agent?.freeSockets ?? {}).reduce((n, list) => n + (list?.length ?? 0), 0);
  };

  it('keeps the connection of a stream read up to its end marker, a moment before the body ends', async () => {
    fakeGraceTimer();
    const before = opened;
    for (let n = 0; n < 5; n++) {
      const response = await client.postStream(`${base}/ndjson`, {});
      for await (const line of readNdjson<{ done: boolean }>(response.body, `${base}/ndjson`)) if (line.done) break;
      await until(() => pooled() === 1, 'the socket went back to the pool');
    }
    expect(opened - before).toBe(1);
    expect((await client.postJson(`${base}/json`, {})).body).toEqual({ ok: true });
  });

  it('keeps it too when the body ends a few milliseconds after the end marker was read', async () => {
    fakeGraceTimer();
    const read = async (): Promise<void> => {
      const response = await client.postStream(`${base}/ndjson-late-end`, {});
      for await (const line of readNdjson<{ done: boolean }>(response.body, `${base}/ndjson`)) if (line.done) break;
      await until(() => pooled() === 1, 'the socket went back to the pool once the body ended');
    };
    await read();
    const before = opened;
    for (let n = 0; n < 5; n++) await read();
    expect(opened - before).toBe(0);
  });

  it('closes a body that goes on after its reader stopped, once the short grace (50 ms) has passed', async () => {
    fakeGraceTimer();
    const response = await client.postStream(`${base}/endless`, {});
    for await (const line of readNdjson<{ done: boolean }>(response.body, `${base}/endless`)) if (line.done) break;
    const open = loopback.sockets.size;
    await until(() => jest.getTimerCount() > 0, 'the grace timer started');
    jest.advanceTimersByTime(50);
    await until(() => loopback.sockets.size === open - 1, 'the server saw the connection closed');
    expect(loopback.sockets.size).toBe(open - 1);
  });

  it('reports a body cut short as a retryable connection error', async () => {
    const e = await client.postJson(`${base}/cut`, {}).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(ProviderError.isInstance(e)).toBe(true);
    expect((e as ProviderError).reason).toBe('connection');
    expect((e as ProviderError).retryable).toBe(true);
  });
});

describe('decoding (string_decoder)', () => {
  async function* bytesOf(bytes: Uint8Array, step: number): AsyncGenerator<Uint8Array> {
    for (let i = 0; i < bytes.length; i += step) yield bytes.subarray(i, i + step);
  }

  it('completes characters cut between chunks and drops a leading BOM, in both readers', async () => {
    const text = '\ufeff{"t":"€ 中文 😀"}\n{"t":"ü"}';
    const bytes = new TextEncoder().encode(text);
    for (const step of [1, 2, 3, 5]) {
      const { values, error } = await collect(readNdjson<{ t: string }>(bytesOf(bytes, step), 'http://x/'));
      expect(error).toBeUndefined();
      expect(values.map((v) => v.t)).toEqual(['€ 中文 😀', 'ü']);
    }
    const sse = new TextEncoder().encode('\ufeffdata: €😀\n\ndata: 中\n\n');
    for (const step of [1, 2, 3]) {
      const { values } = await collect(readSse(bytesOf(sse, step)));
      expect(values.map((e) => e.data)).toEqual(['€😀', '中']);
    }
  });
});
