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

export interface ScriptedReply {
  text?: string;
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
  | { kind: 'oversized'; bytes: number };

export interface EmulatorOptions {
  reply?: ScriptedReply;
  apiKey?: string;
  models?: string[];
  /** The context length the backend reports for its models (default: the fixture's). */
  contextLength?: number;
  /** Pause between stream frames in ms (default 0: the whole stream is written at once). */
  chunkDelayMs?: number;
  port?: number;
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
