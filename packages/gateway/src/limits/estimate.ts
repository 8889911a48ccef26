/**
 * Tokens of a call the backend reported no usage for: it failed or was cut
 * off (the client left mid-answer), or it does not count. A key's
 * `tokens_per_minute` is charged this estimate rather than nothing, so leaving
 * before the last chunk (where usage comes) is not a way around the limit.
 * About four characters a token, OpenAI's rule of thumb for English text; an
 * image part counts as one OpenAI low-detail image (85 tokens).
 */
import type { ChatMessage } from '@aegis/core';

const CHARS_PER_TOKEN = 4;
const IMAGE_TOKENS = 85;

export function estimateTokens(chars: number): number {
  return Math.ceil(chars / CHARS_PER_TOKEN);
}

/** The estimated tokens of a conversation sent as a prompt. */
export function promptTokens(messages: readonly ChatMessage[]): number {
  let chars = 0;
  let images = 0;
  for (const m of messages) {
    if (typeof m.content === 'string') chars += m.content.length;
    else for (const part of m.content) part.type === 'text' ? (chars += part.text.length) : images++;
    if (m.role === 'assistant' && m.toolCalls) for (const call of m.toolCalls) chars += call.name.length + JSON.stringify(call.arguments).length;
  }
  return estimateTokens(chars) + images * IMAGE_TOKENS;
}
