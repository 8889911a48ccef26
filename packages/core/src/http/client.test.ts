import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { HttpClient } from './client.js';
import { readSse } from './sse.js';
import { readNdjson } from './ndjson.js';
import { parseRetryAfter } from './retry-after.js';
import { listenOnLoopback, providerFailure, type Loopback } from '../__tests__/loopback.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;

let server: http.Server;
let base: string;
const routes = new Map<string, Handler>();
let loopback: Loopback;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const route = routes.get(req.url ?? '');
      if (route) route(req, res, body);
      else res.writeHead(404).end();
    });
  });
  loopback = await listenOnLoopback(server);
  base = loopback.base;
});

afterAll(() => loopback.close());

const client = new HttpClient();
afterAll(() => client.destroy());

const failure = providerFailure;

describe('HttpClient', () => {
  it('posts JSON and parses the answer', async () => {
    routes.set('/echo', (req, res, body) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ got: JSON.parse(body), auth: req.headers.authorization }));
    });
    const res = await client.postJson<{ got: unknown; auth: string }>(`${base}/echo`, { a: 1 }, { headers: { Authorization: 'Bearer k' } });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ got: { a: 1 }, auth: 'Bearer k' });
  });

  it('maps an error status to a ProviderError with status, URL, backend message and retryable', async () => {
    routes.set('/e500', (_q, res) => res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":{"message":"boom inside"}}'));
    const e = await failure(client.postJson(`${base}/e500`, {}));
    expect(e.status).toBe(500);
    expect(e.url).toBe(`${base}/e500`);
    expect(e.retryable).toBe(true);
    expect(e.message).toContain('boom inside');
    expect(e.message).toContain('HTTP 500');
    expect(e.bodyExcerpt).toContain('boom inside');
  });

  it('marks 400 and 401 not retryable and 408/409/429 retryable', async () => {
    for (const [status, retryable] of [[400, false], [401, false], [404, false], [408, true], [409, true], [429, true]] as const) {
      routes.set(`/s${status}`, (_q, res) => res.writeHead(status).end('{"error":"nope"}'));
      const e = await failure(client.postJson(`${base}/s${status}`, {}));
      expect([e.status, e.retryable]).toEqual([status, retryable]);
      expect(e.message).toContain('nope');
    }
  });

  it('reads Retry-After in seconds and as an HTTP date', async () => {
    routes.set('/ra', (_q, res) => res.writeHead(429, { 'retry-after': '7' }).end('{}'));
    expect((await failure(client.postJson(`${base}/ra`, {}))).retryAfterMs).toBe(7000);
    const date = new Date(Date.now() + 20_000).toUTCString();
    routes.set('/rad', (_q, res) => res.writeHead(503, { 'retry-after': date }).end('{}'));
    const ms = (await failure(client.postJson(`${base}/rad`, {}))).retryAfterMs!;
    expect(ms).toBeGreaterThan(15_000);
    expect(ms).toBeLessThanOrEqual(20_000);
  });

  it('prefers retry-after-ms (milliseconds) over Retry-After', async () => {
    expect(parseRetryAfter({ 'retry-after-ms': '1500', 'retry-after': '10' })).toBe(1500);
    routes.set('/ra-ms', (_q, res) => res.writeHead(429, { 'retry-after-ms': '1500', 'retry-after': '10' }).end('{}'));
    expect((await failure(client.postJson(`${base}/ra-ms`, {}))).retryAfterMs).toBe(1500);
  });

  it("never shows the URL's user:password nor a credential query value in an HTTP error", async () => {
    routes.set('/e500-creds?api_key=SECRETVAL&model=m', (_q, res) => res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"boom"}'));
    const e = await failure(client.getJson(`${base.replace('http://', 'http://user:PWSECRET@')}/e500-creds?api_key=SECRETVAL&model=m`));
    expect(e).toMatchObject({ status: 500, reason: 'http' });
    expect(e.message).toContain('HTTP 500');
    for (const shown of [e.message, e.url ?? '']) {
      expect(shown).toContain('/e500-creds?api_key=***&model=m');
      expect(shown).not.toContain('PWSECRET');
      expect(shown).not.toContain('user:');
      expect(shown).not.toContain('SECRETVAL');
    }
  });

  it('reports a 200 body that is not JSON, with an excerpt', async () => {
    routes.set('/garbage', (_q, res) => res.end('{"choices": [oops'));
    const e = await failure(client.postJson(`${base}/garbage`, {}));
    expect(e.reason).toBe('bad_response');
    expect(e.message).toContain('not valid JSON');
    expect(e.message).toContain('{"choices": [oops');
  });

  it('reports a refused connection as retryable, naming the URL', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const e = await failure(client.postJson(`http://127.0.0.1:${port}/x`, {}));
    expect(e.reason).toBe('connection');
    expect(e.retryable).toBe(true);
    expect(e.message).toContain(`http://127.0.0.1:${port}/x`);
    expect(e.message).toContain('connection refused');
  });

  it('detects silence with the idle timeout but lets a slow, live answer finish', async () => {
    routes.set('/silent', () => undefined);
    const e = await failure(client.postJson(`${base}/silent`, {}, { idleTimeoutMs: 150 }));
    expect(e.reason).toBe('idle_timeout');
    expect(e.message).toContain('sent nothing for 0.15 s');

    routes.set('/slow', (_q, res) => {
      res.writeHead(200);
      let n = 0;
      const t = setInterval(() => {
        res.write(n === 0 ? '{"a":' : ' ');
        if (++n === 30) {
          clearInterval(t);
          res.end('1}');
        }
      }, 40);
    });
    // 30 × 40 ms = 1.2 s in all, longer than the idle timeout, but never near 1 s of silence
    // (a gap 25 times shorter: a loaded machine cannot stretch one into a timeout).
    const started = performance.now();
    const res = await client.postJson(`${base}/slow`, {}, { idleTimeoutMs: 1000 });
    expect(res.body).toEqual({ a: 1 });
    expect(performance.now() - started).toBeGreaterThan(1000);
  });

  it('stops at once on abort, as not retryable', async () => {
    routes.set('/hang', () => undefined);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const e = await failure(client.postJson(`${base}/hang`, {}, { signal: controller.signal }));
    expect(e.reason).toBe('aborted');
    expect(e.retryable).toBe(false);
  });

  it('stops on an abort that comes in the same turn as the request, before its listener is set', async () => {
    routes.set('/hang-soon', () => undefined);
    const controller = new AbortController();
    const call = failure(client.postJson(`${base}/hang-soon`, {}, { signal: controller.signal }));
    controller.abort(); // the request is on its way; its abort listener comes after this turn
    const e = await call;
    expect(e.reason).toBe('aborted');
  });

  it('a signal that has already aborted fails the call at once: no connection opened, nothing reaches the server', async () => {
    let connections = 0;
    const paths: string[] = [];
    const counted = await listenOnLoopback(
      http.createServer((req, res) => {
        paths.push(req.url ?? '');
        res.end('{}');
      }),
      () => connections++,
    );
    const cold = new HttpClient(); // no kept-alive socket: any request would have to connect
    const other = new HttpClient();
    try {
      const e = await failure(cold.getJson(`${counted.base}/never`, { signal: AbortSignal.abort() }));
      expect(e).toMatchObject({ reason: 'aborted', retryable: false });
      // A connection the call had opened would be in the server's accept queue before this one.
      await other.getJson(`${counted.base}/after`);
      expect(paths).toEqual(['/after']);
      expect(connections).toBe(1);
    } finally {
      cold.destroy();
      other.destroy();
      await counted.close();
    }
  });

  it('refuses an oversized body', async () => {
    routes.set('/big', (_q, res) => res.end('x'.repeat(100_000)));
    const e = await failure(client.postJson(`${base}/big`, {}, { maxResponseBytes: 10_000 }));
    expect(e.reason).toBe('response_too_large');
  });

  it('streams SSE events as they arrive', async () => {
    routes.set('/sse', (_q, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"n":1}\n\nda');
      setTimeout(() => res.end('ta: {"n":2}\n\nevent: message\ndata: [DONE]\n\n'), 20);
    });
    const res = await client.postStream(`${base}/sse`, {});
    const events = [];
    for await (const e of readSse(res.body)) events.push([e.event, e.data]);
    expect(events).toEqual([[undefined, '{"n":1}'], [undefined, '{"n":2}'], ['message', '[DONE]']]);
  });

  it('reads NDJSON lines and rejects a garbage line', async () => {
    routes.set('/nd', (_q, res) => res.end('{"a":1}\n{"a":2}\n{"a":3}'));
    const res = await client.postStream(`${base}/nd`, {});
    const lines = [];
    for await (const v of readNdjson(res.body, `${base}/nd`)) lines.push(v);
    expect(lines).toEqual([{ a: 1 }, { a: 2 }, { a: 3 }]);

    routes.set('/ndbad', (_q, res) => res.end('{"a":1}\n{"a":\n'));
    const bad = await client.postStream(`${base}/ndbad`, {});
    const read = (async () => {
      for await (const _ of readNdjson(bad.body, `${base}/ndbad`)) void _;
    })();
    const e = await failure(read);
    expect(e.message).toContain('not valid JSON');
  });

  it('turns a reset mid-stream into a retryable connection error', async () => {
    routes.set('/reset', (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"n":1}\n\n');
      setTimeout(() => req.socket.destroy(), 20);
    });
    const res = await client.postStream(`${base}/reset`, {});
    const seen: string[] = [];
    const read = (async () => {
      for await (const e of readSse(res.body)) seen.push(e.data);
    })();
    const e = await failure(read);
    expect(seen).toEqual(['{"n":1}']);
    expect(e.reason).toBe('connection');
    expect(e.retryable).toBe(true);
  });

  it('reuses kept-alive connections', async () => {
    routes.set('/ok', (_q, res) => res.end('{}'));
    const before = new Set(loopback.sockets);
    const c = new HttpClient({ maxSockets: 4 });
    await Promise.all(Array.from({ length: 40 }, () => c.postJson(`${base}/ok`, {})));
    const opened = [...loopback.sockets].filter((s) => !before.has(s)).length;
    c.destroy();
    expect(opened).toBeLessThanOrEqual(4);
  });
});

