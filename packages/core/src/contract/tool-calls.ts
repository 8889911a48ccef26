/**
 * Tool calls as a plugin hands them over (its backend's id or none, arguments
 * as JSON text or already parsed) made into the contract's `ToolCall`s: an id
 * for every call, arguments parsed into an object, `finishReason: 'tool_calls'`.
 * Used for non-streamed results and at the end of a stream alike, so both give
 * the same result for the same backend reply.
 */
import { randomBytes } from 'node:crypto';
import { InvalidToolArgumentsError } from '../errors/tool-error.js';
import { ProviderError } from '../errors/provider-error.js';
import { excerpt } from '../http/error-mapping.js';
import type { CompletionResult } from './results.js';
import type { ToolCall } from './tools.js';

/** A tool call as a plugin returns it: `id` where the backend sent one, `arguments` as JSON text or an object. */
export interface ToolCallInput {
  id?: string;
  name: string;
  arguments: string | Record<string, unknown> | undefined;
}

/** What a plugin's `doCompletion` returns: a result whose tool calls core still normalises. */
export type ProviderCompletion = Omit<CompletionResult, 'toolCalls'> & { toolCalls?: ToolCallInput[] };

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/**
 * An id for a call the backend sent without one: `call_` and 24 random
 * letters and digits (the most common form). Generated once per call; the call
 * keeps it when it is sent back in the next turn's assistant message.
 */
export function generateToolCallId(): string {
  const bytes = randomBytes(24);
  let id = 'call_';
  for (let i = 0; i < bytes.length; i++) id += ID_ALPHABET[bytes[i]! % ID_ALPHABET.length];
  return id;
}

/**
 * The arguments of a call as an object: JSON text parsed (empty text is `{}`,
 * a call without arguments), an object kept. Anything that is not a JSON
 * object is an `InvalidToolArgumentsError` keeping the raw text and the tool's name.
 */
export function parseToolArguments(raw: string | Record<string, unknown> | undefined, name: string, id?: string): Record<string, unknown> {
  if (raw === undefined) return {};
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) return raw;
  const text = typeof raw === 'string' ? raw : JSON.stringify(raw) ?? String(raw);
  if (text.trim() === '') return {};
  let parsed: unknown;
  let problem: string | undefined;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    problem = `invalid JSON (${(error as Error).message})`;
  }
  if (problem === undefined && (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))) {
    problem = `JSON that is not an object`;
  }
  if (problem !== undefined) {
    throw new InvalidToolArgumentsError(`the backend called tool "${name}" with arguments that are ${problem}: ${excerpt(text, 200)}`, {
      toolName: name,
      toolCallId: id,
      rawArguments: text,
      bodyExcerpt: excerpt(text),
    });
  }
  return parsed as Record<string, unknown>;
}

/** A contract `ToolCall` from a plugin's call: id ensured, arguments parsed; a call without a tool name is a `bad_response`. */
export function toToolCall(input: ToolCallInput): ToolCall {
  if (typeof input?.name !== 'string' || input.name === '') {
    throw new ProviderError(`the backend sent a tool call without a tool name: ${excerpt(JSON.stringify(input) ?? '', 200)}`, {
      reason: 'bad_response',
    });
  }
  const id = typeof input.id === 'string' && input.id !== '' ? input.id : generateToolCallId();
  return { id, name: input.name, arguments: parseToolArguments(input.arguments, input.name, id) };
}

/**
 * Makes a plugin's result a contract result, in place: its tool calls
 * normalised (`toToolCall`), an empty list removed, and `finishReason:
 * 'tool_calls'` whenever calls are present (the backend's own reason kept in
 * `rawFinishReason`). Never reads `text`, which a stream's result joins lazily.
 */
export function completeToolCalls(result: ProviderCompletion, calls: ToolCall[] | undefined): CompletionResult {
  const out = result as CompletionResult;
  if (!calls || calls.length === 0) {
    if (result.toolCalls !== undefined) delete out.toolCalls;
    return out;
  }
  out.toolCalls = calls;
  if (out.finishReason !== 'tool_calls') {
    out.rawFinishReason ??= out.finishReason;
    out.finishReason = 'tool_calls';
  }
  return out;
}

/** Drops, in place, a `rawFinishReason` equal to the normalised one: it is there only when it differs, whichever plugin answered. */
export function withoutSameRawFinish<T extends Pick<CompletionResult, 'finishReason' | 'rawFinishReason'>>(result: T): T {
  if (result.rawFinishReason !== undefined && result.rawFinishReason === result.finishReason) delete result.rawFinishReason;
  return result;
}

/** The same for a non-streamed result whose calls the plugin returned in `toolCalls` (and withoutSameRawFinish). */
export function normalizeCompletion(result: ProviderCompletion): CompletionResult {
  withoutSameRawFinish(result);
  const inputs = result.toolCalls;
  if (inputs === undefined) return result as CompletionResult;
  if (!Array.isArray(inputs)) throw new TypeError('a provider returned toolCalls that is not an array');
  return completeToolCalls(result, inputs.map(toToolCall));
}
