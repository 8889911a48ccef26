/**
 * Failures that say what they are, and are retried only when another attempt
 * may succeed: an error answer whose body cannot be read keeps its status; a
 * body that will not decode is a bad response; a certificate that fails
 * verification, a request Node refuses to send and an answer that is not HTTP
 * are not retried. Against real servers on 127.0.0.1.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import zlib from 'node:zlib';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { HttpClient } from './client.js';
import { readSse } from './sse.js';
import { httpStatusError, transportError } from './error-mapping.js';
import { listenOnLoopback, listenWithRoutes, providerFailure, type Loopback, type RouteHandler } from '../__tests__/loopback.js';

type Handler = RouteHandler;

const routes = new Map<string, Handler>();
let seen: string[] = [];
let loopback: Loopback;
let base: string;
const client = new HttpClient();

beforeAll(async () => {
  loopback = await listenWithRoutes(routes, (req) => seen.push(req.url ?? ''));
  base = loopback.base;
});
afterAll(async () => {
  client.destroy();
  await loopback.close();
});

/** Sends a status line and headers announcing a body, then `then` once they have left (the body never comes). */
function headersOnly(status: string, headers: Record<string, string>, then: (socket: net.Socket) => void): Handler {
  return (req) => {
    const lines = Object.entries({ 'content-type': 'application/json', 'content-length': '64', ...headers }).map(([k, v]) => `${k}: ${v}\r\n`);
    req.socket.write(`HTTP/1.1 ${status}\r\n${lines.join('')}\r\n`, () => then(req.socket));
  };
}

describe('an error answer whose body cannot be read', () => {
  it('a 401 whose body is cut after the headers is still the 401: not retryable, not a connection failure', async () => {
    routes.set('/401-cut', headersOnly('401 Unauthorized', {}, (socket) => socket.destroy()));
    const e = await providerFailure(client.postJson(`${base}/401-cut`, {}));
    expect(e).toMatchObject({ status: 401, reason: 'http', retryable: false, url: `${base}/401-cut` });
    expect(e.message).toContain('HTTP 401 Unauthorized');
    expect(e.message).toMatch(/its body could not be read: connection (ECONNRESET|ERR_STREAM_PREMATURE_CLOSE)/);
  });

  it('a 429 whose body never comes keeps its status and Retry-After when the idle timeout ends the read', async () => {
    routes.set('/429-silent', headersOnly('429 Too Many Requests', { 'retry-after': '3' }, () => undefined));
    const e = await providerFailure(client.postJson(`${base}/429-silent`, {}, { idleTimeoutMs: 200 }));
    expect(e).toMatchObject({ status: 429, reason: 'http', retryable: true, retryAfterMs: 3000 });
    expect(e.message).toContain('its body could not be read: idle_timeout');
  });

  it('the same for a stream request', async () => {
    routes.set('/503-cut-stream', headersOnly('503 Service Unavailable', { 'retry-after': '2' }, (socket) => socket.destroy()));
    const e = await providerFailure(client.postStream(`${base}/503-cut-stream`, {}));
    expect(e).toMatchObject({ status: 503, reason: 'http', retryable: true, retryAfterMs: 2000 });
  });

  it("the call's own abort still wins over the status", async () => {
    const controller = new AbortController();
    routes.set('/500-abort', headersOnly('500 Internal Server Error', {}, () => controller.abort()));
    const e = await providerFailure(client.postJson(`${base}/500-abort`, {}, { signal: controller.signal }));
    expect(e).toMatchObject({ reason: 'aborted', retryable: false });
  });
});

describe('errorRetryable: a plugin judging retryability from the error body', () => {
  it('overrides the status when it answers, keeps it when it does not', async () => {
    routes.set('/500-judged', (_q, res) => res.writeHead(500, { 'content-type': 'application/json' }).end('{"detail":{"type":"bad_input"}}'));
    const judge = (status: number, body: unknown, text: string): boolean | undefined => {
      expect(text).toBe('{"detail":{"type":"bad_input"}}');
      return status === 500 && (body as { detail?: { type?: string } }).detail?.type === 'bad_input' ? false : undefined;
    };
    expect(await providerFailure(client.postJson(`${base}/500-judged`, {}, { errorRetryable: judge }))).toMatchObject({ status: 500, retryable: false });
    expect(await providerFailure(client.postJson(`${base}/500-judged`, {}, { errorRetryable: () => undefined }))).toMatchObject({ status: 500, retryable: true });
    expect(await providerFailure(client.postJson(`${base}/500-judged`, {}))).toMatchObject({ status: 500, retryable: true });
  });

  it("an extractor or judge that throws on the body (JSON null) leaves the HTTP error as it is, status and retry rule kept", async () => {
    routes.set('/503-null', (_q, res) => res.writeHead(503, { 'content-type': 'application/json' }).end('null'));
    routes.set('/503-message', (_q, res) => res.writeHead(503, { 'content-type': 'application/json' }).end('{"message":"overloaded"}'));
    const reading = (body: unknown) => (body as { fault: { reason?: string } }).fault.reason;
    const judging = (_status: number, body: unknown) => (body as { fault: { retry: boolean } }).fault.retry;
    const failure = await providerFailure(client.postJson(`${base}/503-null`, {}, { errorMessage: reading, errorRetryable: judging }));
    expect(failure).toMatchObject({ status: 503, retryable: true, reason: 'http' });
    // Where the plugin's extractor finds nothing, the common shapes are read.
    const message = await providerFailure(client.postJson(`${base}/503-message`, {}, { errorMessage: reading }));
    expect(message.message).toContain('HTTP 503 Service Unavailable: overloaded');
  });
});

