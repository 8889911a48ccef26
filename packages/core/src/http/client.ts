import type http from 'node:http';
import type https from 'node:https';
import type { Got } from 'got';
import { ProviderError } from '../errors/provider-error.js';
import { httpStatusError, transportError, excerpt, type ErrorMessageExtractor } from './error-mapping.js';
import { parseRetryAfter } from './retry-after.js';
import { redactUrl } from './url.js';
import { DEFAULT_LIMITS, ERROR_BODY_MAX_BYTES, STREAM_SOURCE, tooLargeError, type StreamSource } from './limits.js';
import { judgeRedirect, MAX_REDIRECTS, redirectError, stripForCrossOrigin, type RedirectPolicy } from './redirects.js';
import { ACCEPT_ENCODING, sendDirect, type BodyStream } from './direct.js';
import { BodyChunks } from './body-chunks.js';

export interface HttpRequestOptions {
  headers?: Record<string, string | undefined>;
  /** Aborts the request (the caller's signal combined with the call's deadline). */
  signal?: AbortSignal;
  /** Fails when no byte arrives for this long (silence), in ms. A slow but live answer is never cut. */
  idleTimeoutMs?: number;
  /** Reads the backend's own message from its error body. */
  errorMessage?: ErrorMessageExtractor;
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
  /** Sockets per host kept open and reused (default 64). */
  maxSockets?: number;
  userAgent?: string;
}

type Payload = { json: unknown } | { body: FormData } | undefined;

// got (and its dependencies, node:https and TLS among them) is a large share of a cold
// start (bench/RESULTS.md), and what needs no request (`aegis profiles`, `validate`,
// `plugins`) never uses it: it is loaded on the first request, once, as are the agents.
let got: Got | undefined;
let loading: Promise<Got> | undefined;
let nodeHttp: { http: typeof http; https: typeof https };
function loadGot(): Promise<Got> {
  loading ??= Promise.all([import('got'), import('node:http'), import('node:https')]).then(([module, h, s]) => {
    nodeHttp = { http: h.default, https: s.default };
    return (got = module.default);
  });
  return loading;
}

/**
 * The HTTP client every plugin uses (through its context): keep-alive agents,
 * idle detection, abort, size limits and mapping of every failure to a
 * ProviderError. It never retries: retrying is the provider base class's job.
 */
export class HttpClient {
  /** Created with the first request. */
  private agent?: { http: http.Agent; https: https.Agent };
  private readonly maxSockets: number;
  private readonly userAgent: string;

