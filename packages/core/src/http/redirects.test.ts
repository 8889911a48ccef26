/**
 * The redirect policy (redirects.ts) in the HTTP client, against two loopback
 * servers (a different port is a different origin): what is followed, what is
 * refused with a typed error naming the Location, and what a cross-origin hop
 * carries when it is allowed (nothing the caller set).
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { HttpClient } from './client.js';
import { judgeRedirect } from './redirects.js';
import { joinUrl, redactUrl } from './url.js';
import { listenOnLoopback, providerFailure } from '../__tests__/loopback.js';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

interface Server {
  url: string;
  seen: Seen[];
  routes: Map<string, (req: http.IncomingMessage, res: http.ServerResponse) => void>;
  close(): Promise<void>;
}

async function startServer(): Promise<Server> {
  const seen: Seen[] = [];
  const routes = new Map<string, (req: http.IncomingMessage, res: http.ServerResponse) => void>();
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const route = routes.get((req.url ?? '').split('?')[0]!);
      if (route) route(req, res);
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ at: req.url, method: req.method }));
    });
  });
  const { base, close } = await listenOnLoopback(server);
  return { url: base, seen, routes, close };
}

const SECRET_HEADERS = { authorization: 'Bearer sk-secret-auth', 'api-key': 'azure-secret', 'x-api-key': 'anthropic-secret' };
const BODY = { model: 'm', messages: [{ role: 'user', content: 'a private prompt' }] };

let a: Server;
let b: Server;
const client = new HttpClient();

beforeAll(async () => {
  a = await startServer();
  b = await startServer();
});
afterAll(async () => {
  client.destroy();
  await a.close();
  await b.close();
});
beforeEach(() => {
  a.seen.length = 0;
  b.seen.length = 0;
  a.routes.clear();
});

const redirect = (status: number, location: () => string) => (_req: http.IncomingMessage, res: http.ServerResponse) =>
  res.writeHead(status, { location: location() }).end('moved');

const failure = providerFailure;

describe('redirects in the HTTP client', () => {
  it.each([301, 302, 303, 307, 308])('a %i to another origin (other port) is refused: typed error naming the Location, nothing sent there', async (status) => {
    a.routes.set('/v1/chat', redirect(status, () => `${b.url}/steal?api_key=leaked-key`));
    const e = await failure(client.postJson(`${a.url}/v1/chat`, BODY, { headers: SECRET_HEADERS }));
    expect(e).toMatchObject({ reason: 'redirect', retryable: false, status, url: `${a.url}/v1/chat` });
    expect(e.message).toContain(`${b.url}/steal`);
    expect(e.message).toContain('another origin');
    expect(e.message).not.toContain('leaked-key');
    expect(b.seen).toHaveLength(0);
  });

  it('a same-origin 307 is followed with its method, body and headers (got semantics)', async () => {
    a.routes.set('/v1/chat', redirect(307, () => '/v2/chat'));
    const res = await client.postJson<{ at: string; method: string }>(`${a.url}/v1/chat`, BODY, { headers: SECRET_HEADERS });
    expect(res.body).toEqual({ at: '/v2/chat', method: 'POST' });
    const last = a.seen.at(-1)!;
    expect(JSON.parse(last.body)).toEqual(BODY);
    expect(last.headers['api-key']).toBe('azure-secret');
  });

  it('a stream is redirected under the same policy', async () => {
    a.routes.set('/v1/stream', redirect(302, () => `${b.url}/v1/stream`));
    const e = await failure(client.postStream(`${a.url}/v1/stream`, BODY, { headers: SECRET_HEADERS }));
    expect(e.reason).toBe('redirect');
    expect(b.seen).toHaveLength(0);
  });

  it('follow_redirects: never refuses even a same-origin redirect', async () => {
    a.routes.set('/v1/chat', redirect(308, () => '/v2/chat'));
    const e = await failure(client.postJson(`${a.url}/v1/chat`, BODY, { followRedirects: 'never' }));
    expect(e.reason).toBe('redirect');
    expect(e.message).toContain('never');
    expect(a.seen).toHaveLength(1);
  });

  it('follow_redirects: cross_origin follows a 302 as a bare GET: no body, no header the caller set', async () => {
    a.routes.set('/v1/speech', redirect(302, () => `${b.url}/cdn/audio.mp3`));
    const res = await client.postJson<{ at: string; method: string }>(`${a.url}/v1/speech`, BODY, {
      headers: { ...SECRET_HEADERS, 'x-custom': 'custom-secret' },
      followRedirects: 'cross_origin',
    });
    expect(res.body).toEqual({ at: '/cdn/audio.mp3', method: 'GET' });
    const hop = b.seen[0]!;
    expect(hop.body).toBe('');
    for (const name of ['authorization', 'api-key', 'x-api-key', 'x-custom', 'content-type', 'content-length']) expect(hop.headers[name]).toBeUndefined();
    expect(JSON.stringify(hop.headers)).not.toMatch(/secret/);
  });

  it('follow_redirects: cross_origin still refuses a cross-origin 307 (it would re-send the body)', async () => {
    a.routes.set('/v1/chat', redirect(307, () => `${b.url}/v1/chat`));
    const e = await failure(client.postJson(`${a.url}/v1/chat`, BODY, { headers: SECRET_HEADERS, followRedirects: 'cross_origin' }));
    expect(e.reason).toBe('redirect');
    expect(e.message).toContain('re-send the request body');
    expect(b.seen).toHaveLength(0);
  });

  it("a same-origin redirect keeps the URL's user:password, the Location relative or absolute: the next hop is sent with the same Basic credential", async () => {
    // A relative Location inherits them from the URL it is read against; an absolute one has none of its own.
    a.routes.set('/a', redirect(302, () => '/b'));
    a.routes.set('/c', redirect(302, () => `${a.url}/d`));
    const withCredentials = a.url.replace('http://', 'http://u:p@');
    expect((await client.getJson(`${withCredentials}/a`)).body).toEqual({ at: '/b', method: 'GET' });
    expect((await client.getJson(`${withCredentials}/c`)).body).toEqual({ at: '/d', method: 'GET' });
    const basic = `Basic ${Buffer.from('u:p').toString('base64')}`;
    expect(a.seen.map((s) => [s.url, s.headers.authorization])).toEqual([['/a', basic], ['/b', basic], ['/c', basic], ['/d', basic]]);
  });

  it('a redirect loop ends after 5 hops with a typed error', async () => {
    a.routes.set('/loop', redirect(302, () => '/loop'));
    const e = await failure(client.postJson(`${a.url}/loop`, BODY));
    expect(e).toMatchObject({ reason: 'redirect', retryable: false });
    expect(a.seen.length).toBe(6);
  });
});

/**
 * A 3xx whose body never ends: written as fast as the socket takes it (or a chunk
 * every 20 ms when `drip`), until the client closes the connection.
 * `closed` settles with the bytes written when it does.
 */
