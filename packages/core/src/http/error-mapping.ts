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

export interface HttpFailure {
  method: string;
  url: string;
  status: number;
  statusText?: string;
  bodyText: string;
  retryAfterMs?: number;
  extract?: ErrorMessageExtractor;
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
    (parsed !== undefined ? (failure.extract ?? defaultErrorMessage)(parsed, failure.bodyText) : undefined) ??
    (parsed === undefined && failure.bodyText.trim() && !/^\s*</.test(failure.bodyText) ? excerpt(failure.bodyText, 200) : undefined);
  const url = redactUrl(failure.url);
  const statusLine = `${failure.status}${failure.statusText ? ' ' + failure.statusText : ''}`;
  const retryAfter = failure.retryAfterMs !== undefined ? ` (retry after ${Math.ceil(failure.retryAfterMs / 1000)} s)` : '';
  return new ProviderError(
    `${failure.method} ${url} failed with HTTP ${statusLine}${backendMessage ? `: ${backendMessage}` : ''}${retryAfter}`,
    {
      status: failure.status,
      url,
      bodyExcerpt: excerpt(failure.bodyText),
      retryable: isRetryableStatus(failure.status),
      retryAfterMs: failure.retryAfterMs,
      reason: 'http',
    },
  );
}

const CONNECTION_CODES = new Set([
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
  if (CONNECTION_CODES.has(code) || e.name === 'ReadError') {
    return make(`${where}: connection failed (${code || e.message || 'read error'})`, 'connection', true);
  }
  return make(`${where}: request failed (${e.message ?? String(error)})`, 'connection', true);
}
