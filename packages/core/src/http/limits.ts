import { ProviderError } from '../errors/provider-error.js';
import { redactUrl } from './url.js';

/**
 * How much of a backend's answer is read before the call fails with
 * `response_too_large`. Every size is of DECODED bytes (after gzip, deflate or
 * br), so a compressed bomb is stopped at the same size as a plain body.
 * Each is settable per profile (`max_response_bytes`, `max_stream_bytes`,
 * `max_line_bytes`); docs/security.md explains the defaults.
 */
export interface ResponseLimits {
  /** A whole body read into memory: JSON answers, embeddings, audio, transcriptions. */
  maxResponseBytes: number;
  /** A streamed answer in total (it is never held in memory whole). */
  maxStreamBytes: number;
  /** One line of an NDJSON stream, one event of an SSE stream (what a parser buffers). */
  maxLineBytes: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_LIMITS: Readonly<ResponseLimits> = Object.freeze({
  maxResponseBytes: 256 * MiB,
  maxStreamBytes: 1024 * MiB,
  maxLineBytes: 8 * MiB,
});

/** Error bodies are only excerpted: more than this is never read. */
export const ERROR_BODY_MAX_BYTES = 64 * 1024;

/** The profile field that sets each limit (named in the error, so the user knows what to change). */
const FIELD: Record<keyof ResponseLimits, string> = {
  maxResponseBytes: 'max_response_bytes',
  maxStreamBytes: 'max_stream_bytes',
  maxLineBytes: 'max_line_bytes',
};

const WHAT: Record<keyof ResponseLimits, string> = {
  maxResponseBytes: 'the response body is larger than',
  maxStreamBytes: 'the stream is longer than',
  maxLineBytes: 'one line/event of the stream is longer than',
};

/** The typed error for a limit passed: not retryable (the same backend would send the same). */
export function tooLargeError(limit: keyof ResponseLimits, bytes: number, where: { method?: string; url: string; status?: number }): ProviderError {
  const url = redactUrl(where.url);
  const prefix = where.method ? `${where.method} ${url}` : `stream from ${url}`;
  return new ProviderError(`${prefix}: ${WHAT[limit]} ${formatBytes(bytes)} (${FIELD[limit]}); stopped reading it`, {
    url,
    status: where.status,
    reason: 'response_too_large',
    retryable: false,
  });
}

function formatBytes(bytes: number): string {
  if (bytes >= MiB && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/**
 * What a streamed body carries for the parser that reads it (readSse,
 * readNdjson): its line limit and where it came from. A registered symbol, so
 * that a plugin bundling another copy of core still finds it.
 */
export const STREAM_SOURCE = Symbol.for('aegis.http.stream-source');

export interface StreamSource {
  maxLineBytes: number;
  url: string;
  method: string;
  /** Ends the body at once, closing its socket (a limit passed). */
  destroy(error: unknown): void;
}

export function streamSourceOf(chunks: object): StreamSource | undefined {
  return (chunks as { [STREAM_SOURCE]?: StreamSource })[STREAM_SOURCE];
}
