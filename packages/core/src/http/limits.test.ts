/**
 * Read limits (limits.ts) against a hostile loopback server: endless lines and
 * events, gzip/deflate/br bombs (bounded by their DECODED size), endless
 * streams, oversized error bodies. Each must end in a typed
 * `response_too_large` ProviderError with the socket closed, never in a
 * buffer that grows until the process dies.
 */
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { brotliCompressSync, constants, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { HttpClient } from './client.js';
import { readNdjson } from './ndjson.js';
import { readSse } from './sse.js';
import { listenWithRoutes, providerFailure, type Loopback, type RouteHandler } from '../__tests__/loopback.js';

const MiB = 1024 * 1024;
/** 1 MiB of zeros, gzipped (about 1 KiB): members of a gzip stream may follow one another. */
const GZIP_MEMBER = gzipSync(Buffer.alloc(MiB));

type Handler = RouteHandler;
let base: string;
const routes = new Map<string, Handler>();
let loopback: Loopback;
const client = new HttpClient();

beforeAll(async () => {
  loopback = await listenWithRoutes(routes);
  base = loopback.base;
});

afterAll(async () => {
  client.destroy();
  await loopback.close();
});

/**
 * Writes `piece` again and again, as fast as the client reads, until the
 * connection closes; resolves then with the bytes written. A client that
 * never stops reading would keep this going forever (the test's timeout).
 */
function endless(res: http.ServerResponse, piece: Buffer, head?: Buffer): Promise<number> {
  return new Promise((resolve) => {
    let written = 0;
    res.on('close', () => resolve(written));
    if (head) res.write(head);
    const pump = (): void => {
      while (!res.destroyed) {
        written += piece.length;
        if (!res.write(piece)) {
          res.once('drain', pump);
          return;
        }
      }
    };
    pump();
  });
}

/** A route whose answer is endless; `closed` resolves when the client has closed the connection. */
function endlessRoute(path: string, headers: http.OutgoingHttpHeaders, piece: Buffer, head?: Buffer, status = 200): { closed: Promise<number> } {
  let done!: (n: number) => void;
  const closed = new Promise<number>((r) => (done = r));
  routes.set(path, (_req, res) => {
    res.writeHead(status, headers);
    void endless(res, piece, head).then(done);
  });
  return { closed };
}

const failure = providerFailure;

async function drainAll(iterable: AsyncIterable<unknown>): Promise<number> {
  let n = 0;
  for await (const _ of iterable) n++;
  return n;
}

describe('one line / event of a stream (maxLineBytes)', () => {
  it('an SSE line that never ends, gzip bomb of zeros: response_too_large, socket closed', async () => {
    const { closed } = endlessRoute('/sse-bomb', { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' }, GZIP_MEMBER, gzipSync('data: {"a":1}\n\ndata: '));
    const response = await client.postStream(`${base}/sse-bomb`, {}, { maxLineBytes: 256 * 1024 });
    const e = await failure(drainAll(readSse(response.body)));
    expect(e).toMatchObject({ reason: 'response_too_large', retryable: false });
    expect(e.message).toContain('max_line_bytes');
    expect(e.message).toContain(`${base}/sse-bomb`);
    expect(await closed).toBeGreaterThan(0);
  });

  it('an SSE event of endless data lines without its blank line: response_too_large', async () => {
    const { closed } = endlessRoute('/sse-lines', { 'content-type': 'text/event-stream' }, Buffer.from('data: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n'.repeat(100)));
    const response = await client.postStream(`${base}/sse-lines`, {}, { maxLineBytes: 64 * 1024 });
    const e = await failure(drainAll(readSse(response.body)));
    expect(e.reason).toBe('response_too_large');
    await closed;
  });

  it('an NDJSON line that never ends (deflate bomb): response_too_large, socket closed', async () => {
    // deflate cannot be concatenated as gzip members can: one member of 64 MiB of 'x' (about 64 KiB) then silence.
    routes.set('/nd-bomb', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson', 'content-encoding': 'deflate' });
      res.end(deflateSync(Buffer.alloc(64 * MiB, 0x78)));
    });
    const response = await client.postStream(`${base}/nd-bomb`, {}, { maxLineBytes: MiB });
    const e = await failure(drainAll(readNdjson(response.body, `${base}/nd-bomb`)));
    expect(e.reason).toBe('response_too_large');
    expect(e.message).toContain('1 MiB');
  });

  it('lines and events up to the limit pass, whatever the chunking (a boundary split over chunks, one byte at a time)', async () => {
    const event = (i: number): string => `data: ${JSON.stringify({ i, pad: 'p'.repeat(150) })}\r\n\r\n`;
    const text = Array.from({ length: 60 }, (_, i) => event(i)).join('');
    async function* bytes(): AsyncGenerator<Uint8Array> {
      const all = new TextEncoder().encode(text);
      for (let i = 0; i < all.length; i++) yield all.subarray(i, i + 1);
    }
    const events: unknown[] = [];
    for await (const e of readSse(bytes(), { maxLineBytes: 1024 })) events.push(JSON.parse(e.data));
    expect(events).toHaveLength(60);

    const lines = Array.from({ length: 60 }, (_, i) => JSON.stringify({ i, pad: 'p'.repeat(900) }) + '\n').join('');
    async function* ndBytes(): AsyncGenerator<Uint8Array> {
      const all = new TextEncoder().encode(lines);
      for (let i = 0; i < all.length; i += 7) yield all.subarray(i, i + 7);
    }
    expect(await drainAll(readNdjson(ndBytes(), 'http://x/', { maxLineBytes: 1024 }))).toBe(60);
    expect(await failure(drainAll(readNdjson(ndBytes(), 'http://x/', { maxLineBytes: 900 })))).toMatchObject({ reason: 'response_too_large' });
  });

  it('the default line limit (8 MiB) applies to a source that is not the client\'s body', async () => {
    async function* zeros(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < 20; i++) yield new Uint8Array(MiB);
    }
    expect(await failure(drainAll(readNdjson(zeros(), 'http://x/')))).toMatchObject({ reason: 'response_too_large' });
  });

  it('a 48 MB NDJSON line in 16 KiB chunks is parsed in one pass (the old re-split of the whole line per chunk took minutes)', async () => {
    const line = Buffer.from(JSON.stringify({ s: 'x'.repeat(48 * 1000 * 1000) }) + '\n');
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < line.length; i += 16 * 1024) yield line.subarray(i, i + 16 * 1024);
    }
    const values: { s: string }[] = [];
    for await (const v of readNdjson<{ s: string }>(chunks(), 'http://x/', { maxLineBytes: 64 * MiB })) values.push(v);
    expect(values).toHaveLength(1);
    expect(values[0]!.s.length).toBe(48 * 1000 * 1000);
  });
});

