/**
 * The OpenAI chat/embeddings wire format as small pure functions: request
 * pieces, response mapping and error extraction. Shared by every
 * OpenAI-compatible plugin.
 */
import {
  defaultErrorMessage,
  excerpt,
  isRetryableStatus,
  normalizeFinishReason,
  ProviderError,
  redactUrl,
  textOf,
  withoutUndefined,
  type ChatMessage,
  type CompletionResult,
  type ErrorMessageExtractor,
  type ErrorRetryableJudge,
  type ProviderCompletion,
  type StreamItem,
  type ToolCallInput,
  type ToolChoice,
  type ToolSpec,
  type Usage,
} from '@aegis/core';
import { toWireContent, type WireContentPart } from './structured.js';

/** One function call as the chat API writes it: `arguments` is JSON text. */
export interface WireToolCall {
  id?: string;
  type?: 'function';
  function?: { name?: string; arguments?: string | null };
}

/** A piece of a streamed call: `index` says which call; the first piece has `id` and the name. */
export interface WireToolCallDelta extends WireToolCall {
  index?: number;
}

/** One message of a chat request. */
export type WireMessage =
  | { role: 'system'; content: string; name?: string }
  | { role: 'user'; content: string | WireContentPart[]; name?: string }
  | { role: 'assistant'; content: string | null; name?: string; tool_calls?: WireToolCall[] }
  | { role: 'tool'; content: string; tool_call_id: string };

/** One tool of a chat request. */
export interface WireTool {
  type: 'function';
  function: { name: string; description?: string; parameters: Record<string, unknown>; strict?: boolean };
}

/** `tool_choice` on the wire. */
export type WireToolChoice = 'auto' | 'none' | 'required' | { type: 'function'; function: { name: string } };

export interface WireUsage {
  prompt_tokens?: number | null;
  completion_tokens?: number | null;
  total_tokens?: number | null;
}

/** What a message and a stream delta may carry. `reasoning` (vLLM now) and `reasoning_content` (older vLLM, DeepSeek) are the model's thinking. */
export interface WireAnswer {
  role?: string;
  content?: string | null;
  refusal?: string | null;
  reasoning?: string | null;
  reasoning_content?: string | null;
}

export interface WireChoice {
  index?: number;
  message?: (WireAnswer & { tool_calls?: WireToolCall[] | null }) | null;
  delta?: (WireAnswer & { tool_calls?: WireToolCallDelta[] | null }) | null;
  finish_reason?: string | null;
  /** vLLM: the stop string or token id that ended the answer (null at end of sequence). */
  stop_reason?: string | number | null;
}

/** A `chat.completion` body, or one `chat.completion.chunk` of a stream. */
export interface WireChatResponse {
  model?: string;
  choices?: WireChoice[];
  usage?: WireUsage | null;
  error?: unknown;
  object?: string;
}

export interface WireEmbeddingsResponse {
  data?: { embedding?: unknown; index?: number }[];
  model?: string;
  usage?: WireUsage | null;
}

/**
 * Core messages to chat API messages. An assistant message's `toolCalls` become
 * `tool_calls` (arguments as JSON text; `content` null when the turn was only
 * calls), a `tool` message with its `toolCallId` becomes a `tool` message with
 * `tool_call_id`. A `tool` message without the id (written for the first
 * plugin API) cannot be a `tool` message, which the API requires to name the
 * call, so it is sent as a user message that says which tool answered.
 */
export function toWireMessages(messages: ChatMessage[]): WireMessage[] {
  return messages.map((m): WireMessage => {
    if (m.role === 'tool') {
      if (m.toolCallId) return { role: 'tool', content: m.content, tool_call_id: m.toolCallId };
      return { role: 'user', content: `Tool result${m.name ? ` from ${m.name}` : ''}:\n${m.content}` };
    }
    if (m.role === 'assistant' && m.toolCalls && m.toolCalls.length > 0) {
      const message: WireMessage = {
        role: 'assistant',
        content: m.content ? m.content : null,
        tool_calls: m.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.arguments) } })),
      };
      if (m.name) message.name = m.name;
      return message;
    }
    const name = m.name ? { name: m.name } : {};
    return m.role === 'user' ? { role: 'user', content: toWireContent(m.content), ...name } : { role: m.role, content: textOf(m.content), ...name };
  });
}

/** The call's tools as the chat API's `tools`. */
export function toWireTools(tools: readonly ToolSpec[] | undefined): WireTool[] | undefined {
  if (!tools || tools.length === 0) return undefined;
  return tools.map((t) => ({
    type: 'function',
    function: withoutUndefined({ name: t.name, description: t.description, parameters: t.parameters, strict: t.strict }) as WireTool['function'],
  }));
}