  constructor(options: HttpClientOptions = {}) {
    this.maxSockets = options.maxSockets ?? 64;
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
  async postStream(url: string, json: unknown, options: HttpRequestOptions = {}): Promise<HttpResponse<AsyncIterable<Buffer>>> {
    const response = await this.open('POST', url, { json }, options);
    const body = mappedChunks(response, options);
    const source: StreamSource = {
      maxLineBytes: options.maxLineBytes ?? DEFAULT_LIMITS.maxLineBytes,
      url,
      method: 'POST',
      destroy: () => response.stream.destroy(),
    };
    return { ...response, body: Object.assign(body, { [STREAM_SOURCE]: source }) };
  }

  /** Closes the kept-alive sockets. */
  destroy(): void {
    this.agent?.http.destroy();
    this.agent?.https.destroy();
    this.agent = undefined;
  }

  private async open(method: 'GET' | 'POST', url: string, payload: Payload, options: HttpRequestOptions): Promise<OpenResponse> {
    const ctx = { method, url, idleTimeoutMs: options.idleTimeoutMs, signal: options.signal };
    if (options.signal?.aborted) throw transportError(new Error('aborted'), ctx);
    const headers: Record<string, string> = { 'user-agent': this.userAgent };
    if (options.headers) for (const k in options.headers) {
      const v = options.headers[k];
      if (v !== undefined) headers[k.toLowerCase()] = v;
    }
    const client = got ?? (await loadGot());
    if (!this.agent) {
      const agentOptions = { keepAlive: true, maxSockets: this.maxSockets };
      this.agent = { http: new nodeHttp.http.Agent(agentOptions), https: new nodeHttp.https.Agent(agentOptions) };
    }
    const policy = options.followRedirects ?? 'same_origin';
    // JSON and bodiless requests go straight on node:http (direct.ts); a redirect they meet, and
    // multipart bodies, go on with got.
    // (`return await`: a promise returned from an async function costs two more steps to settle.)
    if (payload === undefined || 'json' in payload) return await this.openDirect(method, url, payload, headers, options, policy, ctx);
    return await this.openWithGot(client, method, url, url, payload, headers, options, policy, MAX_REDIRECTS, ctx);
  }

  private async openDirect(
    method: 'GET' | 'POST',
    url: string,
    payload: { json: unknown } | undefined,
    headers: Record<string, string>,
    options: HttpRequestOptions,
    policy: RedirectPolicy,
    ctx: OpenResponse['ctx'],
  ): Promise<OpenResponse> {
    let target: URL;
    let body: string | undefined;
    try {
      target = new URL(url);
      if (target.protocol !== 'http:' && target.protocol !== 'https:') throw new Error(`unsupported protocol ${target.protocol}`);
      if (payload !== undefined) {
        body = JSON.stringify(payload.json);
        headers['content-type'] ??= 'application/json';
        headers['content-length'] = String(Buffer.byteLength(body));
      }
    } catch (error) {
      throw new ProviderError(`${method} ${redactUrl(url)}: invalid request (${(error as Error).message})`, {
        url: redactUrl(url),
        reason: 'bad_response',
        cause: error,
      });
    }
    headers['accept-encoding'] ??= ACCEPT_ENCODING;
    const agent = target.protocol === 'https:' ? this.agent!.https : this.agent!.http;
    let sent: Awaited<ReturnType<typeof sendDirect>>;
    try {
      sent = await sendDirect(nodeHttp, { method, url: target, headers, body, agent, signal: options.signal, idleTimeoutMs: options.idleTimeoutMs });
    } catch (error) {
      throw transportError(error, ctx);
    }
    const { res, stream } = sent;
    stream.on('error', () => undefined); // errors are read through iteration or the readers' listeners
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    if (location !== undefined && REDIRECT_CODES.has(status)) {
      const verdict = judgeRedirect(target, target, location, status, policy);
      if (!verdict.follow) {
        stream.destroy(); // its body is of no use, and may be endless
        throw redirectError(method, url, status, location, verdict.why, verdict.target);
      }
      stream.resume(); // the 3xx body is not read: let it end so the socket goes back to the pool
      const next = new URL(Buffer.from(location, 'binary').toString(), target);
      // As got follows it: a 303 (or a cross-origin hop, see redirects.ts) becomes a bodiless GET.
      let nextMethod: 'GET' | 'POST' = method;
      let nextPayload: Payload = payload;
      const nextHeaders = { ...headers };
      delete nextHeaders['content-length'];
      if (status === 303 || verdict.crossOrigin) {
        nextMethod = 'GET';
        nextPayload = undefined;
        delete nextHeaders['content-type'];
      }
      if (verdict.crossOrigin) {
        const hop = { method: nextMethod, headers: nextHeaders as Record<string, unknown> };
        stripForCrossOrigin(hop);
      }
      return this.openWithGot(got!, nextMethod, next.href, url, nextPayload, nextHeaders, options, policy, MAX_REDIRECTS - 1, ctx);
    }
    return this.checked({ status, headers: res.headers, url, stream, ctx }, res.statusMessage, options);
  }

  private async openWithGot(
    client: Got,
    method: 'GET' | 'POST',
    url: string,
    original: string,
    payload: Payload,
    headers: Record<string, string>,
    options: HttpRequestOptions,
    policy: RedirectPolicy,
    maxRedirects: number,
    ctx: OpenResponse['ctx'],
  ): Promise<OpenResponse> {
    let stream: BodyStream;
    let refused: { status: number; location: string; why: string; target?: URL } | undefined;
    try {
      stream = client.stream(url, {
        method,
        ...(payload ?? {}),
        headers,
        agent: this.agent,
        signal: options.signal,
        timeout: options.idleTimeoutMs ? { socket: options.idleTimeoutMs } : {},
        retry: { limit: 0 },
        throwHttpErrors: false,
        // Each hop is judged against the URL first asked for; a refused one comes back as the
        // 3xx response, turned into a typed error below.
        followRedirect: (res: { statusCode: number; url: string; headers: Record<string, string | undefined> }) => {
          const location = res.headers.location ?? '';
          const verdict = judgeRedirect(new URL(original), new URL(res.url), location, res.statusCode, policy);
          if (!verdict.follow) refused = { status: res.statusCode, location, why: verdict.why, target: verdict.target };
          return verdict.follow;
        },
        maxRedirects,
        // Only `cross_origin` lets a hop leave the origin: it then goes without body or any header set here.
        ...(policy === 'cross_origin' ? { hooks: { beforeRedirect: [(next: RedirectHop) => stripIfCrossOrigin(original, next)] } } : {}),
      } as never) as unknown as BodyStream;
    } catch (error) {
      throw new ProviderError(`${method} ${redactUrl(url)}: invalid request (${(error as Error).message})`, {
        url: redactUrl(url),
        reason: 'bad_response',
        cause: error,
      });
    }
    stream.on('error', () => undefined); // errors are read through iteration or the promise below
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      stream.once('response', resolve);
      stream.once('error', reject);
    }).catch((error: unknown) => {
      stream.destroy();
      throw transportError(error, ctx);
    });
    const response: OpenResponse = { status: res.statusCode ?? 0, headers: res.headers, url: original, stream, ctx };
    if (refused && refused.status === response.status) {
      stream.destroy(); // its body is of no use, and may be endless
      throw redirectError(ctx.method, original, refused.status, refused.location, refused.why, refused.target);
    }
    return this.checked(response, res.statusMessage, options);
  }

  /** A non-2xx answer as a typed error (its body read up to a small limit), else the response. */
  private checked(response: OpenResponse, statusText: string | undefined, options: HttpRequestOptions): OpenResponse | Promise<never> {
    if (response.status >= 200 && response.status < 300) return response;
    return readText(response, { ...options, maxResponseBytes: ERROR_BODY_MAX_BYTES }, true).then((text) => {
      throw httpStatusError({
        method: response.ctx.method,
        url: response.url,
        status: response.status,
        statusText,
        bodyText: text,
        retryAfterMs: parseRetryAfter(response.headers),
        extract: options.errorMessage,
      });
    });
  }
}

