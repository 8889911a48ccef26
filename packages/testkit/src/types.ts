/** Public types of @aegis/testkit. */

export type EmulatorKind = 'openai' | 'vllm' | 'ollama' | 'koboldcpp' | 'example-com';

/** The kind of an emulated backend: a built-in one, or any name a third-party `BackendDef` gives itself. */
export type BackendKind = EmulatorKind | (string & {});

export interface MultipartForm {
  fields: Record<string, string>;
  files: Record<string, { filename: string; contentType: string; data: Buffer }>;
}

export interface RecordedRequest {
  method: string;
  /** Path without the query string, e.g. `/v1/chat/completions`. */
  path: string;
  /** Raw request target including any query string. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  /** Parsed body when it is valid JSON. */
  json?: any;
  /** Parsed body when it is multipart/form-data. */
  form?: MultipartForm;
}

/**
 * A tool call an emulator answers with, framed as its backend does (OpenAI-style
 * argument fragments, Ollama's whole calls, KoboldCpp's simulated stream).
 */
export interface ScriptedToolCall {
  name: string;
  /**
   * The arguments: an object, serialised as the backend does, or raw text sent
   * as it is (e.g. invalid JSON, to see how a plugin copes with it).
   */
  arguments: Record<string, unknown> | string;
  /** The call's id; default: one in the backend's own format (Ollama before 0.12.10 sends none). */
  id?: string;
}

export interface ScriptedReply {
  /** The answer's text. With `toolCalls`, the text sent before the calls (none when absent). */
  text?: string;
  /**
   * Tool calls the answer makes (two or more: parallel calls). Ollama and
   * KoboldCpp answer them only when the request offers tools (and, KoboldCpp,
   * does not say `tool_choice: "none"`), as those servers do.
   */
  toolCalls?: ScriptedToolCall[];
  /**
   * The reply to a request whose last message is a tool result: the agent's
   * next turn, so one script drives a whole loop (calls, results, answer).
   * Default: this reply without its tool calls.
   */
  afterToolResults?: ScriptedReply;
  /** Reasoning ("thinking") text, sent the backend's way before the answer; ignored by backends that send none. */
  reasoning?: string;
  finishReason?: string;
  promptTokens?: number;
  completionTokens?: number;
  /** Explicit stream deltas (joined they form the reply text). */
  chunks?: string[];
  transcription?: string;
  embeddingDimension?: number;
}

export type Fault =
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string>; retryAfter?: string }
  | { kind: 'reset' }
  | { kind: 'reset-mid-stream'; afterChunks?: number }
  | { kind: 'hang' }
  | { kind: 'truncate'; afterChunks?: number }
  | { kind: 'malformed-json' }
  | { kind: 'wrong-shape' }
  | { kind: 'stream-error'; message?: string }
  | { kind: 'drip'; intervalMs?: number }
  | { kind: 'delay'; ms: number }
  | { kind: 'oversized'; bytes: number }
  /** The first scripted tool call's arguments arrive as invalid JSON (cut in half). */
  | { kind: 'invalid-tool-arguments' }
  /** The stream breaks off in the middle of the first scripted tool call (the connection closes there). */
  | { kind: 'cut-in-tool-call' };

export interface EmulatorOptions {
  reply?: ScriptedReply;
  apiKey?: string;
  models?: string[];
  /** Pause between stream frames in ms (default 0: the whole stream is written at once). */
  chunkDelayMs?: number;
  port?: number;
  /**
   * The backend version to emulate, where the wire differs between versions.
   * Ollama: tool calls carry `function.index` from 0.12.6 and an `id` from 0.12.10 (default 0.12.10).
   */
  version?: string;
}

export interface Emulator {
  readonly kind: BackendKind;
  readonly url: string;
  readonly baseUrl: string;
  readonly requests: RecordedRequest[];
  readonly lastRequest: RecordedRequest | undefined;
  readonly connectionCount: number;
  setReply(reply: ScriptedReply): void;
  failNext(fault: Fault, times?: number): void;
  reset(): void;
  close(): Promise<void>;
}
