import type { ProviderError } from '../errors/provider-error.js';
import type { ToolCall } from './tools.js';
import type { RuntimeExecutionConfig } from './runtime.js';

/** Why a completion ended, normalised across backends. */
export type FinishReason = 'stop' | 'length' | 'content_filter' | 'tool_calls' | 'error' | 'other';

export interface Usage {
  promptTokens?: number;
  completionTokens?: number;
  totalTokens?: number;
}

export interface CompletionResult {
  text: string;
  /** The tool calls of this turn (none: absent or empty). Append them to the conversation as an assistant message's `toolCalls`. */
  toolCalls?: ToolCall[];
  /** The model's reasoning ("thinking") text, where the backend returns it separately from the answer. */
  reasoning?: string;
  /**
   * The model declined to answer, in its own words, where the backend says so
   * apart from the answer (a `refusal` field, mostly with a JSON response
   * format). `text` then holds only what the model answered besides (usually
   * nothing), and a JSON answer is not checked: `object` is absent.
   */
  refusal?: string;
  /** With `responseFormat: { type: 'json' }`: the answer parsed (and validated against the schema, if one was given). */
  object?: unknown;
  finishReason: FinishReason;
  /** The backend's own finish reason, when it differs from the normalised one. */
  rawFinishReason?: string;
  usage?: Usage;
  /** The model that answered, as the backend reported it. */
  model?: string;
  /** What only this backend reports (e.g. the stop string that matched), keyed by the plugin. */
  providerMetadata?: Record<string, unknown>;
}

export interface EmbeddingsResult {
  /** One vector per input text, in input order. */
  embeddings: number[][];
  usage?: Usage;
  model?: string;
}

/** What every options object of getEmbeddings, getSpeech and getTranscription takes. */
export interface CallOptions {
  signal?: AbortSignal;
  /** Deadline for the whole call, retries included, in milliseconds (above 0; Infinity for none; else a TypeError). */
  timeoutMs?: number;
  /**
   * Backend-specific request fields, merged into the request body last: they
   * win over every field AEGIS sets (form fields, for a multipart upload).
   */
  providerOptions?: Record<string, unknown>;
  /** Vetoes retrying a retryable failure (see `RuntimeExecutionConfig.retryIf`). */
  retryIf?: (error: ProviderError, attempt: number) => boolean;
}

export interface SpeechOptions extends CallOptions {
  voice?: string;
  /** Audio format the backend should produce (`mp3`, `wav`, ...), where it lets one choose. */
  format?: string;
  speed?: number;
  model?: string;
}

export interface SpeechResult {
  audio: Uint8Array;
  mimeType: string;
}

export interface TranscriptionOptions extends CallOptions {
  /** MIME type of the audio (default `audio/wav`). */
  mimeType?: string;
  /** File name sent to backends that take multipart uploads. */
  fileName?: string;
  language?: string;
  prompt?: string;
  model?: string;
}

export interface TranscriptionResult {
  text: string;
  language?: string;
}

export interface EmbeddingsOptions extends CallOptions {
  model?: string;
  /**
   * Length of the vectors, for models that can shorten theirs (Matryoshka
   * embedding models; most APIs call the field `dimensions`).
   * Sent as the backend's own field; a backend without one refuses it
   * (CapabilityNotSupportedError), and vectors of another length are an error.
   */
  dimensions?: number;
}

/**
 * The backend spellings `normalizeFinishReason` knows, and the FinishReason
 * each maps to (the spellings of the common chat APIs).
 * Anything else becomes `other` (keep the raw value in `rawFinishReason`).
 */
export const FINISH_REASON_ALIASES: Readonly<Record<string, FinishReason>> = Object.freeze({
  stop: 'stop',
  eos: 'stop',
  end_turn: 'stop',
  stop_sequence: 'stop',
  length: 'length',
  max_tokens: 'length',
  limit: 'length',
  content_filter: 'content_filter',
  tool_calls: 'tool_calls',
  function_call: 'tool_calls',
  error: 'error',
});

/**
 * Maps a backend's finish reason onto a FinishReason: `aliases` first (a
 * plugin's own spellings, e.g. `{ eos_token: 'stop' }`), then
 * FINISH_REASON_ALIASES; anything else is `other`.
 */
export function normalizeFinishReason(raw: string | null | undefined, aliases?: Readonly<Record<string, FinishReason>>): FinishReason {
  if (raw === null || raw === undefined) return 'other';
  if (aliases && Object.hasOwn(aliases, raw)) return aliases[raw]!;
  return Object.hasOwn(FINISH_REASON_ALIASES, raw) ? FINISH_REASON_ALIASES[raw]! : 'other';
}

/** Options of `getObject`: the schema of the object, its name and description for the backend, and the call's settings. */
export type ObjectOptions<S> = Omit<RuntimeExecutionConfig, 'responseFormat'> & {
  /** A zod schema (the result's `object` then has its output type) or a JSON Schema. */
  schema: S;
  /** A name for the schema, where the backend takes one (default `response`). */
  name?: string;
  description?: string;
};

/** A completion whose answer is a validated object. */
export type ObjectResult<T> = CompletionResult & { object: T };
