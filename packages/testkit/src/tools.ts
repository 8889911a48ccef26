/** Scripted tool calls: their arguments as wire text, and the faults that bend them. */
import { body, type HandlerCtx } from './backend.js';
import type { RecordedRequest, ScriptedReply, ScriptedToolCall, ToolWireReader } from './types.js';

/** The arguments as JSON text: raw text as scripted, an object serialised with `json` (the backend's serialiser). */
export function argumentsText(call: ScriptedToolCall, json: (value: unknown) => string = JSON.stringify): string {
  return typeof call.arguments === 'string' ? call.arguments : json(call.arguments);
}

/** The tool calls of a reply (none: an empty list). */
export function toolCallsOf(reply: ScriptedReply): ScriptedToolCall[] {
  return reply.toolCalls ?? [];
}

/**
 * Whether a request's last message is a tool result: the backend's own
 * reader says so when it can (`ToolWireReader.endsWithToolResults`, for a
 * wire of its own: `role: "tool_result"`, a content part...); else a last
 * message with `role: "tool"` (OpenAI, vLLM, Ollama and KoboldCpp all say so).
 */
export function bringsToolResults(req: RecordedRequest, wire?: ToolWireReader): boolean {
  if (wire?.endsWithToolResults) return wire.endsWithToolResults(req);
  const messages: unknown = req.json?.messages;
  if (!Array.isArray(messages) || messages.length === 0) return false;
  const last = messages[messages.length - 1] as { role?: unknown } | null;
  return last?.role === 'tool';
}

/**
 * The reply a request gets: `afterToolResults` (default: the reply without its
 * tool calls) when the request brings tool results, else the reply as scripted.
 */
export function replyFor(req: RecordedRequest, reply: ScriptedReply, wire?: ToolWireReader): ScriptedReply {
  if (!bringsToolResults(req, wire)) return reply;
  if (reply.afterToolResults) return reply.afterToolResults;
  const { toolCalls: _calls, ...rest } = reply;
  return rest;
}

/**
 * The scripted tool calls when the request offers tools and does not say
 * `tool_choice: "none"` (a server answers calls only then).
 */
export function callsFor(ctx: HandlerCtx): ScriptedToolCall[] {
  const b = body(ctx);
  if (!Array.isArray(b.tools) || b.tools.length === 0 || b.tool_choice === 'none') return [];
  return toolCallsOf(ctx.reply);
}
