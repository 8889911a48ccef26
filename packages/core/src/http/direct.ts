/**
 * The first hop of a JSON (or bodiless) request straight on node:http, without
 * got. Per call, got builds and merges an options object, wraps the
 * ClientRequest and the response in a stream of its own, and adds its
 * listeners and timers: about 200 µs of CPU a call, more than the rest of an
 * AEGIS call (bench/RESULTS.md, gateway section). This does what the client
 * needs of got on that path and no more: the request, `accept-encoding` and
 * decoding (gzip, deflate, br, as got's decompress-response), the socket-idle
 * timeout (an error shaped like got's, so error mapping is shared), abort by
 * signal, and sending once more a request that met a kept-alive socket the
 * server had closed while it sat idle (see staleReuse). Redirects are followed
 * by the caller (client.ts), hop by hop; multipart bodies go through got.
 */
import type http from 'node:http';
import type https from 'node:https';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import zlib from 'node:zlib';
import { targetOptions } from './targets.js';
import { idleTimerMs } from './timers.js';

/** A response body as the readers see it: the bytes (decoded), and whether the wire body was complete. */
export type BodyStream = Readable & { response?: { complete?: boolean } };

export interface DirectRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string;
  /** The kept-alive pool; `false` for a connection of its own, closed after the answer. */
  agent: http.Agent | https.Agent | false;
  signal?: AbortSignal;
  idleTimeoutMs?: number;
}

export interface DirectResponse {
  res: http.IncomingMessage;
  /** The decoded body; the response itself when it is not encoded. */
  stream: BodyStream;
}

/** What got sends by default (decompress: true), kept so a backend answers as it did. */
export const ACCEPT_ENCODING = 'gzip, deflate, br';

/** got's TimeoutError for the socket-idle timeout, in the shape transportError maps. */
function idleTimeout(ms: number): Error {
  return Object.assign(new Error(`Timeout awaiting 'socket' for ${ms}ms`), { name: 'TimeoutError', code: 'ETIMEDOUT', event: 'socket' });
}

/** Marks the sockets a pool keeps with the bytes each had read then (see staleReuse). */
const IDLE_AT = Symbol('aegis.idle-at-bytes');

type MarkedSocket = Socket & { [IDLE_AT]?: number };

/**
 * Makes `agent` mark each socket it takes back into its pool with the bytes
 * that socket had read so far, through the documented `keepSocketAlive` hook:
 * a request that fails on the socket later can then tell whether any byte of
 * its own answer arrived.
 */
export function markIdleSockets(agent: http.Agent): void {
  // Typed `void` by @types/node; Node's returns whether the socket may be kept.
  const keep = agent.keepSocketAlive.bind(agent) as (socket: Socket) => boolean;
  (agent as unknown as { keepSocketAlive: (socket: Socket) => boolean }).keepSocketAlive = (socket) => {
    (socket as MarkedSocket)[IDLE_AT] = socket.bytesRead;
    return keep(socket);
  };
}

const RESET_CODES = new Set(['ECONNRESET', 'EPIPE']);

/**
 * Whether a request failed only because the kept-alive socket it was given
 * had been closed by the server while idle in the pool (a server closes idle
 * connections after a few seconds, and its close can cross the next request
 * on the wire): it was a reused socket, it failed with a reset or hang-up, and
 * not one byte arrived on it since it went idle, so the server cannot have
 * begun to answer. Such a request may be sent again, once, on a new
 * connection, as Node's documentation advises (`request.reusedSocket`).
 */
export function staleReuse(error: unknown, reused: boolean | undefined, socket: Socket | null | undefined): boolean {
  if (!reused || !socket) return false;
  const idleAt = (socket as MarkedSocket)[IDLE_AT];
  return idleAt !== undefined && idleAt === socket.bytesRead && RESET_CODES.has((error as { code?: string } | undefined)?.code ?? '');
}

