import http from 'node:http';
import https from 'node:https';
import got, { type Request as GotRequest } from 'got';
import { ProviderError } from '../errors/provider-error.js';
import { httpStatusError, transportError, excerpt, type ErrorMessageExtractor } from './error-mapping.js';
import { parseRetryAfter } from './retry-after.js';
import { redactUrl } from './url.js';

export interface HttpRequestOptions {
  headers?: Record<string, string | undefined>;
  /** Aborts the request (the caller's signal combined with the call's deadline). */
  signal?: AbortSignal;
  /** Fails when no byte arrives for this long (silence), in ms. A slow but live answer is never cut. */
  idleTimeoutMs?: number;
  /** Reads the backend's own message from its error body. */
  errorMessage?: ErrorMessageExtractor;
  /** Largest body accepted, in bytes (default 64 MiB). */
  maxResponseBytes?: number;
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

const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
const ERROR_BODY_MAX_BYTES = 64 * 1024;

/**
 * The HTTP client every plugin uses (through its context): keep-alive agents,
 * idle detection, abort, size limits and mapping of every failure to a
 * ProviderError. It never retries: retrying is the provider base class's job.
 */
export class HttpClient {
  private readonly agent: { http: http.Agent; https: https.Agent };
  private readonly userAgent: string;

  constructor(options: HttpClientOptions = {}) {
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 64 };
    this.agent = { http: new http.Agent(agentOptions), https: new https.Agent(agentOptions) };
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
    return { ...response, body: mappedChunks(response, options) };
  }

  /** Closes the kept-alive sockets. */
  destroy(): void {
    this.agent.http.destroy();
    this.agent.https.destroy();
  }

  private async open(method: 'GET' | 'POST', url: string, payload: Payload, options: HttpRequestOptions): Promise<OpenResponse> {
    const ctx = { method, url, idleTimeoutMs: options.idleTimeoutMs, signal: options.signal };
    if (options.signal?.aborted) throw transportError(new Error('aborted'), ctx);
    const headers: Record<string, string> = { 'user-agent': this.userAgent };
    for (const [k, v] of Object.entries(options.headers ?? {})) if (v !== undefined) headers[k.toLowerCase()] = v;
    let stream: GotRequest;
    try {
      stream = got.stream(url, {
        method,
        ...(payload ?? {}),
        headers,
        agent: this.agent,
        signal: options.signal,
        timeout: options.idleTimeoutMs ? { socket: options.idleTimeoutMs } : {},
        retry: { limit: 0 },
        throwHttpErrors: false,
        followRedirect: true,
      } as never) as unknown as GotRequest;
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
    const response: OpenResponse = { status: res.statusCode ?? 0, headers: res.headers, url, stream, ctx };
    if (response.status < 200 || response.status >= 300) {
      const text = await readText(response, { ...options, maxResponseBytes: ERROR_BODY_MAX_BYTES }, true);
      throw httpStatusError({
        method,
        url,
        status: response.status,
        statusText: res.statusMessage,
        bodyText: text,
        retryAfterMs: parseRetryAfter(res.headers),
        extract: options.errorMessage,
      });
    }
    return response;
  }
}

interface OpenResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  url: string;
  stream: GotRequest;
  ctx: { method: string; url: string; idleTimeoutMs?: number; signal?: AbortSignal };
}

async function* mappedChunks(response: OpenResponse, options: HttpRequestOptions): AsyncGenerator<Buffer> {
  const limit = options.maxResponseBytes ?? Number.POSITIVE_INFINITY;
  let total = 0;
  try {
    for await (const chunk of response.stream as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > limit) throw tooLarge(response, limit);
      yield chunk;
    }
  } catch (error) {
    throw transportError(error, response.ctx);
  } finally {
    // A consumer that stops early (or an error) must not leave the socket busy.
    if (!response.stream.destroyed) response.stream.destroy();
  }
}

async function readBytes(response: OpenResponse, options: HttpRequestOptions, truncate = false): Promise<Uint8Array> {
  const limit = options.maxResponseBytes ?? DEFAULT_MAX_BYTES;
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of response.stream as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > limit) {
        if (truncate) {
          chunks.push(chunk.subarray(0, chunk.length - (total - limit)));
          response.stream.destroy();
          break;
        }
        response.stream.destroy();
        throw tooLarge(response, limit);
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (truncate && chunks.length > 0 && !ProviderError.isInstance(error)) return Buffer.concat(chunks);
    throw transportError(error, response.ctx);
  }
  return Buffer.concat(chunks);
}

async function readText(response: OpenResponse, options: HttpRequestOptions, truncate = false): Promise<string> {
  return Buffer.from(await readBytes(response, options, truncate)).toString('utf8');
}

function tooLarge(response: OpenResponse, limit: number): ProviderError {
  const url = redactUrl(response.url);
  return new ProviderError(`${response.ctx.method} ${url}: response is larger than ${limit} bytes`, {
    url,
    status: response.status,
    reason: 'response_too_large',
    retryable: false,
  });
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
