/** Scripted tool calls: their arguments as wire text, and the faults that bend them. */
import { body, type HandlerCtx } from './backend.js';
import type { ScriptedReply, ScriptedToolCall } from './types.js';

/** The arguments as JSON text: raw text as scripted, an object serialised with `json` (the backend's serialiser). */
export function argumentsText(call: ScriptedToolCall, json: (value: unknown) => string = JSON.stringify): string {
  return typeof call.arguments === 'string' ? call.arguments : json(call.arguments);
}

/** The tool calls of a reply (none: an empty list). */
export function toolCallsOf(reply: ScriptedReply): ScriptedToolCall[] {
  return reply.toolCalls ?? [];
}

/** The reply with its first tool call's arguments cut in half: invalid JSON (`{"city": "Tok`). */
export function withInvalidArguments(reply: ScriptedReply): ScriptedReply {
  const calls = toolCallsOf(reply);
  if (calls.length === 0) return reply;
  const text = argumentsText(calls[0]!);
  const broken = text.slice(0, Math.max(1, Math.floor(text.length / 2)));
  return { ...reply, toolCalls: [{ ...calls[0]!, arguments: broken }, ...calls.slice(1)] };
}

/**
 * The scripted tool calls, when this request can get them: it offers tools,
 * does not say `tool_choice: "none"`, and its last message is not a tool
 * result (then the model has what it asked for and answers in text, so an
 * agent loop driven by one scripted reply ends).
 */
export function callsFor(ctx: HandlerCtx): ScriptedToolCall[] {
  const b = body(ctx);
  const messages: unknown[] = Array.isArray(b.messages) ? b.messages : [];
  const last = messages[messages.length - 1] as { role?: unknown } | undefined;
  if (!Array.isArray(b.tools) || b.tools.length === 0 || b.tool_choice === 'none' || last?.role === 'tool') return [];
  return toolCallsOf(ctx.reply);
}
