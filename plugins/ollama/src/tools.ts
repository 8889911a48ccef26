/**
 * Ollama's tool calling on /api/chat: the OpenAI `tools` shape on the way in;
 * on the way out each call arrives whole (`arguments` a JSON object), with an
 * `id` only from v0.12.10 and `function.index` only from v0.12.6, and the
 * finish reason stays "stop".
 */
import { excerpt, ProviderError, redactUrl } from '@aegis/core';
import type { AssistantMessage, CallSettings, ChatMessage, StreamPart, ToolMessage } from '@aegis/core';

/** A tool call as Ollama writes it (and takes it back in an assistant message). */
export interface OllamaToolCall {
  id?: string;
  type?: 'function';
  function: { index?: number; name: string; arguments: Record<string, unknown> | string };
}

/**
 * The `tools` of the request. Ollama has no `tool_choice` and no
 * `parallel_tool_calls`: `toolChoice: 'none'` sends no tools (the model cannot
 * call one), a named tool sends only that tool, `required` cannot be enforced
 * and is sent as `auto`.
 */
export function ollamaTools(settings: CallSettings) {
  const choice = settings.toolChoice;
  if (!settings.tools || settings.tools.length === 0 || choice === 'none') return undefined;
  const tools = typeof choice === 'object' ? settings.tools.filter((t) => t.name === choice.name) : settings.tools;
  return tools.map((t) => ({
    type: 'function' as const,
    function: { name: t.name, ...(t.description !== undefined ? { description: t.description } : {}), parameters: t.parameters },
  }));
}

/** An assistant turn's calls, sent back as Ollama wrote them (`id` kept: servers without ids ignore it). */
export function toWireCalls(message: AssistantMessage): OllamaToolCall[] {
  return (message.toolCalls ?? []).map((call, index) => ({
    id: call.id,
    type: 'function',
    function: { index, name: call.name, arguments: call.arguments },
  }));
}

/**
 * The name of the tool a tool message answers: its own `name`, else the name
 * of the call with its `toolCallId` in an earlier assistant message.
 */
export function toolNameOf(message: ToolMessage, earlier: readonly ChatMessage[]): string | undefined {
  if (message.name) return message.name;
  if (message.toolCallId === undefined) return undefined;
  for (let i = earlier.length - 1; i >= 0; i--) {
    const m = earlier[i]!;
    const call = m.role === 'assistant' ? m.toolCalls?.find((c) => c.id === message.toolCallId) : undefined;
    if (call) return call.name;
  }
  return undefined;
}

function badToolCall(url: string, call: unknown): ProviderError {
  const safeUrl = redactUrl(url);
  return new ProviderError(`${safeUrl} answered a tool call without a function name: ${excerpt(JSON.stringify(call) ?? String(call), 200)}`, {
    url: safeUrl,
    reason: 'bad_response',
    retryable: false,
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The whole-call stream parts of a message's `tool_calls`, numbered from
 * `first` (the calls seen before in this answer): Ollama's own `function.index`
 * is missing before v0.12.6, so the running count is what identifies a call.
 * `arguments` is passed on as sent (an object; a string is parsed by core, which
 * reports invalid JSON).
 */
export function toolCallParts(toolCalls: unknown, first: number, url: string): Extract<StreamPart, { type: 'tool-call' }>[] {
  if (toolCalls === undefined || toolCalls === null) return [];
  if (!Array.isArray(toolCalls)) throw badToolCall(url, toolCalls);
  return toolCalls.map((raw, i) => {
    const call = isRecord(raw) ? raw : {};
    const fn = isRecord(call.function) ? call.function : {};
    if (typeof fn.name !== 'string' || fn.name === '') throw badToolCall(url, raw);
    const args = fn.arguments;
    return {
      type: 'tool-call',
      index: first + i,
      ...(typeof call.id === 'string' && call.id ? { id: call.id } : {}),
      name: fn.name,
      arguments: isRecord(args) || typeof args === 'string' ? args : args === undefined || args === null ? {} : JSON.stringify(args),
    };
  });
}