/** The call's tool choice as the chat API's `tool_choice`. */
export function toWireToolChoice(choice: ToolChoice | undefined): WireToolChoice | undefined {
  if (choice === undefined || typeof choice === 'string') return choice;
  return { type: 'function', function: { name: choice.name } };
}

/** The request fields of the call's tools: `tools`, `tool_choice`, `parallel_tool_calls` (none without tools). */
export function toolFields(settings: { tools?: ToolSpec[]; toolChoice?: ToolChoice; parallelToolCalls?: boolean }): Record<string, unknown> {
  const tools = toWireTools(settings.tools);
  if (!tools) return {};
  return withoutUndefined({ tools, tool_choice: toWireToolChoice(settings.toolChoice), parallel_tool_calls: settings.parallelToolCalls });
}

/** A message's tool calls for core (which adds missing ids and parses the arguments). */
export function fromWireToolCalls(calls: WireToolCall[] | null | undefined): ToolCallInput[] | undefined {
  if (!Array.isArray(calls) || calls.length === 0) return undefined;
  return calls.map((c) => ({
    id: typeof c?.id === 'string' && c.id ? c.id : undefined,
    name: String(c?.function?.name ?? ''),
    arguments: typeof c?.function?.arguments === 'string' ? c.function.arguments : undefined,
  }));
}

/** The reasoning text of a message or delta: `reasoning`, else the older `reasoning_content`. */
export function reasoningOf(answer: WireAnswer | null | undefined): string | undefined {
  const text = answer?.reasoning ?? answer?.reasoning_content;
  return typeof text === 'string' ? text : undefined;
}

/**
 * Pushes what one stream delta carries, in the order it means: its reasoning,
 * its text, its refusal, then its tool-call fragments (one part per entry, by `index`).
 */
export function pushDelta(delta: NonNullable<WireChoice['delta']>, items: StreamItem[]): void {
  const reasoning = reasoningOf(delta);
  if (reasoning) items.push({ type: 'reasoning', text: reasoning });
  if (typeof delta.content === 'string' && delta.content !== '') items.push(delta.content);
  if (typeof delta.refusal === 'string' && delta.refusal !== '') items.push({ type: 'refusal', text: delta.refusal });
  const calls = delta.tool_calls;
  if (Array.isArray(calls)) {
    for (let i = 0; i < calls.length; i++) {
      const c = calls[i]!;
      items.push({
        type: 'tool-call-delta',
        index: typeof c.index === 'number' ? c.index : i,
        id: typeof c.id === 'string' && c.id ? c.id : undefined,
        name: typeof c.function?.name === 'string' && c.function.name ? c.function.name : undefined,
        arguments: typeof c.function?.arguments === 'string' ? c.function.arguments : undefined,
      });
    }
  }
}

/** A copy without the keys whose value is undefined (so the wire shows only what was set). */
/** The record without its `undefined` fields (core's `withoutUndefined`). */
export const compact = withoutUndefined;

export function toUsage(usage: WireUsage | null | undefined): Usage | undefined {
  if (!usage || typeof usage !== 'object') return undefined;
  const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
  const out = compact({
    promptTokens: num(usage.prompt_tokens),
    completionTokens: num(usage.completion_tokens),
    totalTokens: num(usage.total_tokens),
  });
  return Object.keys(out).length > 0 ? out : undefined;
}

/** Normalised finish reason plus the backend's own spelling. */
export function toFinish(raw: string | null | undefined): Pick<CompletionResult, 'finishReason' | 'rawFinishReason'> {
  return typeof raw === 'string' && raw ? { finishReason: normalizeFinishReason(raw), rawFinishReason: raw } : { finishReason: 'other' };
}

/** A 200 answer that is not what the endpoint promises. */
export function badResponse(url: string, what: string, body?: unknown): ProviderError {
  const safeUrl = redactUrl(url);
  const text = body === undefined ? undefined : excerpt(typeof body === 'string' ? body : JSON.stringify(body) ?? '');
  return new ProviderError(`${safeUrl} answered ${what}${text ? `: ${excerpt(text, 200)}` : ''}`, {
    url: safeUrl,
    bodyExcerpt: text,
    reason: 'bad_response',
    retryable: false,
  });
}

/** The choice a single-answer request reads (index 0, or the first one). */
export function firstChoice(choices: WireChoice[]): WireChoice | undefined {
  return choices.find((c) => c?.index === 0) ?? choices[0];
}

/**
 * A stream chunk's part of the answer: its choice 0 (from a server that sends
 * no index, its first choice). A chunk of another choice (`n` > 1, asked
 * through `providerOptions`) is not this answer's: its text is not mixed in.
 */
export function streamChoice(choices: WireChoice[]): WireChoice | undefined {
  const choice = firstChoice(choices);
  return choice && (typeof choice.index !== 'number' || choice.index === 0) ? choice : undefined;
}

