/**
 * Tokens of a call the backend reported no usage for: it failed or was cut
 * off (the client left mid-answer), or it does not count. A key's
 * `tokens_per_minute` is charged this estimate rather than nothing, so leaving
 * before the last chunk (where usage comes) is not a way around the limit.
 * About four characters a token, OpenAI's rule of thumb for English text; an
 * image part counts as one OpenAI low-detail image (85 tokens). The usage an
 * answer reports is the same: the backend's counts, and these estimates for
 * what it did not count (never zeros).
 */
import type { ChatMessage, CompletionResult, Usage } from '@aegis/core';

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

/** The characters of an answer: its text, reasoning and refusal, and its tool calls' names and arguments. */
export function answerChars(result: CompletionResult): number {
  let chars = result.text.length + (result.reasoning?.length ?? 0) + (result.refusal?.length ?? 0);
  if (result.toolCalls) for (const call of result.toolCalls) chars += call.name.length + JSON.stringify(call.arguments).length;
  return chars;
}

/**
 * The usage of a call: each count the backend reported, and for each it did
 * not, the estimate (the prompt's from the conversation, the completion's
 * from the answer's characters). The total is the backend's when it reported
 * both parts, else their sum.
 */
export function usageOrEstimate(
  usage: Usage | undefined,
  messages: readonly ChatMessage[],
  answered: number,
): { promptTokens: number; completionTokens: number; totalTokens: number } {
  const prompt = usage?.promptTokens ?? promptTokens(messages);
  const completion = usage?.completionTokens ?? estimateTokens(answered);
  const reported = usage?.promptTokens !== undefined && usage.completionTokens !== undefined;
  return { promptTokens: prompt, completionTokens: completion, totalTokens: reported && usage.totalTokens !== undefined ? usage.totalTokens : prompt + completion };
}