/**
 * Sends one request and resolves with its response (any status). A request
 * written on a reused socket that fails before any byte of an answer
 * (staleReuse) is sent once more at once on a connection of its own: not one
 * of the provider's retries (no backoff, not counted), and never once an
 * answer began or for a socket that was new.
 */
export function sendDirect(transport: { http: typeof http; https: typeof https }, request: DirectRequest, resend = true): Promise<DirectResponse> {
  return new Promise<DirectResponse>((resolve, reject) => {
    const { url, signal } = request;
    const module = url.protocol === 'https:' ? transport.https : transport.http;
    let res: http.IncomingMessage | undefined;
    let body: BodyStream | undefined;
    const options: http.RequestOptions = targetOptions(url);
    options.method = request.method;
    options.headers = request.headers;
    options.agent = request.agent;
    const req = module.request(options);
    req.on('error', (error) => {
      if (res) {
        if (body && !body.destroyed) body.destroy(error);
      } else if (resend && !signal?.aborted && staleReuse(error, req.reusedSocket, req.socket)) {
        resolve(sendDirect(transport, { ...request, agent: false }, false));
      } else reject(error);
    });
    // Not node:http's `signal` option: that destroys the request's socket even after the response
    // has fully arrived and the socket is back in the pool (or serving the next call). An abort
    // here cuts only what is still on the wire; a complete body is left for the reader, whose
    // caller sees the abort anyway.
    const onAbort = (): void => {
      if (res?.complete) return;
      const error = Object.assign(new Error('The operation was aborted'), { name: 'AbortError', code: 'ABORT_ERR' });
      if (body && !body.destroyed) body.destroy(error);
      req.destroy(error);
    };
    // The abort listener and the idle timeout are set up once this turn's writes have left
    // (setImmediate), off the path from the call to the backend; a signal that aborted
    // meanwhile is seen then. (No byte of the answer can arrive before that.)
    // Only a finite timer: `req.setTimeout` throws (in that setImmediate, out of any promise) for a
    // negative or infinite one (timers.ts).
    const idleMs = idleTimerMs(request.idleTimeoutMs);
    if (signal || idleMs !== undefined) {
      setImmediate(() => watch(req, signal, onAbort, idleMs, (error) => body && !body.destroyed && body.destroy(error)));
    }
    req.once('response', (response: http.IncomingMessage) => {
      res = response;
      body = decoded(response);
      resolve({ res: response, stream: body });
    });
    req.end(request.body);
  });
}

/** Aborts `req` when `signal` does, and fails it after `idleMs` without a byte (a valid timer: idleTimerMs); both end with the request. */
function watch(req: http.ClientRequest, signal: AbortSignal | undefined, onAbort: () => void, idleMs: number | undefined, failBody: (error: Error) => unknown): void {
  if (req.destroyed) return;
  if (signal) {
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    req.once('close', () => signal.removeEventListener('abort', onAbort));
  }
  if (idleMs !== undefined) {
    req.setTimeout(idleMs, () => {
      const error = idleTimeout(idleMs);
      failBody(error);
      req.destroy(error);
    });
  }
}

/** The body, decoded as got decodes it (its decompress-response: sync flush, so a truncated body is not an error of its own). */
function decoded(res: http.IncomingMessage): BodyStream {
  const encoding = (res.headers['content-encoding'] ?? '').toLowerCase();
  const flush = { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH };
  let decoder: zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress | undefined;
  if (encoding === 'gzip' || encoding === 'x-gzip') decoder = zlib.createGunzip(flush);
  else if (encoding === 'deflate' || encoding === 'x-deflate') decoder = zlib.createInflate(flush);
  else if (encoding === 'br') {
    decoder = zlib.createBrotliDecompress({ flush: zlib.constants.BROTLI_OPERATION_FLUSH, finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH });
  }
  if (!decoder) return res as BodyStream;
  const stream = pipeline(res, decoder, () => undefined) as unknown as BodyStream;
  stream.response = res;
  return stream;
}
