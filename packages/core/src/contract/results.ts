import type { ToolCall } from './tools.js';

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

export interface SpeechOptions {
  voice?: string;
  /** Audio format the backend should produce (`mp3`, `wav`, ...), where it lets one choose. */
  format?: string;
  speed?: number;
  model?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Backend-specific request fields, merged into the request body last. */
  providerOptions?: Record<string, unknown>;
}

export interface SpeechResult {
  audio: Uint8Array;
  mimeType: string;
}

export interface TranscriptionOptions {
  /** MIME type of the audio (default `audio/wav`). */
  mimeType?: string;
  /** File name sent to backends that take multipart uploads. */
  fileName?: string;
  language?: string;
  prompt?: string;
  model?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Backend-specific request fields, merged into the request body last. */
  providerOptions?: Record<string, unknown>;
}

export interface TranscriptionResult {
  text: string;
  language?: string;
}

export interface EmbeddingsOptions {
  model?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Backend-specific request fields, merged into the request body last. */
  providerOptions?: Record<string, unknown>;
}

/** Maps the common backend spellings onto a FinishReason. */
export function normalizeFinishReason(raw: string | null | undefined): FinishReason {
  switch (raw) {
    case 'stop':
    case 'eos':
    case 'end_turn':
    case 'stop_sequence':
      return 'stop';
    case 'length':
    case 'max_tokens':
    case 'limit':
      return 'length';
    case 'content_filter':
      return 'content_filter';
    case 'tool_calls':
    case 'function_call':
      return 'tool_calls';
    case 'error':
      return 'error';
    default:
      return 'other';
  }
}