describe('a streamed body in total (maxStreamBytes)', () => {
  it('an endless stream of valid lines is stopped at the limit, socket closed', async () => {
    const { closed } = endlessRoute('/nd-endless', { 'content-type': 'application/x-ndjson' }, Buffer.from('{"message":{"content":""},"done":false}\n'.repeat(200)));
    const response = await client.postStream(`${base}/nd-endless`, {}, { maxStreamBytes: 2 * MiB });
    const e = await failure(drainAll(readNdjson(response.body, `${base}/nd-endless`)));
    expect(e).toMatchObject({ reason: 'response_too_large', status: 200 });
    expect(e.message).toContain('max_stream_bytes');
    await closed;
  });

  it('a finite stream three times the limit: response_too_large, and the reader is handed no more than the limit', async () => {
    routes.set('/stream-3x', (_req, res) => res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.alloc(3 * MiB, 0x78)));
    const response = await client.postStream(`${base}/stream-3x`, {}, { maxStreamBytes: MiB });
    let handed = 0;
    const e = await failure(
      (async () => {
        for await (const chunk of response.body) handed += chunk.length;
      })(),
    );
    expect(e).toMatchObject({ reason: 'response_too_large', retryable: false, status: 200 });
    expect(e.message).toContain('the stream is longer than 1 MiB (max_stream_bytes)');
    expect(handed).toBeLessThanOrEqual(MiB);
  });
});

describe('a whole body (maxResponseBytes), counted decoded', () => {
  it('a JSON body as an endless gzip bomb: response_too_large after the decoded limit, socket closed', async () => {
    const { closed } = endlessRoute('/json-bomb', { 'content-type': 'application/json', 'content-encoding': 'gzip' }, GZIP_MEMBER);
    const e = await failure(client.postJson(`${base}/json-bomb`, {}, { maxResponseBytes: 4 * MiB }));
    expect(e).toMatchObject({ reason: 'response_too_large', retryable: false, status: 200 });
    expect(e.message).toContain('max_response_bytes');
    // 4 MiB decoded is about 4 KiB on the wire: what was written past that sat in socket buffers.
    expect(await closed).toBeLessThan(64 * MiB);
  });

  it('audio bytes as a brotli bomb: response_too_large', async () => {
    routes.set('/br-bomb', (_req, res) => {
      res.writeHead(200, { 'content-type': 'audio/mpeg', 'content-encoding': 'br' });
      res.end(brotliCompressSync(Buffer.alloc(8 * MiB), { params: { [constants.BROTLI_PARAM_QUALITY]: 1 } }));
    });
    const e = await failure(client.postForBytes(`${base}/br-bomb`, {}, { maxResponseBytes: MiB }));
    expect(e.reason).toBe('response_too_large');
  });

  it('a body announced larger than the limit is refused before it is read', async () => {
    let written = 0;
    routes.set('/announced', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(100 * MiB) });
      res.write('{"a":');
      written = 5;
    });
    const e = await failure(client.postJson(`${base}/announced`, {}, { maxResponseBytes: MiB }));
    expect(e.reason).toBe('response_too_large');
    expect(written).toBe(5);
  });

  it('an error body as an endless gzip bomb: the HTTP error, from its first 64 KiB only', async () => {
    const { closed } = endlessRoute(
      '/error-bomb',
      { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      GZIP_MEMBER,
      gzipSync('{"error":{"message":"overloaded'),
      503,
    );
    const e = await failure(client.postJson(`${base}/error-bomb`, {}));
    expect(e).toMatchObject({ status: 503, reason: 'http' });
    expect((e.bodyExcerpt ?? '').length).toBeLessThanOrEqual(501);
    await closed;
  });

  it('an endless error body that does not compress: only its first 64 KiB is read, whatever max_response_bytes says', async () => {
    // Random bytes in gzip members: the decoded size is about the size on the wire, so what the
    // server gets off is what the client read plus what the socket buffers hold (a few MiB).
    const member = gzipSync(randomBytes(256 * 1024), { level: 1 });
    const { closed } = endlessRoute('/error-flood', { 'content-type': 'application/json', 'content-encoding': 'gzip' }, member, gzipSync('{"error":{"message":"overloaded'), 503);
    const e = await failure(client.postJson(`${base}/error-flood`, {}, { maxResponseBytes: 256 * MiB }));
    expect(e).toMatchObject({ status: 503, reason: 'http' });
    // Read up to max_response_bytes (256 MiB) instead of 64 KiB, it would be 256 MiB and more.
    expect(await closed).toBeLessThan(64 * MiB);
  });
});
