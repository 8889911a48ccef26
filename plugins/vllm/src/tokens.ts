/** vLLM's `POST /tokenize` (at the server root, not under /v1): exact token counts with the served model's tokenizer. */
import { textOf, withoutUndefined, type TokenCount, type TokenCountInput } from '@aegis/core';
import { badResponse, toWireMessages } from '@aegis/provider-openai';

export interface WireTokenizeResponse {
  count?: unknown;
  max_model_len?: unknown;
  tokens?: unknown;
}

/** The server root of an OpenAI-compatible base URL: `http://host:8000/v1` → `http://host:8000/`. */
export function serverRoot(baseUrl: string): string {
  const url = new URL(baseUrl);
  url.pathname = url.pathname.replace(/\/+$/, '').replace(/\/v1$/, '') + '/';
  url.search = '';
  url.hash = '';
  return url.toString();
}

/**
 * The tokenize body: the completion form for a text, the chat form for a
 * conversation (rendered with the model's chat template and the generation
 * prompt, as a chat completion would be).
 */
export function tokenizeBody(model: string, input: TokenCountInput): Record<string, unknown> {
  if (typeof input === 'string') return { model, prompt: input };
  return { model, messages: toWireMessages(input.map((m) => ({ ...m, content: textOf(m.content) }) as typeof m)), add_generation_prompt: true };
}

/** Maps a `/tokenize` answer; throws `bad_response` when it has no count. */
export function tokenCountOf(body: WireTokenizeResponse, url: string, model: string): TokenCount {
  const count = body && typeof body === 'object' ? body.count : undefined;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) throw badResponse(url, 'without a token count', body);
  const ids = Array.isArray(body.tokens) && body.tokens.every((t) => typeof t === 'number') ? (body.tokens as number[]) : undefined;
  return withoutUndefined({ tokens: count, exact: true, ids, model }) as TokenCount;
}
