import type http from 'node:http';
import type https from 'node:https';
import type { Socket } from 'node:net';
import type { Got } from 'got';
import { ProviderError } from '../errors/provider-error.js';
import { httpStatusError, transportError, excerpt, type ErrorMessageExtractor, type ErrorRetryableJudge } from './error-mapping.js';
import { parseRetryAfter } from './retry-after.js';
import { redactUrl } from './url.js';
import { parseTarget } from './targets.js';
import { DEFAULT_LIMITS, ERROR_BODY_MAX_BYTES, STREAM_SOURCE, tooLargeError, type StreamSource } from './limits.js';
import { judgeRedirect, MAX_REDIRECTS, redirectError, redirectTarget, stripForCrossOrigin, tooManyRedirectsError, type RedirectPolicy } from './redirects.js';
import { ACCEPT_ENCODING, markIdleSockets, sendDirect, staleReuse, type BodyStream, type DirectResponse } from './direct.js';
import { BodyChunks, closedBeforeEnd } from './body-chunks.js';
import { idleTimerMs } from './timers.js';

export interface HttpRequestOptions {
  headers?: Record<string, string | undefined>;
  /** Aborts the request (the caller's signal combined with the call's deadline). */
  signal?: AbortSignal;
  /**
   * Fails when no byte arrives for this long (silence), in ms. A slow but live
   * answer is never cut. 0 or Infinity: no idle timeout; more than 2^31−1 ms
   * (about 24.8 days) counts as that; a negative or NaN one is a TypeError.
   */
  idleTimeoutMs?: number;
  /** Reads the backend's own message from its error body. */
  errorMessage?: ErrorMessageExtractor;
  /** Overrides, from its error body, whether a non-2xx answer is retryable (see ErrorRetryableJudge). */
  errorRetryable?: ErrorRetryableJudge;
  /** Largest whole body accepted (JSON, audio), in decoded bytes (default 256 MiB). */
  maxResponseBytes?: number;
  /** Largest streamed body accepted in total, in decoded bytes (default 1 GiB). */
  maxStreamBytes?: number;
  /** Largest line (NDJSON) or event (SSE) of a streamed body, in decoded bytes (default 8 MiB); read by readSse/readNdjson. */
  maxLineBytes?: number;
  /** Which redirects are followed (default `same_origin`); see RedirectPolicy. */
  followRedirects?: RedirectPolicy;
}

export interface HttpResponse<T> {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  url: string;
  body: T;
}

export interface HttpClientOptions {
  /**
   * Connections open at once to one host (default 64; Infinity for no bound):
   * a request beyond waits for one to free, and a stream holds its own until
   * it ends. backends.yaml sets it as `http.max_sockets`.
   */
  maxSockets?: number;
  /**
   * How long a kept-alive socket may sit idle in the pool before it is closed,
   * in ms (default 4000, as undici). Shorter than the idle timeout of common
   * servers (5 s for many), so the client closes an idle connection before the
   * server does; a server's `Keep-Alive: timeout=N` header shortens it further
   * (to N − 1 s, Node's own rule). 0 keeps idle sockets until the server closes
   * them.
   */
  freeSocketTimeoutMs?: number;
  userAgent?: string;
}

/** The default of HttpClientOptions.freeSocketTimeoutMs. */
export const DEFAULT_FREE_SOCKET_TIMEOUT_MS = 4000;

type Payload = { json: unknown } | { body: FormData } | undefined;

/** One request on the wire: the first, or a redirect hop. A JSON body is serialised once, for every hop. */
interface Hop {
  method: 'GET' | 'POST';
  url: URL;
  headers: Record<string, string>;
  body?: string | FormData;
}

// node:https (and TLS) and got are a large share of a cold start (bench/RESULTS.md), and
// what needs no request (`aegis profiles`, `validate`, `plugins`) never uses them: node:http(s)
// is loaded on the first request, got on the first multipart one, once each.
let nodeHttp: { http: typeof http; https: typeof https } | undefined;
let loadingHttp: Promise<unknown> | undefined;
function loadHttp(): Promise<unknown> {
  loadingHttp ??= Promise.all([import('node:http'), import('node:https')]).then(([h, s]) => (nodeHttp = { http: h.default, https: s.default }));
  return loadingHttp;
}
let got: Got | undefined;
let loadingGot: Promise<Got> | undefined;
function loadGot(): Promise<Got> {
  loadingGot ??= import('got').then((module) => (got = module.default));
  return loadingGot;
}

