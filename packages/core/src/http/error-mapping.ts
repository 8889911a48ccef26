import { ProviderError, isRetryableStatus, type ProviderErrorReason } from '../errors/provider-error.js';
import { redactUrl } from './url.js';

/** Pulls the backend's own message out of an error body; plugins pass their own to the HTTP helpers. */
export type ErrorMessageExtractor = (body: unknown, text: string) => string | undefined;

const EXCERPT_LENGTH = 500;

export function excerpt(text: string, length = EXCERPT_LENGTH): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > length ? flat.slice(0, length) + '…' : flat;
}

/**
 * The common error body shapes: `{"error": {"message"}}`,
 * `{"error": "..."}`, `{"detail": {"msg"}}`,
 * `{"message": "..."}`, `{"detail": "..."}`.
 */
export const defaultErrorMessage: ErrorMessageExtractor = (body) => {
  if (typeof body !== 'object' || body === null) return undefined;
  const record = body as Record<string, unknown>;
  const error = record.error;
  if (typeof error === 'string') return error;
  if (typeof error === 'object' && error !== null) {
    const message = (error as Record<string, unknown>).message;
    if (typeof message === 'string') return message;
  }
  const detail = record.detail;
  if (typeof detail === 'string') return detail;
  if (typeof detail === 'object' && detail !== null) {
    const msg = (detail as Record<string, unknown>).msg ?? (detail as Record<string, unknown>).message;
    if (typeof msg === 'string') return msg;
  }
  if (typeof record.message === 'string') return record.message;
  return undefined;
};

/**
 * Whether a non-2xx answer is worth retrying, judged from its error body, for
 * a backend whose status says less than its body: e.g. one that answers an
 * unparsable or too large request with HTTP 500 and a body that says so, which
 * the same request would meet again. `body` is the parsed JSON body
 * (undefined when it is not JSON), `text` the body as read (at most 64 KiB,
 * empty when it could not be read). Return true or false to decide, or
 * undefined to keep the status's default (408, 409, 429 and 5xx retryable).
 * Plugins pass their own to the HTTP helpers (`errorRetryable`), as they pass
 * an ErrorMessageExtractor.
 */
export type ErrorRetryableJudge = (status: number, body: unknown, text: string) => boolean | undefined;

export interface HttpFailure {
  method: string;
  url: string;
  status: number;
  statusText?: string;
  bodyText: string;
  /** Why the body could not be read, when it could not (then `bodyText` is empty). */
  bodyUnreadable?: string;
  retryAfterMs?: number;
  extract?: ErrorMessageExtractor;
  /** Overrides `retryable` from the body (see ErrorRetryableJudge). */
  retryable?: ErrorRetryableJudge;
}

/**
 * A plugin's extractor or retry judge, run on a body the backend chose: one
 * that throws (a `null` body read as an object) counts as having no answer,
 * so the failure is still the HTTP error, with its status and the status's
 * retry rule, never the plugin's TypeError.
 */
function pluginHook<T>(hook: () => T | undefined): T | undefined {
  try {
    return hook();
  } catch {
    return undefined;
  }
}

/** A non-2xx answer as a ProviderError carrying status, URL, the backend's own message and `retryable`. */
export function httpStatusError(failure: HttpFailure): ProviderError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(failure.bodyText);
  } catch {
    parsed = undefined;
  }
  const backendMessage =
    (parsed !== undefined ? pluginHook(() => (failure.extract ?? defaultErrorMessage)(parsed, failure.bodyText)) : undefined) ??
    (parsed !== undefined && failure.extract ? defaultErrorMessage(parsed, failure.bodyText) : undefined) ??
    (parsed === undefined && failure.bodyText.trim() && !/^\s*</.test(failure.bodyText) ? excerpt(failure.bodyText, 200) : undefined);
  const url = redactUrl(failure.url);
  const statusLine = `${failure.status}${failure.statusText ? ' ' + failure.statusText : ''}`;
  const retryAfter = failure.retryAfterMs !== undefined ? ` (retry after ${Math.ceil(failure.retryAfterMs / 1000)} s)` : '';
  const unreadable = failure.bodyUnreadable !== undefined ? ` (its body could not be read: ${failure.bodyUnreadable})` : '';
  return new ProviderError(
    `${failure.method} ${url} failed with HTTP ${statusLine}${backendMessage ? `: ${backendMessage}` : ''}${unreadable}${retryAfter}`,
    {
      status: failure.status,
      url,
      bodyExcerpt: excerpt(failure.bodyText),
      retryable: pluginHook(() => failure.retryable?.(failure.status, parsed, failure.bodyText)) ?? isRetryableStatus(failure.status),
      retryAfterMs: failure.retryAfterMs,
      reason: 'http',
    },
  );
}

/** Failures of the connection or the network: the next attempt may well succeed. */
const CONNECTION_CODES = new Set([
  'ERR_TLS_HANDSHAKE_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'ECONNABORTED',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
]);

/**
 * The server's certificate failed verification (OpenSSL's X509_V_ERR names,
 * as Node reports them, and Node's own host name check): the same
 * certificate fails the same way next time.
 */
const CERTIFICATE_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_CRL',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_CHAIN_TOO_LONG',
  'INVALID_CA',
  'INVALID_PURPOSE',
  'PATH_LENGTH_EXCEEDED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * A request node:http refuses to send: a header value with a character HTTP
 * does not allow (an api_key with a newline in it, say), a header name that
 * is not a token, a path with a raw space. The same request is refused again.
 */
