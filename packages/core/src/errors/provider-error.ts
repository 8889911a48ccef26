import { AegisError, hasCode, type AegisErrorOptions } from './base.js';

export interface ProviderErrorDetails extends AegisErrorOptions {
  /** HTTP status, when the backend answered. */
  status?: number;
  /** The URL that was called (never with credentials in it). */
  url?: string;
  /** A short excerpt of the response body. */
  bodyExcerpt?: string;
  /** Whether trying again may succeed (408, 409, 429, 5xx, connection failures, timeouts). */
  retryable?: boolean;
  /** Server-requested wait before retrying, in milliseconds (from `Retry-After`). */
  retryAfterMs?: number;
  /** Profile and provider type the call was made through. */
  profile?: string;
  providerType?: string;
  /** For a broken stream: the text received before it broke. */
  partialText?: string;
  /** Machine-readable reason, e.g. `timeout`, `idle_timeout`, `connection`, `truncated_stream`, `bad_response`, `aborted`, `http`, `response_too_large`, `redirect`. */
  reason?: ProviderErrorReason;
}

export type ProviderErrorReason =
  | 'http'
  | 'connection'
  | 'timeout'
  | 'idle_timeout'
  | 'aborted'
  | 'truncated_stream'
  | 'stream_error'
  | 'bad_response'
  | 'response_too_large'
  /** A tool call's arguments are not a JSON object (see `InvalidToolArgumentsError`). */
  | 'invalid_tool_arguments'
  /** A redirect the policy does not follow (to another origin, or from https to http). */
  | 'redirect'
  /** An answer asked to be JSON is not, or misses its schema (see `StructuredOutputError`). */
  | 'invalid_structured_output';

/** The backend failed, answered with an error, or answered with something unusable. */
export class ProviderError extends AegisError {
  readonly code = 'provider' as const;
  readonly status?: number;
  readonly url?: string;
  readonly bodyExcerpt?: string;
  readonly retryable: boolean;
  readonly retryAfterMs?: number;
  readonly reason: ProviderErrorReason;
  profile?: string;
  providerType?: string;
  partialText?: string;

  constructor(message: string, details: ProviderErrorDetails = {}) {
    super(message, details);
    this.status = details.status;
    this.url = details.url;
    this.bodyExcerpt = details.bodyExcerpt;
    this.retryable = details.retryable ?? false;
    this.retryAfterMs = details.retryAfterMs;
    this.reason = details.reason ?? (details.status !== undefined ? 'http' : 'bad_response');
    this.profile = details.profile;
    this.providerType = details.providerType;
    this.partialText = details.partialText;
  }

  /** The same as `retryable`, under the AI SDK's name. */
  get isRetryable(): boolean {
    return this.retryable;
  }

  static isInstance(value: unknown): value is ProviderError {
    return hasCode(value, 'provider');
  }
}

/** HTTP statuses worth retrying: request timeout, conflict, rate limit, server errors. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/**
 * The name the seed design used for backend failures. Kept so code written
 * against the old design (`catch (e) { if (PlannerError.isInstance(e)) ... }`) still works.
 */
export const PlannerError = ProviderError;
export type PlannerError = ProviderError;