function endlessRedirect(status: number, location: string, drip = false) {
  let resolveClosed!: (written: number) => void;
  const closed = new Promise<number>((r) => (resolveClosed = r));
  const route = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    let written = 0;
    let open = true;
    req.socket.once('close', () => {
      open = false;
      resolveClosed(written);
    });
    res.writeHead(status, { location, 'content-type': 'text/html' });
    const chunk = Buffer.alloc(16 * 1024, 'x');
    const pump = (): void => {
      while (open && res.write(chunk)) written += chunk.length;
      if (open) res.once('drain', pump);
    };
    if (!drip) return pump();
    const timer = setInterval(() => (open ? res.write('<p>moved</p>') : clearInterval(timer)), 20);
  };
  return { route, closed };
}

/** `promise`, or 'still open' after `ms`: a bound far beyond the 64 KiB / 50 ms the client reads of a 3xx body. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | 'still open'> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<'still open'>((r) => (timer = setTimeout(() => r('still open'), ms)))]).finally(() => clearTimeout(timer));
}

describe('the body of a followed redirect is read only up to a bound', () => {
  it('an endless 3xx body: the redirect is followed, the answer arrives, and the 3xx connection is closed', async () => {
    const endless = endlessRedirect(307, '/v2/chat');
    a.routes.set('/v1/chat', endless.route);
    const res = await client.postJson<{ at: string; method: string }>(`${a.url}/v1/chat`, BODY);
    expect(res.body).toEqual({ at: '/v2/chat', method: 'POST' });
    expect(await within(endless.closed, 10_000)).toEqual(expect.any(Number));
  });

  it('a 3xx body that drips forever is closed too (time bound)', async () => {
    const endless = endlessRedirect(302, '/v2/models', true);
    a.routes.set('/v1/models', endless.route);
    expect((await client.getJson(`${a.url}/v1/models`)).body).toEqual({ at: '/v2/models', method: 'GET' });
    expect(await within(endless.closed, 10_000)).toEqual(expect.any(Number));
  });

  it('an endless body on a later hop is bounded the same way', async () => {
    const endless = endlessRedirect(302, '/v3/chat');
    a.routes.set('/v1/chat', redirect(308, () => '/v2/chat'));
    a.routes.set('/v2/chat', endless.route);
    const res = await client.postJson<{ at: string; method: string }>(`${a.url}/v1/chat`, BODY);
    expect(res.body).toEqual({ at: '/v3/chat', method: 'POST' });
    expect(await within(endless.closed, 10_000)).toEqual(expect.any(Number));
    expect(a.seen.map((s) => [s.method, s.url])).toEqual([['POST', '/v1/chat'], ['POST', '/v2/chat'], ['POST', '/v3/chat']]);
    expect(JSON.parse(a.seen[2]!.body)).toEqual(BODY);
  });

  it('an endless body of a multipart request\'s redirect is bounded the same way; the 307 re-sends the form', async () => {
    const endless = endlessRedirect(307, '/v2/upload');
    a.routes.set('/v1/upload', endless.route);
    const form = new FormData();
    form.append('model', 'whisper-like');
    const res = await client.postForm<{ at: string; method: string }>(`${a.url}/v1/upload`, form);
    expect(res.body).toEqual({ at: '/v2/upload', method: 'POST' });
    expect(await within(endless.closed, 10_000)).toEqual(expect.any(Number));
    expect(a.seen.at(-1)!.body).toContain('whisper-like');
  });

  it('a finite 3xx body past 64 KiB (256 KiB, sent whole) is not read to its end: its connection is closed, not reused for the next hop', async () => {
    // One connection at a time: the next hop can go on the 3xx's own socket only once that body
    // has been read to its end, or on a new one once that socket is closed. (A body whose wire bytes
    // have all arrived when the redirect is seen, a small gzip bomb say, leaves its socket clean and
    // reusable whatever is decoded of it: the bound shows on a body still arriving.)
    const single = new HttpClient({ maxSockets: 1 });
    let redirected: Socket | undefined;
    let followed: Socket | undefined;
    let closed!: Promise<void>;
    a.routes.set('/v1/big', (req, res) => {
      redirected = req.socket;
      closed = new Promise((resolve) => req.socket.once('close', () => resolve()));
      res.writeHead(302, { location: '/v2/big', 'content-type': 'text/html' }).end(Buffer.alloc(256 * 1024, 'x'));
    });
    a.routes.set('/v2/big', (req, res) => {
      followed = req.socket;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ at: req.url, method: req.method }));
    });
    try {
      expect((await single.getJson(`${a.url}/v1/big`)).body).toEqual({ at: '/v2/big', method: 'GET' });
      expect(followed).toBeDefined();
      expect(followed).not.toBe(redirected);
      await closed; // the server saw the 3xx's connection closed
    } finally {
      single.destroy();
    }
  });

  it('a 303 from a multipart request becomes a bodiless GET', async () => {
    a.routes.set('/v1/upload', redirect(303, () => '/v2/result'));
    const form = new FormData();
    form.append('model', 'm');
    expect((await client.postForm(`${a.url}/v1/upload`, form)).body).toEqual({ at: '/v2/result', method: 'GET' });
    expect(a.seen.at(-1)!.headers['content-type']).toBeUndefined();
  });
});

describe('judgeRedirect', () => {
  const https = new URL('https://api.example.com/v1/chat');
  it('refuses https to http whatever the policy, on the same host too', () => {
    for (const policy of ['same_origin', 'cross_origin', 'never'] as const) {
      const v = judgeRedirect(https, https, 'http://api.example.com/v1/chat', 302, policy);
      expect(v).toMatchObject({ follow: false });
      expect(v.follow === false && v.why).toContain('downgrades https to http');
    }
  });
  it('refuses other schemes and unparsable locations, follows a relative same-origin one', () => {
    expect(judgeRedirect(https, https, 'file:///etc/passwd', 302, 'cross_origin')).toMatchObject({ follow: false });
    expect(judgeRedirect(https, https, 'http://[::1', 302, 'cross_origin')).toMatchObject({ follow: false });
    expect(judgeRedirect(https, https, '../v2/chat', 307, 'same_origin')).toEqual({ follow: true, crossOrigin: false });
  });
  it('treats another port or scheme as another origin', () => {
    const http8 = new URL('http://127.0.0.1:8000/a');
    expect(judgeRedirect(http8, http8, 'http://127.0.0.1:8001/a', 302, 'same_origin')).toMatchObject({ follow: false });
    expect(judgeRedirect(http8, http8, 'https://127.0.0.1:8000/a', 302, 'same_origin')).toMatchObject({ follow: false });
    expect(judgeRedirect(http8, http8, 'http://127.0.0.1:8001/a', 302, 'cross_origin')).toEqual({ follow: true, crossOrigin: true });
  });
});

describe('redactUrl', () => {
  it('drops user:password@ and hides credential query values', () => {
    expect(redactUrl('http://u:p@h/')).toBe('http://h/');
    expect(redactUrl('https://user:pw@h:8443/v1?api_key=SECRETVAL&model=m')).toBe('https://h:8443/v1?api_key=***&model=m');
  });
});

describe('joinUrl', () => {
  it('puts the endpoint path in the path, keeping the base query (Azure api-version) after it', () => {
    expect(joinUrl('https://r.openai.azure.com/openai/deployments/gpt?api-version=2024-10-21', '/chat/completions')).toBe(
      'https://r.openai.azure.com/openai/deployments/gpt/chat/completions?api-version=2024-10-21',
    );
    expect(joinUrl('http://h/v1/?a=1#frag', 'x?b=2')).toBe('http://h/v1/x?a=1&b=2');
    expect(joinUrl('http://h/v1/', '/chat')).toBe('http://h/v1/chat');
  });
});