/** The statuses got follows a Location of (304 aside: not a redirect to follow). */
const REDIRECT_CODES = new Set([300, 301, 302, 303, 307, 308]);

interface RedirectHop {
  url: URL;
  method: string;
  headers: Record<string, unknown>;
}

function stripIfCrossOrigin(original: string, next: RedirectHop): void {
  const from = new URL(original);
  const to = next.url;
  if (to.protocol !== from.protocol || to.hostname !== from.hostname || to.port !== from.port) stripForCrossOrigin(next);
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
 * lets the body end (see `drain`) rather than closing the socket.
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
      if (!body.destroyed && !body.readableEnded) drain(body as BodyStream, wireComplete(body as BodyStream));
    },
    (error) => {
      if (!stream.destroyed) stream.destroy();
      return transportError(error, response.ctx);
    },
  );
}

/** Whether the body's bytes have all arrived (got's stream and a decoder carry the response; a bare response is one). */
function wireComplete(stream: BodyStream): boolean {
  return (stream.response ?? (stream as { complete?: boolean })).complete === true;
}

/** How long a stream left by its reader may take to end before its socket is closed. */
const DRAIN_GRACE_MS = 50;

/** Reads the rest of a body to its end, closing it if that takes longer than the grace. */
function drain(stream: BodyStream, complete: boolean): void {
  stream.resume();
  if (complete) return;
  const timer = setTimeout(() => stream.destroy(), DRAIN_GRACE_MS);
  timer.unref();
  const done = (): void => clearTimeout(timer);
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
      else reject(transportError(error, response.ctx));
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
    const onClose = (): void => {
      const state = (stream as unknown as { _readableState?: { ended?: boolean } })._readableState;
      if (stream.readableEnded || (state?.ended && stream.readableLength === 0)) settle();
      else settle(Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
    };
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
