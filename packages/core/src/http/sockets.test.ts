/**
 * Kept-alive sockets of the HTTP client against loopback servers that count
 * their connections and requests: idle sockets are closed before a server
 * closes them (and sooner when its Keep-Alive hint says so), and a request
 * that meets a socket the server closed while it sat idle is sent once more on
 * a new connection, only when no byte of an answer arrived.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { DEFAULT_FREE_SOCKET_TIMEOUT_MS, HttpClient } from './client.js';
import { readSse } from './sse.js';
import { listenOnLoopback, providerFailure, type Loopback } from '../__tests__/loopback.js';

/** What the server does with the n-th request (1-based) of a connection. */
type Behaviour = (n: number, req: http.IncomingMessage, res: http.ServerResponse) => void;

interface Counting {
  base: string;
  /** Connections opened, in order; each one's requests. */
  connections: { socket: Socket; requests: number; closed: Promise<void> }[];
  requests(): number;
  close(): Promise<void>;
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function countingServer(behaviour: Behaviour): Promise<Counting> {
  const connections: Counting['connections'] = [];
  const server = http.createServer((req, res) => {
    const connection = connections.find((c) => c.socket === req.socket)!;
    connection.requests++;
    behaviour(connection.requests, req, res);
  });
  const loopback: Loopback = await listenOnLoopback(server, (socket) => {
    connections.push({ socket, requests: 0, closed: new Promise((r) => socket.once('close', () => r())) });
  });
  const counting = {
    base: loopback.base,
    connections,
    requests: () => connections.reduce((n, c) => n + c.requests, 0),
    close: () => loopback.close(),
  };
  cleanups.push(() => counting.close());
  return counting;
}

function client(options?: ConstructorParameters<typeof HttpClient>[0]): HttpClient {
  const c = new HttpClient(options);
  cleanups.push(() => c.destroy());
  return c;
}

/** Answers JSON after reading the whole request body. */
function answer(req: http.IncomingMessage, res: http.ServerResponse, body: unknown = { ok: true }): void {
  req.resume();
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body)));
}

/** The second request of every connection meets a socket the server closes as soon as the request arrives. */
const closedOnSecond: Behaviour = (n, req, res) => {
  if (n === 2) req.socket.destroy();
  else answer(req, res);
};

/** `promise`, or 'still waiting' after `ms` (a bound far beyond what the mechanism needs). */
function within<T>(promise: Promise<T>, ms: number): Promise<T | 'still waiting'> {
  let timer: NodeJS.Timeout | undefined;
  const wait = new Promise<'still waiting'>((r) => (timer = setTimeout(() => r('still waiting'), ms)));
  return Promise.race([promise, wait]).finally(() => clearTimeout(timer));
}

function form(): FormData {
  const f = new FormData();
  f.append('model', 'm');
  f.append('file', new Blob([Buffer.from('RIFF....WAVE')]), 'a.wav');
  return f;
}

describe('a request on a kept-alive socket the server closed while it was idle', () => {
  it('is sent once more on a new connection, and succeeds (JSON)', async () => {
    const server = await countingServer(closedOnSecond);
    const c = client();
    expect((await c.postJson(`${server.base}/v1/chat`, { n: 1 })).body).toEqual({ ok: true });
    expect((await c.postJson(`${server.base}/v1/chat`, { n: 2 })).body).toEqual({ ok: true });
    expect(server.connections.map((x) => x.requests)).toEqual([2, 1]);
  });

  it('is sent once more on a new connection (bodiless GET)', async () => {
    const server = await countingServer(closedOnSecond);
    const c = client();
    await c.getJson(`${server.base}/v1/models`);
    expect((await c.getJson(`${server.base}/v1/models`)).body).toEqual({ ok: true });
    expect(server.connections.map((x) => x.requests)).toEqual([2, 1]);
  });

  it('is sent once more before a stream starts, and the stream is read whole', async () => {
    const server = await countingServer((n, req, res) => {
      if (n === 2) return void req.socket.destroy();
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end('data: {"n":1}\n\ndata: [DONE]\n\n');
      });
    });
    const c = client();
    for await (const _ of readSse((await c.postStream(`${server.base}/v1/chat`, {})).body)) void _;
    const res = await c.postStream(`${server.base}/v1/chat`, {});
    const events: string[] = [];
    for await (const e of readSse(res.body)) events.push(e.data);
    expect(events).toEqual(['{"n":1}', '[DONE]']);
    expect(server.connections.map((x) => x.requests)).toEqual([2, 1]);
  });

  it('is sent once more on a new connection (multipart, through got)', async () => {
    const server = await countingServer(closedOnSecond);
    const c = client();
    await c.postForm(`${server.base}/v1/audio/transcriptions`, form());
    expect((await c.postForm(`${server.base}/v1/audio/transcriptions`, form())).body).toEqual({ ok: true });
    expect(server.connections.map((x) => x.requests)).toEqual([2, 1]);
  });

  it('is not one of the provider retries: with a resend that fails too, the call fails once, typed', async () => {
    // Every request after the very first is cut: the resend, on a new connection, too.
    let seen = 0;
    const server = await countingServer((_n, req, res) => {
      if (++seen > 1) req.socket.destroy();
      else answer(req, res);
    });
    const c = client();
    await c.postJson(`${server.base}/v1/chat`, {});
    const e = await providerFailure(c.postJson(`${server.base}/v1/chat`, {}));
    expect(e).toMatchObject({ reason: 'connection', retryable: true });
    expect(e.message).toContain(`POST ${server.base}/v1/chat: connection failed`);
    expect(server.connections.map((x) => x.requests)).toEqual([2, 1]); // one resend, no more
  });

  it('is not sent again once an answer began (part of a status line arrived)', async () => {
    const server = await countingServer((n, req, res) => {
      if (n === 2) req.socket.end('HTTP/1.1 200 OK\r\ncontent-');
      else answer(req, res);
    });
    const c = client();
    await c.postJson(`${server.base}/v1/chat`, {});
    const e = await providerFailure(c.postJson(`${server.base}/v1/chat`, {}));
    expect(e).toMatchObject({ reason: 'connection', retryable: true });
    expect(server.connections.map((x) => x.requests)).toEqual([2]);
  });
});