/**
 * The HTTP client every plugin uses (through its context): keep-alive agents,
 * idle detection, abort, redirects (redirects.ts), size limits and mapping of
 * every failure to a ProviderError. It never retries (the provider base
 * class's job), except to send once more, at once and on a new connection, a
 * request that met a kept-alive socket the server had closed while it was
 * idle (direct.ts, staleReuse).
 */
export class HttpClient {
  /** Created with the first request. */
  private agent?: { http: http.Agent; https: https.Agent };
  private readonly maxSockets: number;
  private readonly freeSocketTimeoutMs: number;
  private readonly userAgent: string;

  constructor(options: HttpClientOptions = {}) {
    this.maxSockets = options.maxSockets ?? 64;
    this.freeSocketTimeoutMs = options.freeSocketTimeoutMs ?? DEFAULT_FREE_SOCKET_TIMEOUT_MS;
    if (!(this.freeSocketTimeoutMs >= 0 && Number.isFinite(this.freeSocketTimeoutMs))) {
      throw new TypeError(`HttpClientOptions.freeSocketTimeoutMs must be a number of milliseconds, 0 or more (got ${String(options.freeSocketTimeoutMs)})`);
    }
    this.userAgent = options.userAgent ?? 'aegis-providers';
  }

  async getJson<T = unknown>(url: string, options: HttpRequestOptions = {}): Promise<HttpResponse<T>> {
    const response = await this.open('GET', url, undefined, options);
    return { ...response, body: parseJson<T>(await readText(response, options), 'GET', url) };
  }

  async postJson<T = unknown>(url: string, json: unknown, options: HttpRequestOptions = {}): Promise<HttpResponse<T>> {
    const response = await this.open('POST', url, { json }, options);
    return { ...response, body: parseJson<T>(await readText(response, options), 'POST', url) };
  }

  async postForm<T = unknown>(url: string, form: FormData, options: HttpRequestOptions = {}): Promise<HttpResponse<T>> {
    const response = await this.open('POST', url, { body: form }, options);
    return { ...response, body: parseJson<T>(await readText(response, options), 'POST', url) };
  }

  /** POSTs JSON and returns the raw response bytes (audio, images). */
  async postForBytes(url: string, json: unknown, options: HttpRequestOptions = {}): Promise<HttpResponse<Uint8Array>> {
    const response = await this.open('POST', url, { json }, options);
    return { ...response, body: await readBytes(response, options) };
  }

  /** POSTs JSON and returns the 2xx response body as a stream of chunks; failures arrive as ProviderErrors. */
  postStream(url: string, json: unknown, options: HttpRequestOptions = {}): Promise<HttpResponse<AsyncIterable<Buffer>>> {
    // The body's reader is made in the step that checks the answer: one async step less before its first chunk.
    return this.open('POST', url, { json }, options, (response) => {
      const body = mappedChunks(response, options);
      const source: StreamSource = {
        maxLineBytes: options.maxLineBytes ?? DEFAULT_LIMITS.maxLineBytes,
        url,
        method: 'POST',
        destroy: () => response.stream.destroy(),
      };
      return { ...response, body: Object.assign(body, { [STREAM_SOURCE]: source }) };
    });
  }

  /** Closes the kept-alive sockets. */
  destroy(): void {
    this.agent?.http.destroy();
    this.agent?.https.destroy();
    this.agent = undefined;
  }

