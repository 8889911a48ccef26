/** Request and response mapping for Ollama's native API (/api/chat, /api/embed). */
import {
  normalizeFinishReason,
  ProviderError,
  redactUrl,
  textOf,
  withoutUndefined,
  type CallSettings,
  type ChatMessage,
  type CompletionResult,
  type EmbeddingsOptions,
  type ProviderCompletion,
  type Usage,
} from '@aegis/core';
import type { OllamaConfig } from './config.js';
import { ollamaTools, toolCallParts, toolNameOf, toWireCalls, type OllamaToolCall } from './tools.js';
import { ollamaFormat, ollamaUserContent } from './structured.js';

export interface OllamaMessage {
  role: string;
  content: string;
  tool_calls?: OllamaToolCall[];
  /** Images of a user message, as bare base64. */
  images?: string[];
  tool_name?: string;
  tool_call_id?: string;
}

/** A /api/chat answer (stream: false), or one NDJSON line of a stream. */
export interface OllamaChatChunk {
  model?: string;
  created_at?: string;
  message?: { role?: string; content?: string; thinking?: string; tool_calls?: unknown };
  done?: boolean;
  done_reason?: string;
  prompt_eval_count?: number;
  eval_count?: number;
  total_duration?: number;
  error?: unknown;
}

export interface OllamaEmbedResponse {
  model?: string;
  embeddings?: unknown;
  prompt_eval_count?: number;
}

type Final = Omit<CompletionResult, 'text'>;

/**
 * Ollama takes the roles as they are (system, user, assistant, tool). An
 * assistant turn's calls go back as `tool_calls`; a tool result names its tool
 * in `tool_name` (its `name`, else the name of the call it answers) and the
 * call in `tool_call_id` (servers before v0.12.10 ignore it).
 */
export function toOllamaMessages(messages: ChatMessage[], owner: { type: string; profile_name: string }): OllamaMessage[] {
  return messages.map((m, i) => {
    if (m.role === 'tool') {
      return withoutUndefined({ role: m.role, content: m.content, tool_name: toolNameOf(m, messages.slice(0, i)), tool_call_id: m.toolCallId }) as OllamaMessage;
    }
    if (m.role === 'assistant' && m.toolCalls && m.toolCalls.length > 0) {
      return { role: m.role, content: m.content, tool_calls: toWireCalls(m) };
    }
    if (m.role === 'user') return { role: m.role, ...ollamaUserContent(m.content, owner) };
    return { role: m.role, content: textOf(m.content) };
  });
}

