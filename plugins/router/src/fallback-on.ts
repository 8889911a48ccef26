import { CapabilityNotSupportedError, ProviderError, z } from '@aegis/core';

/**
 * The kinds of failure a composite profile can move on after (`fallback_on`).
 * Every failure falls in exactly one kind (or none: an abort, the call's own
 * deadline, an error that is not a ProviderError).
 */
export const FAILURE_KINDS = {
  connection: 'refused, reset or unreachable connection',
  timeout: 'the member sent nothing for its idle_timeout, or reached its own timeout',
  rate_limit: 'HTTP 429',
  server_error: 'HTTP 408, 409, and 5xx other than 501',
  not_found: 'HTTP 404, 405 or 501: no such endpoint or model here',
  truncated: 'a stream that ended or broke before its first delta',
  auth: 'HTTP 401 or 403',
  bad_request: 'any other HTTP 4xx',
  bad_response: 'a malformed, wrongly shaped or oversized answer',
  structured_output: 'an answer asked to be JSON that is not, or misses its schema (StructuredOutputError); not in the default',
} as const;
export type FailureKind = keyof typeof FAILURE_KINDS;

/** What `fallback_on` is when a profile does not set it: what may pass, and "not here". */
export const DEFAULT_FALLBACK_ON: readonly FailureKind[] = ['connection', 'timeout', 'rate_limit', 'server_error', 'not_found', 'truncated'];

/** Failures that say the member is unwell (they count towards its cooldown); `not_found` and client errors do not. */
const UNHEALTHY: ReadonlySet<FailureKind> = new Set(['connection', 'timeout', 'rate_limit', 'server_error', 'truncated']);
/** Failures retrying the same member does not help inside a composite: it moves on at once. */
const MOVE_ON_AT_ONCE: ReadonlySet<FailureKind> = new Set(['connection', 'timeout']);

/** One entry of `fallback_on`: a failure kind, or an exact HTTP status (400–599). */
export const FallbackOnEntry = z.union([
  z.enum(Object.keys(FAILURE_KINDS) as [FailureKind, ...FailureKind[]]),
  z.number().int().min(400).max(599),
]);
export type FallbackOnEntry = z.infer<typeof FallbackOnEntry>;

/** The kind of a member's failure, or undefined for one no composite moves on after. */
export function failureKind(error: unknown): FailureKind | undefined {
  if (!ProviderError.isInstance(error)) return undefined;
  switch (error.reason) {
    case 'connection':
      return 'connection';
    case 'idle_timeout':
    case 'timeout':
      return 'timeout';
    case 'truncated_stream':
      return 'truncated';
    case 'stream_error':
      return error.retryable ? 'truncated' : 'bad_response';
    case 'bad_response':
    case 'response_too_large':
      return 'bad_response';
    case 'invalid_structured_output':
      return 'structured_output';
    case 'aborted':
      return undefined;
    default:
      return statusKind(error.status, error.retryable);
  }
}

function statusKind(status: number | undefined, retryable: boolean): FailureKind | undefined {
  if (status === undefined) return retryable ? 'server_error' : 'bad_response';
  if (status === 429) return 'rate_limit';
  if (status === 404 || status === 405 || status === 501) return 'not_found';
  if (status === 401 || status === 403) return 'auth';
  if (status === 408 || status === 409 || status >= 500) return 'server_error';
  return status >= 400 ? 'bad_request' : undefined;
}

/** Decides, for one composite profile, which failures move a call on to the next member. */
export class FallbackPolicy {
  private readonly kinds: ReadonlySet<FailureKind>;
  private readonly statuses: ReadonlySet<number>;

  constructor(entries: readonly FallbackOnEntry[] = DEFAULT_FALLBACK_ON) {
    this.kinds = new Set(entries.filter((e): e is FailureKind => typeof e === 'string'));
    this.statuses = new Set(entries.filter((e): e is number => typeof e === 'number'));
  }

  /** Whether the call moves on to the next member after this failure. A member without the operation is always skipped. */
  movesOn(error: unknown): boolean {
    if (CapabilityNotSupportedError.isInstance(error)) return true;
    if (ProviderError.isInstance(error) && error.status !== undefined && this.statuses.has(error.status)) return true;
    const kind = failureKind(error);
    return kind !== undefined && this.kinds.has(kind);
  }

  /** Whether the failure counts towards the member's cooldown. */
  isUnhealthy(error: unknown): boolean {
    const kind = failureKind(error);
    return kind !== undefined && UNHEALTHY.has(kind) && this.movesOn(error);
  }

  /**
   * The member's own retry veto (`retryIf`): a failure the composite moves on
   * after and that waiting does not cure (a refused connection, an idle
   * timeout) is not retried inside the member; other retryable ones (503, 429)
   * still are, per the member's `max_retries`.
   */
  readonly memberRetryIf = (error: ProviderError): boolean => {
    const kind = failureKind(error);
    return !(kind !== undefined && MOVE_ON_AT_ONCE.has(kind) && this.movesOn(error));
  };
}