  /** Sends the request, following redirects; the 2xx answer (`then` applied to it), else its error. */
  private async open<R = OpenResponse>(
    method: 'GET' | 'POST',
    url: string,
    payload: Payload,
    options: HttpRequestOptions,
    then: (response: OpenResponse) => R = (response) => response as R,
  ): Promise<R> {
    const ctx = { method, url, idleTimeoutMs: options.idleTimeoutMs, signal: options.signal };
    if (options.idleTimeoutMs !== undefined && !(options.idleTimeoutMs >= 0)) {
      throw new TypeError(`HttpRequestOptions.idleTimeoutMs must be a number of milliseconds, 0 or more (got ${String(options.idleTimeoutMs)})`);
    }
    if (options.signal?.aborted) throw transportError(new Error('aborted'), ctx);
    const headers: Record<string, string> = { 'user-agent': this.userAgent };
    if (options.headers) for (const k in options.headers) {
      const v = options.headers[k];
      if (v !== undefined) headers[k.toLowerCase()] = v;
    }
    headers['accept-encoding'] ??= ACCEPT_ENCODING;
    if (!nodeHttp) await loadHttp();
    const transport = nodeHttp!;
    if (!this.agent) {
      // `timeout` is Node's idle timeout of a pooled socket; the Keep-Alive hint lowers it (keepSocketAlive).
      const agentOptions = { keepAlive: true, maxSockets: this.maxSockets, timeout: this.freeSocketTimeoutMs };
      this.agent = { http: new transport.http.Agent(agentOptions), https: new transport.https.Agent(agentOptions) };
      markIdleSockets(this.agent.http);
      markIdleSockets(this.agent.https);
    }
    let hop: Hop;
    try {
      const target = parseTarget(url);
      if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new Error(`unsupported protocol ${target.protocol}`);
      hop = { method, url: target, headers, body: payload === undefined ? undefined : 'json' in payload ? JSON.stringify(payload.json) : payload.body };
    } catch (error) {
      throw new ProviderError(`${method} ${redactUrl(url)}: invalid request (${(error as Error).message})`, {
        url: redactUrl(url),
        reason: 'bad_response',
        cause: error,
      });
    }
    const policy = options.followRedirects ?? 'same_origin';
    const original = hop.url;
    // Redirects are followed here, hop by hop, rather than by got: each hop is judged against
    // the URL first asked for, and a 3xx body is read only up to a bound (discard).
    for (let followed = 0; ; followed++) {
      let sent: DirectResponse;
      try {
        sent = await this.send(hop, options);
      } catch (error) {
        throw transportError(error, ctx);
      }
      const { res, stream } = sent;
      stream.on('error', () => undefined); // errors are read through iteration or the readers' listeners
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (location === undefined || !REDIRECT_CODES.has(status)) {
        const response = this.checked({ status, headers: res.headers, url, stream, ctx }, res.statusMessage, options);
        return response instanceof Promise ? response : then(response);
      }
      const verdict = judgeRedirect(original, hop.url, location, status, policy);
      if (!verdict.follow || followed === MAX_REDIRECTS) {
        stream.destroy(); // its body is of no use, and may be endless
        if (!verdict.follow) throw redirectError(method, url, status, location, verdict.why, verdict.target);
        throw tooManyRedirectsError(method, url);
      }
      discard(stream, wireComplete(stream));
      hop = nextHop(hop, status, location, verdict.crossOrigin);
    }
  }

  /** Sends one hop: a JSON or bodiless one straight on node:http, a multipart one with got. */
  private send(hop: Hop, options: HttpRequestOptions): Promise<DirectResponse> {
    const { body } = hop;
    if (body === undefined || typeof body === 'string') {
      const headers = hop.headers;
      if (body !== undefined) {
        headers['content-type'] ??= 'application/json';
        headers['content-length'] = String(Buffer.byteLength(body));
      }
      const agent = hop.url.protocol === 'https:' ? this.agent!.https : this.agent!.http;
      return sendDirect(nodeHttp!, { method: hop.method, url: hop.url, headers, body, agent, signal: options.signal, idleTimeoutMs: options.idleTimeoutMs });
    }
    return this.sendWithGot(hop, body, options, false);
  }