describe('a reset on a new connection', () => {
  const resetFirst: Behaviour = (_n, req) => void req.socket.destroy();

  it('fails at once with its typed error, not sent again (JSON)', async () => {
    const server = await countingServer(resetFirst);
    const e = await providerFailure(client().postJson(`${server.base}/v1/chat`, { a: 1 }));
    expect(e).toMatchObject({ reason: 'connection', retryable: true, url: `${server.base}/v1/chat` });
    expect(e.message).toMatch(/connection failed \(ECONNRESET\)/);
    expect(server.connections.map((x) => x.requests)).toEqual([1]);
  });

  it('fails at once with its typed error, not sent again (stream, multipart)', async () => {
    const server = await countingServer(resetFirst);
    expect(await providerFailure(client().postStream(`${server.base}/v1/chat`, {}))).toMatchObject({ reason: 'connection' });
    expect(await providerFailure(client().postForm(`${server.base}/v1/audio/transcriptions`, form()))).toMatchObject({ reason: 'connection' });
    expect(server.requests()).toBe(2);
  });
});

describe('idle kept-alive sockets', () => {
  it('are closed by the client after freeSocketTimeoutMs of idleness; the next call opens a new connection', async () => {
    const server = await countingServer((_n, req, res) => answer(req, res));
    const c = client({ freeSocketTimeoutMs: 100 });
    await c.postJson(`${server.base}/a`, {});
    expect(await within(server.connections[0]!.closed, 10_000)).toBeUndefined();
    await c.postJson(`${server.base}/a`, {});
    expect(server.connections.map((x) => x.requests)).toEqual([1, 1]);
  });

  it("are closed sooner when the server's Keep-Alive hint says so (Node's rule: its timeout less 1 s)", async () => {
    const server = await countingServer((_n, req, res) => {
      res.setHeader('keep-alive', 'timeout=2');
      answer(req, res);
    });
    // Far longer than the hint: only the hint can close the socket within the wait.
    const c = client({ freeSocketTimeoutMs: 120_000 });
    await c.postJson(`${server.base}/a`, {});
    expect(await within(server.connections[0]!.closed, 20_000)).toBeUndefined();
  });

  it('are reused while younger than the timeout', async () => {
    const server = await countingServer((_n, req, res) => answer(req, res));
    const c = client();
    for (let i = 0; i < 3; i++) await c.postJson(`${server.base}/a`, {});
    expect(server.connections.map((x) => x.requests)).toEqual([3]);
    expect(DEFAULT_FREE_SOCKET_TIMEOUT_MS).toBe(4000);
  });

  it('the idle-socket timeout never cuts a busy socket: silences longer than it, on a new and a reused socket, JSON, multipart and stream', async () => {
    const server = await countingServer((_n, req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.url === '/stream') {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.write('data: {"n":1}\n\n');
          setTimeout(() => res.end('data: {"n":2}\n\n'), 750);
        } else setTimeout(() => res.end('{"late":true}'), 750);
      });
    });
    const c = client({ freeSocketTimeoutMs: 250 });
    // Multipart first: got is loaded before the first connection, not while a socket waits in the pool.
    expect((await c.postForm(`${server.base}/a`, form())).body).toEqual({ late: true });
    // Each next call is sent at once: on the same socket.
    expect((await c.postJson(`${server.base}/a`, {})).body).toEqual({ late: true });
    expect((await c.postJson(`${server.base}/a`, {})).body).toEqual({ late: true });
    const events: string[] = [];
    for await (const e of readSse((await c.postStream(`${server.base}/stream`, {})).body)) events.push(e.data);
    expect(events).toEqual(['{"n":1}', '{"n":2}']);
    expect(server.connections.map((x) => x.requests)).toEqual([4]);
  });

  it('rejects a freeSocketTimeoutMs that is not a duration', () => {
    expect(() => new HttpClient({ freeSocketTimeoutMs: -1 })).toThrow(/freeSocketTimeoutMs must be a number of milliseconds/);
    expect(() => new HttpClient({ freeSocketTimeoutMs: Number.NaN })).toThrow(TypeError);
  });
});