/** `keep_alive` as Ollama parses it: a number is seconds, a string a Go duration (so "300" is sent as 300). */
export function keepAliveValue(value: OllamaConfig['keep_alive']): number | string | undefined {
  if (typeof value === 'string' && /^\s*[-+]?(\d+(\.\d*)?|\.\d+)\s*$/.test(value)) return Number(value);
  return value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The /api/chat body. Sampling: the profile's `options`, then the call's
 * settings (profile defaults merged with the call's own), then any `options`
 * in `providerOptions`. Other `providerOptions` fields are merged into the body last.
 */
export function chatBody(config: OllamaConfig, messages: ChatMessage[], settings: CallSettings, stream: boolean) {
  const { options: extraOptions, ...extra } = settings.providerOptions ?? {};
  const options = {
    ...config.options,
    ...withoutUndefined({
      temperature: settings.temperature,
      num_predict: settings.maxTokens,
      top_p: settings.topP,
      stop: settings.stop,
      seed: settings.seed,
    }),
    ...(isRecord(extraOptions) ? extraOptions : {}),
  };
  return withoutUndefined({
    model: config.model,
    messages: toOllamaMessages(messages, config),
    stream,
    tools: ollamaTools(settings),
    format: ollamaFormat(settings.responseFormat) ?? config.format,
    think: settings.reasoning ?? config.think,
    keep_alive: keepAliveValue(config.keep_alive),
    options: Object.keys(options).length > 0 ? options : undefined,
    ...extra,
  });
}

/** The `/api/embed` body: model, input, `dimensions` when asked for, keep_alive, then the call's `providerOptions` last. */
export function embedBody(config: OllamaConfig, texts: string[], options: EmbeddingsOptions = {}) {
  const keepAlive = keepAliveValue(config.keep_alive);
  return {
    model: options.model ?? config.embedding_model ?? config.model,
    input: texts,
    ...(options.dimensions !== undefined ? { dimensions: options.dimensions } : {}),
    ...(keepAlive !== undefined ? { keep_alive: keepAlive } : {}),
    ...options.providerOptions,
  };
}

export function usageOf(chunk: { prompt_eval_count?: number; eval_count?: number }): Usage | undefined {
  const promptTokens = typeof chunk.prompt_eval_count === 'number' ? chunk.prompt_eval_count : undefined;
  const completionTokens = typeof chunk.eval_count === 'number' ? chunk.eval_count : undefined;
  if (promptTokens === undefined && completionTokens === undefined) return undefined;
  const totalTokens = promptTokens !== undefined && completionTokens !== undefined ? promptTokens + completionTokens : undefined;
  return withoutUndefined({ promptTokens, completionTokens, totalTokens }) as Usage;
}

/** Finish reason, usage and model from the answer (or the stream's `"done": true` line). */
export function finalOf(chunk: OllamaChatChunk, fallbackModel: string): Final {
  const raw = typeof chunk.done_reason === 'string' && chunk.done_reason ? chunk.done_reason : undefined;
  const finishReason = normalizeFinishReason(raw ?? 'stop');
  return withoutUndefined({
    finishReason,
    rawFinishReason: raw !== undefined && raw !== finishReason ? raw : undefined,
    usage: usageOf(chunk),
    model: typeof chunk.model === 'string' && chunk.model ? chunk.model : fallbackModel,
  }) as unknown as Final;
}

export function badResponse(url: string, what: string, body?: unknown): ProviderError {
  const safeUrl = redactUrl(url);
  const backendError = isRecord(body) && typeof body.error === 'string' ? `: ${body.error}` : '';
  return new ProviderError(`${safeUrl} answered ${what}${backendError}`, { url: safeUrl, reason: 'bad_response', retryable: false });
}

/** The `{"error": "..."}` line Ollama writes into a stream (the HTTP status stays 200). */
export function streamError(url: string, error: unknown): ProviderError {
  const safeUrl = redactUrl(url);
  const message = typeof error === 'string' ? error : isRecord(error) && typeof error.message === 'string' ? error.message : JSON.stringify(error);
  return new ProviderError(`stream from ${safeUrl} reported an error: ${message}`, { url: safeUrl, reason: 'stream_error', retryable: false });
}

/** Checks a non-streamed /api/chat answer and maps it to the core result. */
export function completionOf(body: unknown, url: string, fallbackModel: string): ProviderCompletion {
  if (!isRecord(body) || !isRecord(body.message) || typeof body.message.content !== 'string') {
    throw badResponse(url, 'without message.content', body);
  }
  const { thinking, tool_calls: calls } = body.message;
  // Core gives a call without an id one, parses string arguments, and makes the finish reason (Ollama's "stop") 'tool_calls'.
  const toolCalls = toolCallParts(calls, 0, url).map(({ id, name, arguments: args }) => withoutUndefined({ id, name, arguments: args }));
  return withoutUndefined({
    text: body.message.content,
    toolCalls: toolCalls.length > 0 ? toolCalls : undefined,
    reasoning: typeof thinking === 'string' && thinking !== '' ? thinking : undefined,
    ...finalOf(body as OllamaChatChunk, fallbackModel),
  }) as ProviderCompletion;
}

/** Checks one NDJSON line of a /api/chat stream. */
export function checkChunk(chunk: unknown, url: string): OllamaChatChunk {
  if (isRecord(chunk) && chunk.error !== undefined && chunk.error !== null) throw streamError(url, chunk.error);
  if (!isRecord(chunk) || typeof chunk.done !== 'boolean') throw badResponse(url, 'a stream line without "done"', chunk);
  return chunk as OllamaChatChunk;
}

export function embeddingsOf(body: unknown, url: string): number[][] {
  const embeddings = isRecord(body) ? body.embeddings : undefined;
  if (!Array.isArray(embeddings) || !embeddings.every((e) => Array.isArray(e) && e.every((x) => typeof x === 'number'))) {
    throw badResponse(url, 'without embeddings (a list of number lists)', body);
  }
  return embeddings as number[][];
}
