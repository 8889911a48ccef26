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
  type Usage,
} from '@aegis/core';

/** One message of a chat request. */
export interface WireMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
  name?: string;
}

export interface WireUsage {
  prompt_tokens?: number | null;
  completion_tokens?: number | null;
  total_tokens?: number | null;
}

export interface WireChoice {
  index?: number;
  message?: { role?: string; content?: string | null; refusal?: string | null } | null;
  delta?: { role?: string; content?: string | null; refusal?: string | null } | null;
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
 * Core messages to OpenAI chat messages. A core `tool` message has no
 * `tool_call_id`, which OpenAI requires for the `tool` role, so it is sent as a
 * user message that says which tool answered.
 */
export function toWireMessages(messages: ChatMessage[]): WireMessage[] {
  return messages.map((m) => {
    if (m.role === 'tool') {
      return { role: 'user', content: `Tool result${m.name ? ` from ${m.name}` : ''}:\n${m.content}` };
    }
    const content = textOf(m.content);
    return m.name ? { role: m.role, content, name: m.name } : { role: m.role, content };
  });
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

/** Maps a non-streamed `chat.completion` body; throws `bad_response` when it has no answer. */
export function mapChatCompletion(body: WireChatResponse, url: string): { result: CompletionResult; choice: WireChoice } {
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
      text: content ?? refusal ?? '',
      ...toFinish(choice.finish_reason),
      usage: toUsage(body.usage),
      model: typeof body.model === 'string' ? body.model : undefined,
    }) as CompletionResult,
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