  /** The multipart hop, with got; a stale kept-alive socket is dealt with as sendDirect does (direct.ts, staleReuse). */
  private async sendWithGot(hop: Hop, body: FormData, options: HttpRequestOptions, fresh: boolean): Promise<DirectResponse> {
    const client = got ?? (await loadGot());
    const idleMs = idleTimerMs(options.idleTimeoutMs);
    let stream: BodyStream & { reusedSocket?: boolean; socket?: Socket | null };
    try {
      stream = client.stream(hop.url, {
        method: hop.method,
        body,
        headers: hop.headers,
        // A resent request goes on a connection of its own (agents without keep-alive, used once).
        agent: fresh ? { http: new nodeHttp!.http.Agent(), https: new nodeHttp!.https.Agent() } : this.agent,
        signal: options.signal,
        timeout: idleMs !== undefined ? { socket: idleMs } : {},
        retry: { limit: 0 },
        throwHttpErrors: false,
        followRedirect: false,
      } as never) as unknown as typeof stream;
    } catch (error) {
      throw new ProviderError(`${hop.method} ${redactUrl(hop.url.href)}: invalid request (${(error as Error).message})`, {
        url: redactUrl(hop.url.href),
        reason: 'bad_response',
        cause: error,
      });
    }
    stream.on('error', () => undefined); // errors are read through iteration or the promise below
    try {
      const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
        stream.once('response', resolve);
        stream.once('error', reject);
      });
      return { res, stream };
    } catch (error) {
      stream.destroy();
      if (fresh || options.signal?.aborted || !staleReuse(error, stream.reusedSocket, stream.socket)) throw error;
      return this.sendWithGot(hop, body, options, true);
    }
  }

  /**
   * A non-2xx answer as a typed error (its body read up to a small limit), else
   * the response. The status is the answer: a body that cannot be read (cut,
   * silent, or not decodable) leaves the error without the backend's message,
   * but still an HTTP error of that status, retryable as the status is (a 401
   * whose body was cut is not retried), with its Retry-After. Only the call's
   * own abort or deadline wins over it.
   */
  private checked(response: OpenResponse, statusText: string | undefined, options: HttpRequestOptions): OpenResponse | Promise<never> {
    if (response.status >= 200 && response.status < 300) return response;
    const failure = (bodyText: string, bodyUnreadable?: string): ProviderError =>
      httpStatusError({
        method: response.ctx.method,
        url: response.url,
        status: response.status,
        statusText,
        bodyText,
        bodyUnreadable,
        retryAfterMs: parseRetryAfter(response.headers),
        extract: options.errorMessage,
        retryable: options.errorRetryable,
      });
    return readText(response, { ...options, maxResponseBytes: ERROR_BODY_MAX_BYTES }, true).then(
      (text) => {
        throw failure(text);
      },
      (error: unknown) => {
        if (response.ctx.signal?.aborted) throw error;
        // What broke it, in a word and a code (`connection ECONNRESET`, `idle_timeout`, `bad_response Z_DATA_ERROR`).
        const code = (error as { cause?: { code?: unknown } }).cause?.code;
        const reason = ProviderError.isInstance(error) ? error.reason : 'read error';
        throw failure('', typeof code === 'string' && reason !== 'idle_timeout' ? `${reason} ${code}` : reason);
      },
    );
  }
}

/** The statuses whose Location is followed, as got's (304 aside: not a redirect to follow). */
const REDIRECT_CODES = new Set([300, 301, 302, 303, 307, 308]);

/**
 * The hop a followed redirect leads to, as got builds it: a 303 becomes a
 * bodiless GET; a cross-origin hop (allowed by `cross_origin` only) a bare GET
 * without any header set here (redirects.ts); a same-origin one keeps the
 * URL's credentials.
 */
function nextHop(hop: Hop, status: number, location: string, crossOrigin: boolean): Hop {
  const url = redirectTarget(location, hop.url)!; // judged valid by judgeRedirect
  const next: Hop = { method: hop.method, url, headers: { ...hop.headers }, body: hop.body };
  delete next.headers['content-length'];
  if (status === 303 && next.method !== 'GET') {
    next.method = 'GET';
    next.body = undefined;
    delete next.headers['content-type'];
  }
  if (crossOrigin) stripForCrossOrigin(next);
  else {
    url.username = hop.url.username;
    url.password = hop.url.password;
  }
  return next;
}

interface OpenResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  url: string;
  stream: BodyStream;
  ctx: { method: string; url: string; idleTimeoutMs?: number; signal?: AbortSignal };
}

/**
 * The body's chunks, each failure a ProviderError, the size limit checked as
 * they come. A failure closes the socket. A reader that stops before the end
 * lets the body end (see `discard`) rather than closing the socket.
 */