describe('HttpClient on node:http directly (JSON and bodiless requests)', () => {
  it('sends what got sent: user agent, JSON content type and length, accept-encoding; decodes a gzip answer', async () => {
    const { gzipSync } = await import('node:zlib');
    let seen: http.IncomingHttpHeaders = {};
    routes.set('/direct-headers', (req, res) => {
      seen = req.headers;
      res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(gzipSync(JSON.stringify({ ok: 'é' })));
    });
    const { body } = await client.postJson<{ ok: string }>(`${base}/direct-headers`, { a: 'é' }, { headers: { 'X-Custom': 'yes', 'x-dropped': undefined } });
    expect(body).toEqual({ ok: 'é' });
    expect(seen['user-agent']).toBe('aegis-providers');
    expect(seen['content-type']).toBe('application/json');
    expect(seen['content-length']).toBe(String(Buffer.byteLength(JSON.stringify({ a: 'é' }))));
    expect(seen['accept-encoding']).toBe('gzip, deflate, br');
    expect(seen['x-custom']).toBe('yes');
    expect(seen['x-dropped']).toBeUndefined();
  });

  it('an abort after the whole answer arrived leaves the kept-alive socket to the next call', async () => {
    const peers = new Set<number>();
    routes.set('/direct-reuse', (req, res) => {
      peers.add(req.socket.remotePort!);
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    });
    const fresh = new HttpClient();
    try {
      for (let i = 0; i < 3; i++) {
        const controller = new AbortController();
        await fresh.postJson(`${base}/direct-reuse`, {}, { signal: controller.signal });
        controller.abort(); // the call is over: nothing of it may be cut now
      }
      expect(peers.size).toBe(1);
    } finally {
      fresh.destroy();
    }
  });
});