describe('a body that does not decode as its Content-Encoding says', () => {
  const plainAsGzip = (status: number, headers: Record<string, string> = {}): Handler => (_q, res) =>
    res.writeHead(status, { 'content-type': 'application/json', 'content-encoding': 'gzip', ...headers }).end('{"error":{"message":"plain text"}}');

  it('a 200 JSON body is a bad_response, not retryable, with its status', async () => {
    routes.set('/200-gzip', plainAsGzip(200));
    const e = await providerFailure(client.postJson(`${base}/200-gzip`, {}));
    expect(e).toMatchObject({ status: 200, reason: 'bad_response', retryable: false });
    expect(e.message).toContain('could not be decoded');
    expect(e.message).toContain('Z_DATA_ERROR');
  });

  it('a brotli one too', async () => {
    routes.set('/200-br', (_q, res) => res.writeHead(200, { 'content-encoding': 'br' }).end('{"ok": true, "plain": "not brotli at all"}'));
    const e = await providerFailure(client.getJson(`${base}/200-br`));
    expect(e).toMatchObject({ status: 200, reason: 'bad_response', retryable: false });
  });

  it('an error answer keeps its status, its retryability and Retry-After', async () => {
    routes.set('/429-gzip', plainAsGzip(429, { 'retry-after': '5' }));
    expect(await providerFailure(client.postJson(`${base}/429-gzip`, {}))).toMatchObject({ status: 429, reason: 'http', retryable: true, retryAfterMs: 5000 });
    routes.set('/401-gzip', plainAsGzip(401));
    expect(await providerFailure(client.postJson(`${base}/401-gzip`, {}))).toMatchObject({ status: 401, reason: 'http', retryable: false });
  });

  it('a stream is a bad_response when its reader meets it', async () => {
    routes.set('/sse-gzip', (_q, res) => res.writeHead(200, { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' }).end('data: x\n\n'));
    const response = await client.postStream(`${base}/sse-gzip`, {});
    const e = await providerFailure(
      (async () => {
        for await (const _event of readSse(response.body)) void _event;
      })(),
    );
    expect(e).toMatchObject({ reason: 'bad_response', retryable: false, status: 200 });
  });

  it('a real gzip body still decodes', async () => {
    routes.set('/gzip-ok', (_q, res) => res.writeHead(200, { 'content-encoding': 'gzip' }).end(zlib.gzipSync('{"ok":true}')));
    expect((await client.getJson(`${base}/gzip-ok`)).body).toEqual({ ok: true });
  });
});

describe('failures that the same request meets again are not retried', () => {
  const here = dirname(fileURLToPath(import.meta.url));
  const tlsDir = join(here, '..', '..', '..', '..', 'suites', 'hostile');
  let tls: Loopback;
  let tlsRequests = 0;

  beforeAll(async () => {
    const server = https.createServer(
      { key: readFileSync(join(tlsDir, 'loopback-test-key.pem')), cert: readFileSync(join(tlsDir, 'loopback-test-cert.pem')) },
      (_q, res) => {
        tlsRequests++;
        res.end('{}');
      },
    );
    tls = await listenOnLoopback(server as unknown as http.Server);
  });
  afterAll(() => tls.close());

  it('a server certificate that fails verification: said so, with its code, never sent', async () => {
    const url = tls.base.replace('http:', 'https:');
    const e = await providerFailure(client.postJson(`${url}/v1/chat`, {}));
    expect(e).toMatchObject({ reason: 'connection', retryable: false, url: `${url}/v1/chat` });
    expect(e.message).toContain("the server's TLS certificate could not be verified (DEPTH_ZERO_SELF_SIGNED_CERT)");
    expect(e.message).not.toMatch(/rejectUnauthorized|NODE_TLS_REJECT_UNAUTHORIZED/);
    expect(tlsRequests).toBe(0);
  });

  it('https to a plain-http port: a TLS failure, not retried', async () => {
    const e = await providerFailure(client.getJson(`${base.replace('http:', 'https:')}/x`));
    expect(e).toMatchObject({ reason: 'connection', retryable: false });
    expect(e.message).toContain('TLS failed');
  });

  it('a header value with a newline (an api_key pasted with one): refused before sending, the value not in the message', async () => {
    seen = [];
    const e = await providerFailure(client.postJson(`${base}/never`, {}, { headers: { authorization: 'Bearer sk-line-one\nline-two' } }));
    expect(e).toMatchObject({ reason: 'bad_response', retryable: false });
    expect(e.message).toContain('ERR_INVALID_CHAR');
    expect(e.message).toContain('invalid request, not sent');
    expect(e.message).not.toContain('sk-line-one');
    expect(seen).toEqual([]);
  });

  it('an answer that is not HTTP (a wrong port): not retried', async () => {
    const garbage = net.createServer((socket) => socket.once('data', () => socket.end('SSH-2.0-OpenSSH_9.6\r\n\r\n')));
    await new Promise<void>((r) => garbage.listen(0, '127.0.0.1', r));
    try {
      const e = await providerFailure(client.getJson(`http://127.0.0.1:${(garbage.address() as net.AddressInfo).port}/`));
      expect(e).toMatchObject({ reason: 'connection', retryable: false });
      expect(e.message).toContain('HPE_');
    } finally {
      await new Promise((r) => garbage.close(r));
    }
  });
});

describe('transportError, code by code', () => {
  const ctx = { method: 'POST', url: 'http://127.0.0.1:1/v1/chat' };
  const mapped = (code: string | undefined, message = 'failed') => transportError(Object.assign(new Error(message), code ? { code } : {}), ctx);

  it.each(['CERT_HAS_EXPIRED', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'ERR_TLS_CERT_ALTNAME_INVALID'])(
    'certificate code %s: not retryable, named',
    (code) => {
      const e = mapped(code);
      expect(e).toMatchObject({ reason: 'connection', retryable: false });
      expect(e.message).toContain(`certificate could not be verified (${code})`);
    },
  );

  it.each(['ERR_INVALID_CHAR', 'ERR_INVALID_HTTP_TOKEN', 'ERR_HTTP_INVALID_HEADER_VALUE', 'ERR_UNESCAPED_CHARACTERS'])('%s: an invalid request, not retryable', (code) => {
    expect(mapped(code)).toMatchObject({ reason: 'bad_response', retryable: false });
  });

  it('ERR_HTTP_INVALID_HEADER_VALUE: Node puts the value in its message, which is left out', () => {
    expect(mapped('ERR_HTTP_INVALID_HEADER_VALUE', 'Invalid value "sk-secret" for header "authorization"').message).not.toContain('sk-secret');
  });

  it.each(['Z_DATA_ERROR', 'Z_BUF_ERROR', 'ERR__ERROR_FORMAT_PADDING_1'])('%s (zlib, brotli): a bad_response, not retryable', (code) => {
    expect(mapped(code)).toMatchObject({ reason: 'bad_response', retryable: false });
  });

  it.each(['ECONNRESET', 'EPIPE', 'ENETDOWN', 'EHOSTDOWN', 'EAI_AGAIN', 'ERR_STREAM_PREMATURE_CLOSE'])('%s (the network): retryable', (code) => {
    expect(mapped(code)).toMatchObject({ reason: 'connection', retryable: true });
  });

  it('EPROTO (a TLS handshake the ends do not agree on): not retryable, with OpenSSL\'s reason', () => {
    const e = mapped('EPROTO', 'write EPROTO 80CC:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:../ssl3_record.c:350:');
    expect(e).toMatchObject({ reason: 'connection', retryable: false });
    expect(e.message).toContain('TLS failed (EPROTO: wrong version number); the server does not speak TLS there');
  });

  it.each([['ERR_SOMETHING_NEW'], ['HPE_INVALID_CONSTANT'], [undefined]])('an unknown or non-network code (%s): not retryable', (code) => {
    expect(mapped(code)).toMatchObject({ reason: 'connection', retryable: false });
  });

  it('ENOTFOUND (a host name that does not resolve): a connection failure, not retryable, said to be host not found', () => {
    const e = transportError(Object.assign(new Error('getaddrinfo ENOTFOUND nohost'), { code: 'ENOTFOUND' }), ctx);
    expect(e).toMatchObject({ reason: 'connection', retryable: false, url: ctx.url });
    expect(e.message).toBe(`POST ${ctx.url}: host not found`);
  });

  it('the socket idle timeout (got\'s TimeoutError, event "socket"): idle_timeout, retryable, naming the seconds', () => {
    const idle = Object.assign(new Error("Timeout awaiting 'socket' for 250ms"), { name: 'TimeoutError', code: 'ETIMEDOUT', event: 'socket' });
    const e = transportError(idle, { ...ctx, idleTimeoutMs: 250 });
    expect(e).toMatchObject({ reason: 'idle_timeout', retryable: true });
    expect(e.message).toContain('the backend sent nothing for 0.25 s (idle_timeout)');
  });
});

describe('httpStatusError', () => {
  it("an HTML error page (a proxy's 502) is kept out of the message", () => {
    const page = '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>';
    const e = httpStatusError({ method: 'POST', url: 'http://127.0.0.1:1/v1/chat', status: 502, statusText: 'Bad Gateway', bodyText: page });
    expect(e).toMatchObject({ status: 502, reason: 'http', retryable: true });
    expect(e.message).toBe('POST http://127.0.0.1:1/v1/chat failed with HTTP 502 Bad Gateway');
    expect(e.message).not.toContain('<html');
  });
});
