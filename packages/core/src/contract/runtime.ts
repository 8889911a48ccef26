import type { ProviderError } from '../errors/provider-error.js';
import type { ResponseFormat, ResponseFormatSpec } from './response-format.js';
import type { ToolChoice, ToolDefinition, ToolSpec } from './tools.js';

/** Ask for the model's reasoning: on/off, or an effort level where the backend takes one. */
export type ReasoningSetting = boolean | 'low' | 'medium' | 'high';

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
  /** Functions the model may call (capability `tools`). */
  tools?: ToolDefinition[];
  /** Whether and which tool the model must call (default: the backend's, usually `auto`). */
  toolChoice?: ToolChoice;
  /** Whether the model may call several tools in one turn, where the backend lets one choose. */
  parallelToolCalls?: boolean;
  /** Ask for JSON, optionally following a schema (capability `structured_output`). */
  responseFormat?: ResponseFormat;
  /** Ask for (or switch off) the model's reasoning, where the backend lets one choose (capability `reasoning`). */
  reasoning?: ReasoningSetting;
  /** Deadline for the whole call, retries included, in milliseconds (above 0; Infinity for none; else a TypeError). */
  timeoutMs?: number;
  /** Fail when the backend sends no byte for this long, in milliseconds (above 0; Infinity for none; else a TypeError). */
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
  /** The call's tools, their parameters as JSON Schema. */
  tools?: ToolSpec[];
  toolChoice?: ToolChoice;
  parallelToolCalls?: boolean;
  /** The call's response format, its schema as JSON Schema. */
  responseFormat?: ResponseFormatSpec;
  reasoning?: ReasoningSetting;
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
 * compose profiles): sampling fields as set, the call's tools, tool choice,
 * response format and reasoning (already normalised: JSON Schema), the same
 * signal, and the time this call has left.
 */
export function runtimeFromSettings(settings: CallSettings): RuntimeExecutionConfig {
  return {
    temperature: settings.temperature,
    maxTokens: settings.maxTokens,
    topP: settings.topP,
    stop: settings.stop,
    seed: settings.seed,
    tools: settings.tools,
    toolChoice: settings.toolChoice,
    parallelToolCalls: settings.parallelToolCalls,
    responseFormat: settings.responseFormat,
    reasoning: settings.reasoning,
    signal: settings.signal,
    idleTimeoutMs: settings.idleTimeoutMs,
    providerOptions: settings.providerOptions,
  };
}
