import { AegisError } from '../errors/base.js';
import { ProviderError } from '../errors/provider-error.js';
import { abortedError } from './error-mapping.js';

export interface RetryPolicy {
  maxRetries: number;
  /** Aborts waiting between attempts. */
  signal?: AbortSignal;
  /** Epoch ms after which no new attempt starts (the call's deadline). */
  deadline?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  onRetry?: (error: ProviderError, attempt: number, delayMs: number) => void;
  /** Vetoes the retry of a retryable failure (false: throw it now). */
  retryIf?: (error: ProviderError, attempt: number) => boolean;
}

/**
 * Exponential backoff with jitter (between half and all of base × 2^attempt,
 * capped); a server's `Retry-After` replaces it.
 */
export function backoffDelay(attempt: number, error: ProviderError | undefined, base = 500, max = 30_000, random = Math.random): number {
  const exponential = Math.min(max, base * 2 ** attempt);
  const jittered = Math.round(exponential / 2 + random() * (exponential / 2));
  // The server knows best when it will be ready again.
  return error?.retryAfterMs !== undefined ? error.retryAfterMs : jittered;
}

/** Runs `fn`, retrying retryable ProviderErrors, never past the deadline or an abort. */
export async function withRetries<T>(fn: (attempt: number) => Promise<T>, policy: RetryPolicy): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      if (!shouldRetry(error, attempt, policy)) throw error;
      const delay = backoffDelay(attempt, error, policy.baseDelayMs, policy.maxDelayMs);
      if (policy.deadline !== undefined && Date.now() + delay >= policy.deadline) throw error;
      policy.onRetry?.(error, attempt + 1, delay);
      // Stopped while waiting to retry: that is an abort (or the deadline), not the last failure.
      await sleep(delay, policy.signal).catch(() => {
        throw abortedError(policy.signal!, undefined, error.url, error);
      });
    }
  }
}

function shouldRetry(error: unknown, attempt: number, policy: RetryPolicy): error is ProviderError {
  return (
    AegisError.isAegisError(error) &&
    ProviderError.isInstance(error) &&
    error.retryable &&
    attempt < policy.maxRetries &&
    !policy.signal?.aborted &&
    policy.retryIf?.(error, attempt) !== false
  );
}

/** Waits `ms`, or rejects as soon as the signal aborts. Leaves no timer behind either way. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
