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
 * A tool call a scripted reply makes. Every emulator that answers tool calls
 * frames it as its backend does (argument fragments, whole chunks, ids or
 * none), so one scripted reply tests every plugin the same way.
 */
export interface ScriptedToolCall {
  /** The call's id; when absent the emulator makes one in its backend's form (or sends none where the backend sends none). */
  id?: string;
  name: string;
  /** The arguments: an object, encoded as the backend encodes them, or text sent verbatim (e.g. invalid JSON). */
  arguments: Record<string, unknown> | string;
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
  /** The first scripted tool call's arguments are sent as invalid JSON (half of their text). */
  | { kind: 'invalid-tool-arguments' }
  /** The stream stops inside the first tool call's arguments: a clean end without the end marker, or a dropped connection (`reset`). */
  | { kind: 'cut-in-tool-call'; reset?: boolean };

export interface EmulatorOptions {
  reply?: ScriptedReply;
  apiKey?: string;
  models?: string[];
  /** The context length the backend reports for its models (default: the fixture's). */
  contextLength?: number;
  /** Pause between stream frames in ms (default 0: the whole stream is written at once). */
  chunkDelayMs?: number;
  port?: number;
  /**
   * The backend version to emulate, where the wire differs between versions.
   * Ollama: tool calls carry `function.index` from 0.12.6 and an `id` from 0.12.10 (default 0.12.10).
   */
  version?: string;
}

/** A tool result as a request carried it back to the backend. */
export interface WireToolResult {
  /** The id of the call it answers, where the backend's format carries one. */
  toolCallId?: string;
  /** The tool's name, where the backend's format carries one. */
  name?: string;
  content: string;
}

/** An assistant turn's tool call as a request carried it back to the backend. */
export interface WireAssistantCall {
  id?: string;
  name: string;
  arguments: unknown;
}

/**
 * Reads what a recorded request says about tools, in the backend's own
 * format: what the conformance kit needs to check that tools, tool choices and
 * tool results reach the wire, without knowing the backend. Every emulator
 * that answers tool calls implements one (`BackendDef.toolWire`).
 */
export interface ToolWireReader {
  /** The names of the tools the request offered (empty when none). */
  toolNames(req: RecordedRequest): string[];
  /**
   * The tool choice the request made, in core's terms (`'auto'`, `'none'`,
   * `'required'`, `{ type: 'tool', name }`), `undefined` when it made none.
   * Absent for a backend whose API has no tool choice.
   */
  toolChoice?(req: RecordedRequest): 'auto' | 'none' | 'required' | { type: 'tool'; name: string } | undefined;
  /** The assistant tool calls the request carried back (earlier turns). */
  assistantCalls(req: RecordedRequest): WireAssistantCall[];
  /** The tool results the request carried, in the backend's own format (plain user text does not count). */
  toolResults(req: RecordedRequest): WireToolResult[];
  /**
   * Whether the request's last message is a tool result, for a wire where that is not a message with
   * `role: "tool"` (the default test): the emulator then answers `afterToolResults`.
   */
  endsWithToolResults?(req: RecordedRequest): boolean;
}

export interface Emulator {
  readonly kind: BackendKind;
  /** How this backend's requests carry tools (for the conformance kit), when the emulator answers tool calls. */
  readonly toolWire?: ToolWireReader;
  readonly url: string;
  readonly baseUrl: string;
  readonly requests: RecordedRequest[];
  readonly lastRequest: RecordedRequest | undefined;
  readonly connectionCount: number;
  setReply(reply: ScriptedReply): void;
  /**
   * The next `times` requests fail with `fault`. With `match`, only requests it
   * accepts do (the others are answered as usual): a fault meant for a call is
   * then not taken by a request the plugin sends on its own meanwhile (such as
   * KoboldCpp's abort of an earlier call's generation).
   */
  failNext(fault: Fault, times?: number, match?: (request: RecordedRequest) => boolean): void;
  reset(): void;
  close(): Promise<void>;
}
