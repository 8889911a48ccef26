import type { ProviderError } from '../errors/provider-error.js';

/**
 * Per-call settings. Each one overrides the profile's default for that call only.
 * Sampling fields a backend does not understand are ignored by its provider.
 */
export interface RuntimeExecutionConfig {
  temperature?: number;
  maxTokens?: number;
  topP?: number;
  stop?: string[];
  seed?: number;
  /** Deadline for the whole call, retries included, in milliseconds. */
  timeoutMs?: number;
  /** Fail when the backend sends no byte for this long, in milliseconds. */
  idleTimeoutMs?: number;
  /** Retries on retryable failures (0 disables). */
  maxRetries?: number;
  /** Cancels the call in any phase. */
  signal?: AbortSignal;
  /** Backend-specific request fields, merged into the request body last. */
  providerOptions?: Record<string, unknown>;
  /**
   * Vetoes retrying a retryable failure of this call (return false: fail now).
   * It never makes a non-retryable failure retried. Composite profiles use it
   * so that a member whose connection is refused fails at once and the call
   * moves on to the next member instead of waiting out backoffs.
   */
  retryIf?: (error: ProviderError, attempt: number) => boolean;
}

/** The effective settings of one call: profile defaults overridden by the call's own. */
export interface CallSettings {
  temperature?: number;
  maxTokens?: number;
  topP?: number;
  stop?: string[];
  seed?: number;
  timeoutMs: number;
  idleTimeoutMs: number;
  maxRetries: number;
  /** Aborts on the caller's signal or the call's deadline, whichever comes first. */
  signal: AbortSignal;
  providerOptions?: Record<string, unknown>;
  retryIf?: (error: ProviderError, attempt: number) => boolean;
}

/**
 * The per-call settings to hand on to another provider (for plugins that
 * compose profiles): sampling fields as set, the same signal, and the time
 * this call has left.
 */
export function runtimeFromSettings(settings: CallSettings): RuntimeExecutionConfig {
  return {
    temperature: settings.temperature,
    maxTokens: settings.maxTokens,
    topP: settings.topP,
    stop: settings.stop,
    seed: settings.seed,
    signal: settings.signal,
    idleTimeoutMs: settings.idleTimeoutMs,
    providerOptions: settings.providerOptions,
  };
}