const INVALID_REQUEST_CODES = new Set(['ERR_INVALID_CHAR', 'ERR_INVALID_HTTP_TOKEN', 'ERR_HTTP_INVALID_HEADER_VALUE', 'ERR_UNESCAPED_CHARACTERS']);

/** A body that does not decode as its Content-Encoding says: zlib's codes (gzip, deflate) and the brotli decoder's (`ERR__ERROR_FORMAT_...`). */
function isDecodeError(code: string): boolean {
  return code.startsWith('Z_') || code.startsWith('ERR__ERROR_');
}

/** An operating system's error number (ECONNRESET, ENETDOWN, EAI_AGAIN...), as against Node's own ERR_ codes. */
const ERRNO_CODE = /^E(?:AI_)?[A-Z0-9]+$/;

interface GotLikeError {
  name?: string;
  code?: string;
  message?: string;
  event?: string;
}

export interface TransportContext {
  method: string;
  url: string;
  idleTimeoutMs?: number;
  signal?: AbortSignal;
  /** The answer's status, once one came: kept by an error that is the body's own (one that does not decode). */
  status?: number;
}

/**
 * The error for a call stopped by its signal: the caller's abort, or the
 * call's deadline (a signal whose reason is a TimeoutError). Never retryable.
 */
export function abortedError(signal: AbortSignal, where?: string, url?: string, cause?: unknown): ProviderError {
  const timedOut = (signal.reason as { name?: string } | undefined)?.name === 'TimeoutError';
  const prefix = where ? `${where}: ` : '';
  return new ProviderError(
    timedOut ? `${prefix}no complete answer before the call's deadline (timeout)` : `${prefix}aborted by the caller`,
    { url, retryable: false, reason: timedOut ? 'timeout' : 'aborted', cause },
  );
}

/** A failure below HTTP (refused, reset, idle, deadline, abort) as a ProviderError. */
export function transportError(error: unknown, ctx: TransportContext): ProviderError {
  if (ProviderError.isInstance(error)) return error;
  const e = (error ?? {}) as GotLikeError;
  const url = redactUrl(ctx.url);
  const where = `${ctx.method} ${url}`;
  const make = (message: string, reason: ProviderErrorReason, retryable: boolean) =>
    new ProviderError(message, { url, retryable, reason, cause: error });

  if (ctx.signal?.aborted) return abortedError(ctx.signal, where, url, error);
  if (e.name === 'TimeoutError' && e.event === 'socket') {
    const secs = ctx.idleTimeoutMs !== undefined ? `${ctx.idleTimeoutMs / 1000} s` : 'too long';
    return make(`${where}: the backend sent nothing for ${secs} (idle_timeout)`, 'idle_timeout', true);
  }
  if (e.name === 'TimeoutError') return make(`${where}: timed out (${e.event ?? 'deadline'})`, 'timeout', false);
  const code = e.code ?? '';
  if (code === 'ECONNREFUSED') return make(`${where}: connection refused (is the backend running?)`, 'connection', true);
  if (code === 'ENOTFOUND') return make(`${where}: host not found`, 'connection', false);
  if (isDecodeError(code)) {
    // The bytes arrived; they are not what the header says they are (a plain body labelled gzip, say).
    return new ProviderError(`${where}: the response body could not be decoded as its Content-Encoding says (${code})`, {
      url,
      status: ctx.status,
      reason: 'bad_response',
      retryable: false,
      cause: error,
    });
  }
  if (CERTIFICATE_CODES.has(code)) {
    return make(
      `${where}: the server's TLS certificate could not be verified (${code}); for a server with a private CA, give Node that CA's certificate (NODE_EXTRA_CA_CERTS)`,
      'connection',
      false,
    );
  }
  if (INVALID_REQUEST_CODES.has(code)) {
    // Node's message names the header, never its value (which may be a key); except this code's, which is left out.
    const detail = code === 'ERR_HTTP_INVALID_HEADER_VALUE' ? code : `${code}: ${e.message ?? ''}`;
    return make(
      `${where}: invalid request, not sent (${detail}); check the profile's api_key, headers and base_url for a newline or another character HTTP does not allow`,
      'bad_response',
      false,
    );
  }
  if (code === 'EPROTO' || code.startsWith('ERR_SSL_')) {
    // A TLS handshake the two ends do not agree on (OpenSSL's reason is in the message): the same next time.
    const detail = /SSL routines:[^:]*:([^:]+)/.exec(e.message ?? '')?.[1];
    const plain = code === 'ERR_SSL_WRONG_VERSION_NUMBER' || detail === 'wrong version number';
    return make(
      `${where}: TLS failed (${code}${detail ? `: ${detail}` : ''})${plain ? '; the server does not speak TLS there: is base_url https:// for a plain http:// port?' : ''}`,
      'connection',
      false,
    );
  }
  if (CONNECTION_CODES.has(code) || e.name === 'ReadError' || ERRNO_CODE.test(code)) {
    return make(`${where}: connection failed (${code || e.message || 'read error'})`, 'connection', true);
  }
  // Not retried: the failures worth another attempt are those of the network, listed above or
  // given as an OS error number (E...). What is left is Node refusing the request (its ERR_
  // codes), an answer that is not HTTP at all (HPE_), or an error with no code (a bug): the same
  // request meets it again, and retrying would only add the backoffs to the wait before the same
  // error.
  return make(`${where}: request failed (${code ? `${code}: ` : ''}${e.message ?? String(error)})`, 'connection', false);
}