/** Maps a non-streamed `chat.completion` body; throws `bad_response` when it has no answer. */
export function mapChatCompletion(body: WireChatResponse, url: string): { result: ProviderCompletion; choice: WireChoice } {
  const choices = body && typeof body === 'object' ? body.choices : undefined;
  const choice = Array.isArray(choices) ? firstChoice(choices) : undefined;
  const message = choice?.message;
  if (!choice || typeof message !== 'object' || message === null) {
    throw badResponse(url, 'without choices[0].message', body);
  }
  const content = typeof message.content === 'string' ? message.content : undefined;
  const refusal = typeof message.refusal === 'string' ? message.refusal : undefined;
  return {
    choice,
    result: compact({
      text: content ?? '',
      toolCalls: fromWireToolCalls(message.tool_calls),
      reasoning: reasoningOf(message) || undefined,
      refusal: refusal || undefined,
      ...toFinish(choice.finish_reason),
      usage: toUsage(body.usage),
      model: typeof body.model === 'string' ? body.model : undefined,
    }) as ProviderCompletion,
  };
}

/** Maps an `/embeddings` body to vectors in input order; throws `bad_response` when it is not one. */
export function mapEmbeddings(body: WireEmbeddingsResponse, url: string): { embeddings: number[][]; usage?: Usage; model?: string } {
  const data = body && typeof body === 'object' ? body.data : undefined;
  if (!Array.isArray(data)) throw badResponse(url, 'without a data array', body);
  const ordered = data.every((d) => typeof d?.index === 'number') ? [...data].sort((a, b) => a.index! - b.index!) : data;
  const embeddings = ordered.map((d) => d?.embedding);
  if (!embeddings.every((e): e is number[] => Array.isArray(e) && e.every((x) => typeof x === 'number'))) {
    throw badResponse(url, 'with an embedding that is not an array of numbers', body);
  }
  return compact({ embeddings, usage: toUsage(body.usage), model: typeof body.model === 'string' ? body.model : undefined }) as {
    embeddings: number[][];
  };
}

function describeError(message: string, type: unknown, code: unknown): string {
  const extra = [typeof type === 'string' && type ? type : undefined, typeof code === 'string' && code ? `code ${code}` : undefined].filter(
    (x): x is string => x !== undefined && !message.includes(x),
  );
  return extra.length > 0 ? `${message} (${extra.join(', ')})` : message;
}

/**
 * The message of an OpenAI error body `{"error": {"message", "type", "param", "code"}}`,
 * with its type and code; also `{"error": "..."}`, and the other common shapes.
 */
export const openAIErrorMessage: ErrorMessageExtractor = (body, text) => {
  if (typeof body === 'object' && body !== null) {
    const error = (body as Record<string, unknown>).error;
    if (typeof error === 'object' && error !== null) {
      const e = error as Record<string, unknown>;
      const message = typeof e.message === 'string' && e.message ? e.message : undefined;
      if (message) return describeError(message, e.type, e.code);
      if (typeof e.code === 'string' || typeof e.type === 'string') return describeError('error', e.type, e.code);
    }
  }
  return defaultErrorMessage(body, text);
};

/**
 * OpenAI answers a spent quota or credit balance with 429 too, with
 * `insufficient_quota` as its type and code: unlike a rate limit, waiting does
 * not help (OpenAI's error-code guide: check the plan and billing), so it is
 * not retried. Every other answer keeps its status's default.
 */
const NOT_RETRYABLE_429 = new Set(['insufficient_quota']);

export const openAIErrorRetryable: ErrorRetryableJudge = (status, body) => {
  if (status !== 429 || typeof body !== 'object' || body === null) return undefined;
  const error = (body as Record<string, unknown>).error;
  if (typeof error !== 'object' || error === null) return undefined;
  const { type, code } = error as Record<string, unknown>;
  return NOT_RETRYABLE_429.has(String(code)) || NOT_RETRYABLE_429.has(String(type)) ? false : undefined;
};

/** An error event inside a stream (`data: {"error": {...}}`, HTTP status still 200) as a ProviderError. */
export function streamErrorFrom(
  payload: unknown,
  data: string,
  url: string,
  extract: ErrorMessageExtractor = openAIErrorMessage,
): ProviderError {
  const safeUrl = redactUrl(url);
  const message = extract(payload, data) ?? excerpt(data, 200);
  const error = (payload as { error?: { code?: unknown } } | undefined)?.error;
  const code = typeof error === 'object' && error !== null ? error.code : (payload as { code?: unknown } | undefined)?.code;
  return new ProviderError(`stream from ${safeUrl} reported an error: ${message}`, {
    url: safeUrl,
    bodyExcerpt: excerpt(data),
    reason: 'stream_error',
    // An integer code is the HTTP status the server would have answered with.
    retryable: typeof code === 'number' && isRetryableStatus(code),
  });
}
