/**
 * The typed events of a streamed completion (`stream.events()`), in the order
 * they happen. Iterating the stream itself still yields only text deltas.
 */
import type { FinishReason, Usage } from './results.js';
import type { ToolCall } from './tools.js';

export type StreamEvent =
  | { type: 'text-delta'; text: string }
  | { type: 'reasoning-delta'; text: string }
  /** A piece of the model's refusal (`CompletionResult.refusal`). */
  | { type: 'refusal-delta'; text: string }
  /** A tool call begins: its id and name are known, its arguments follow. */
  | { type: 'tool-call-start'; index: number; id: string; name: string }
  /** A fragment of a call's arguments as JSON text (concatenated they make the whole). */
  | { type: 'tool-call-delta'; index: number; id: string; argumentsDelta: string }
  /** A call is complete, its arguments parsed. */
  | { type: 'tool-call'; index: number; toolCall: ToolCall }
  | { type: 'finish'; finishReason: FinishReason; rawFinishReason?: string; usage?: Usage };
