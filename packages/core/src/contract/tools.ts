/**
 * Tools the model may call, and the calls it makes. The shapes follow the AI
 * SDK's language-model spec (a function tool with a JSON Schema, a parsed call
 * with an id), written for this contract.
 */
import type { ZodType } from 'zod';

/** A JSON Schema object (draft 2020-12 or 7; what the backend accepts). */
export type JsonSchema = Record<string, unknown>;

/** A function the model may call. `parameters` is a JSON Schema of its arguments, or a zod schema (converted with zod's own JSON Schema support). */
export interface ToolDefinition {
  name: string;
  description?: string;
  parameters: JsonSchema | ZodType;
  /** Ask the backend to follow the schema exactly, where it can (a `strict` flag). */
  strict?: boolean;
}

/** The same tool as a provider receives it: parameters always a JSON Schema. */
export interface ToolSpec {
  name: string;
  description?: string;
  parameters: JsonSchema;
  strict?: boolean;
}

/** Whether and which tool the model must call. */
export type ToolChoice = 'auto' | 'none' | 'required' | { type: 'tool'; name: string };

/**
 * One call the model made. `id` is the backend's, or one core generated when
 * the backend sends none (it stays the same when the call is sent back in the
 * next turn's assistant message). `arguments` is the parsed JSON object.
 */
export interface ToolCall {
  id: string;
  name: string;
  arguments: Record<string, unknown>;
}