function mappedChunks(response: OpenResponse, options: HttpRequestOptions): AsyncIterableIterator<Buffer> {
  const limit = options.maxStreamBytes ?? DEFAULT_LIMITS.maxStreamBytes;
  const { stream } = response;
  let total = 0;
  return new BodyChunks(
    stream,
    (chunk) => {
      total += chunk.length;
      if (total > limit) throw tooLargeError('maxStreamBytes', limit, { ...response.ctx, status: response.status });
    },
    // A plugin returns at the backend's end marker, a moment before the body's own end (often
    // before its last bytes arrive): let the body end, so the kept-alive socket goes back to the
    // pool instead of being closed (and a new connection, with its TLS handshake, opened next
    // time). A consumer that stopped early looks the same from here: what has not ended within a
    // short grace is closed.
    (body) => {
      if (!body.destroyed && !body.readableEnded) discard(body as BodyStream, wireComplete(body as BodyStream));
    },
    (error) => {
      if (!stream.destroyed) stream.destroy();
      return transportError(error, { ...response.ctx, status: response.status });
    },
  );
}

/** Whether the body's bytes have all arrived (got's stream and a decoder carry the response; a bare response is one). */
function wireComplete(stream: BodyStream): boolean {
  return (stream.response ?? (stream as { complete?: boolean })).complete === true;
}

/** How long a body no one reads (a 3xx's, a stream's rest) may take to end before its socket is closed. */
const DRAIN_GRACE_MS = 50;

/**
 * Reads a body no one needs (a followed redirect's, the rest of a stream left
 * by its reader) to its end, so its kept-alive socket goes back to the pool;
 * but at most ERROR_BODY_MAX_BYTES of it (decoded) and for DRAIN_GRACE_MS: a
 * longer one, endless or dripping, is closed instead (and its socket with it).
 */
function discard(stream: BodyStream, complete: boolean): void {
  let read = 0;
  const onData = (chunk: Buffer): void => {
    read += chunk.length;
    if (read > ERROR_BODY_MAX_BYTES) stream.destroy();
  };
  stream.on('data', onData);
  const timer = complete ? undefined : setTimeout(() => stream.destroy(), DRAIN_GRACE_MS);
  timer?.unref();
  const done = (): void => {
    clearTimeout(timer);
    stream.off('data', onData);
  };
  stream.once('end', done);
  stream.once('close', done);
}

/**
 * Reads a whole body with stream events rather than async iteration (whose
 * promises and listeners per chunk every non-streaming request would pay for).
 * Closing before the end, without an error, is a premature close, as it is
 * for async iteration.
 */
function readBytes(response: OpenResponse, options: HttpRequestOptions, truncate = false): Promise<Buffer> {
  const limit = options.maxResponseBytes ?? DEFAULT_LIMITS.maxResponseBytes;
  const { stream } = response;
  const tooLarge = (): ProviderError => tooLargeError('maxResponseBytes', limit, { ...response.ctx, status: response.status });
  // A body announced larger than the limit (and not compressed, so the length is the decoded one) is not read at all.
  const declared = Number(response.headers['content-length']);
  if (!truncate && declared > limit && !response.headers['content-encoding']) {
    stream.destroy();
    return Promise.reject(tooLarge());
  }
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const settle = (error?: unknown): void => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', settle);
      stream.off('close', onClose);
      if (error === undefined || (truncate && chunks.length > 0 && !ProviderError.isInstance(error))) resolve(Buffer.concat(chunks));
      else reject(transportError(error, { ...response.ctx, status: response.status }));
    };
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total <= limit) {
        chunks.push(chunk);
        return;
      }
      if (truncate) chunks.push(chunk.subarray(0, chunk.length - (total - limit)));
      settle(truncate ? undefined : tooLarge());
      stream.destroy();
    };
    const onEnd = (): void => settle();
    const onClose = (): void => settle(closedBeforeEnd(stream));
    // `on`, not `once`: settle removes them all, and once-wrappers cost on every request.
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', settle);
    stream.on('close', onClose);
  });
}

async function readText(response: OpenResponse, options: HttpRequestOptions, truncate = false): Promise<string> {
  const bytes = await readBytes(response, options, truncate);
  try {
    return bytes.toString('utf8');
  } catch {
    // Past the longest string V8 makes (about 512 MiB): too large to be text.
    throw tooLargeError('maxResponseBytes', bytes.length, { ...response.ctx, status: response.status });
  }
}

function parseJson<T>(text: string, method: string, url: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    const safeUrl = redactUrl(url);
    throw new ProviderError(`${method} ${safeUrl} returned a body that is not valid JSON: ${excerpt(text, 200) || '(empty)'}`, {
      url: safeUrl,
      status: 200,
      bodyExcerpt: excerpt(text),
      reason: 'bad_response',
      retryable: false,
    });
  }
}
