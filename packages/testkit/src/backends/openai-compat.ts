/**
 * OpenAI-style endpoints shared by the OpenAI, vLLM and KoboldCpp emulators. Every body is
 * a recorded fixture used as a template: key order and extra fields come from the fixture.
 */
import { body, type HandlerCtx } from '../backend.js';
import { jsonReplyText } from '../json-sample.js';
import { embedText, embeddingInputs, toBase64Floats } from '../embeddings.js';
import { fixtureJson, fixtureSse, type FixtureBackend } from '../fixtures.js';
import { bodyPlan, jsonPlan, PlanError, streamPlan, type Plan, type StreamFormat } from '../plan.js';
import { dataSse } from '../sse.js';
import { defaultReplyText, estimateTokens, messagesText, nowSeconds, randomId, renderText, splitIntoChunks } from '../text.js';
import type { RecordedRequest, ToolWireReader, WireAssistantCall, WireToolResult } from '../types.js';

/**
 * How a server streams tool calls: `fragments` as OpenAI (a header with the
 * id, the name and `"arguments": ""`, then argument fragments), `vllm` (a
 * header without an `arguments` key, fragments, and the last fragment carried
 * by the finish chunk), `whole` (a header, then one chunk with the whole
 * arguments: KoboldCpp's simulated stream).
 */
export type ToolStreamStyle = 'fragments' | 'vllm' | 'whole';

/** What a server does with tool calls and reasoning. */
export interface CompatToolFlavor {
  /** A call id in the server's form. */
  callId(): string;
  /** The arguments' JSON text as the server writes it. */
  argumentsText(args: Record<string, unknown>): string;
  stream: ToolStreamStyle;
  /** The finish reason of an answer with calls made under a named tool choice (vLLM: `stop`). */
  namedChoiceFinish?: string;
  /** The message/delta field of the reasoning text, when the server sends one. */
  reasoningField?: string;
  /**
   * `message.content` of an answer that is only calls, when the request forced a
   * call (`tool_choice` "required" or a named tool; vLLM: `""`). Default null,
   * as with `auto`.
   */
  forcedCallContent?: string | null;
}

export interface CompatFlavor {
  fixtures: FixtureBackend;
  label: string;
  /** Serializer for whole bodies and for stream chunks. */
  body(v: unknown): string;
  chunk(v: unknown): string;
  /** Completion id (non-stream) and stream chunk id. */
  chatId(): string;
  streamId?(): string;
  /** The model name the response reports. */
  model(requested: unknown): string;
  /** OpenAI adds `"usage": null` to every chunk when include_usage is set. */
  usageNullInChunks?: boolean;
  format?: StreamFormat;
  /** Wire text of the in-stream error event. */
  streamError(message: string): string;
  /** Error plan (400 for bad input, 404 for an unknown model). */
  error(status: number, ctx: HandlerCtx, message?: string): Plan;
  /** Tool calls and reasoning, when the server answers them (`ScriptedReply.toolCalls`, `reasoning`). */
  tools?: CompatToolFlavor;
}

/** Argument text in pieces of a few characters, as a model's tokens stream them. */
function fragmentsOf(text: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; i += 5) out.push(text.slice(i, i + 5));
  return out.length > 0 ? out : [''];
}

/** A usage object shaped like `template`, with the counts filled in. */
export function fillUsage(template: Record<string, unknown> | undefined, prompt: number, completion: number): Record<string, unknown> {
  const u: Record<string, unknown> = { ...(template ?? { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 }) };
  u.prompt_tokens = prompt;
  if ('completion_tokens' in u) u.completion_tokens = completion;
  u.total_tokens = prompt + completion;
  return u;
}

/** Copy of `obj` with `key: value` placed right after `after` (or last). */
function insertAfter(obj: Record<string, unknown>, after: string, key: string, value: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k !== key) out[k] = v;
    if (k === after) out[key] = value;
  }
  if (!(key in out)) out[key] = value;
  return out;
}

export function chatCompletion(f: CompatFlavor, ctx: HandlerCtx): Plan {
  const b = body(ctx);
  if (!Array.isArray(b.messages)) throw new PlanError(f.error(400, ctx, "Missing required parameter: 'messages'."));
  const model = f.model(b.model);
  const tf = f.tools;
  const calls = tf
    ? (ctx.reply.toolCalls ?? []).map((c) => ({
        id: c.id ?? tf.callId(),
        name: c.name,
        args: typeof c.arguments === 'string' ? c.arguments : tf.argumentsText(c.arguments),
      }))
    : [];
  const reasoning = tf?.reasoningField && ctx.reply.reasoning ? ctx.reply.reasoning : undefined;
  // With calls, the text is only what the script gives (none by default).
  const reply = calls.length > 0 ? { ...ctx.reply, text: ctx.reply.text ?? '', chunks: ctx.reply.text === undefined ? [] : ctx.reply.chunks } : ctx.reply;
  const r = renderText(reply, jsonRequested(b) ?? defaultReplyText(f.label), { maxTokens: b.max_completion_tokens ?? b.max_tokens, stop: b.stop });
  const named = typeof b.tool_choice === 'object' && b.tool_choice !== null;
  const finishReason = calls.length > 0 ? (named && tf?.namedChoiceFinish) || 'tool_calls' : r.finishReason;
  const promptTokens = ctx.reply.promptTokens ?? estimateTokens(messagesText(b.messages));
  const created = nowSeconds();
  const full = fixtureJson(f.fixtures, 'chat.completions.response.json');

  if (b.stream !== true) {
    Object.assign(full, { id: f.chatId(), created, model });
    const choice = full.choices[0];
    const forced = named || b.tool_choice === 'required';
    choice.message.content = calls.length > 0 && ctx.reply.text === undefined ? ((forced ? tf?.forcedCallContent : undefined) ?? null) : r.text;
    if (reasoning) choice.message[tf!.reasoningField!] = reasoning;
    if (calls.length > 0) {
      choice.message.tool_calls = calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.args } }));
    }
    choice.finish_reason = finishReason;
    if ('stop_reason' in choice) choice.stop_reason = r.stopSequence;
    full.usage = fillUsage(full.usage, promptTokens, r.completionTokens);
    return jsonPlan(200, f.body(full));
  }

  const templates = fixtureSse(f.fixtures, 'chat.completions.stream.sse.txt');
  const id = f.streamId ? f.streamId() : f.chatId();
  const hasRoleChunk = templates[0].choices[0].delta.content === '';
  const contentTpl = templates[hasRoleChunk ? 1 : 0];
  const finishTpl = templates[templates.length - 1];
  const so = b.stream_options ?? {};
  const obfuscate = so.include_obfuscation !== false;
  const usageNull = so.include_usage === true && f.usageNullInChunks;
  /** OpenAI pads chunks with a random `obfuscation` string unless include_obfuscation is false. */
  const setObfuscation = (c: Record<string, unknown>): void => {
    if (!('obfuscation' in c)) return;
    if (obfuscate) c.obfuscation = randomId(8);
    else delete c.obfuscation;
  };

  // `usage: null` goes into each template once (after `choices`, where OpenAI puts it), not into
  // every chunk: the whole stream is built before its first byte is sent, so a cost per chunk here
  // would be a delay before the first delta that a real server does not have.
  const withUsage = new Map<unknown, Record<string, any>>();
  const shaped = (tpl: any): Record<string, any> => {
    if (!usageNull) return tpl;
    let out = withUsage.get(tpl);
    if (!out) withUsage.set(tpl, (out = insertAfter(tpl, 'choices', 'usage', null)));
    return out;
  };
  const make = (tpl: any, edit?: (choice: any) => void): string => {
    const base = shaped(tpl);
    const c: Record<string, any> = { ...base, id, created, model, choices: base.choices.map((ch: any) => ({ ...ch, delta: { ...ch.delta } })) };
    if (edit) edit(c.choices[0]);
    setObfuscation(c);
    return f.chunk(c);
  };

  const frames: string[] = [];
  // A stream of calls alone opens with the content the server's recorded tool stream has there (OpenAI: null).
  const toolRole = calls.length > 0 && ctx.reply.text === undefined ? toolRoleChunk(f.fixtures) : undefined;
  if (hasRoleChunk) frames.push(toolRole ? make(templates[0], (ch) => (ch.delta.content = toolRole.choices[0].delta.content)) : make(templates[0]));
  if (reasoning) {
    for (const text of splitIntoChunks(reasoning)) frames.push(make(contentTpl, (ch) => (ch.delta = { [tf!.reasoningField!]: text })));
  }
  for (const text of r.chunks) frames.push(make(contentTpl, (ch) => (ch.delta.content = text)));
  let cutInToolCall: number | undefined;
  /** The fragment the vLLM finish chunk carries. */
  let finishDelta: Record<string, unknown> | undefined;
  calls.forEach((c, index) => {
    const delta = (call: Record<string, unknown>) => (ch: any) => (ch.delta = { tool_calls: [call] });
    const fn = tf!.stream === 'vllm' ? { name: c.name } : { name: c.name, arguments: '' };
    const header = tf!.stream === 'vllm' ? { id: c.id, type: 'function', index, function: fn } : { index, id: c.id, type: 'function', function: fn };
    frames.push(make(contentTpl, delta(header)));
    const pieces = tf!.stream === 'whole' ? [c.args] : fragmentsOf(c.args);
    if (tf!.stream === 'vllm' && index === calls.length - 1 && pieces.length > 1) {
      finishDelta = { tool_calls: [{ index, function: { arguments: pieces.pop() } }] };
    }
    pieces.forEach((piece, i) => {
      frames.push(make(contentTpl, delta({ index, function: { arguments: piece } })));
      if (index === 0 && i === 0) cutInToolCall = frames.length;
    });
  });
  if (calls.length > 0 && tf!.stream === 'vllm') finishDelta ??= { tool_calls: [{ index: calls.length - 1, function: { arguments: '' } }] };
  const tail = [
    make(finishTpl, (ch) => {
      if (calls.length > 0) ch.delta = finishDelta ?? {};
      ch.finish_reason = finishReason;
      if ('stop_reason' in ch) ch.stop_reason = r.stopSequence;
    }),
  ];
  if (so.include_usage === true) {
    const usage = Object.fromEntries(Object.entries(fillUsage(full.usage, promptTokens, r.completionTokens)).filter(([, v]) => v !== null));
    let u: Record<string, any> = { ...templates[0], id, created, model, choices: [] };
    u = insertAfter(u, 'choices', 'usage', usage);
    setObfuscation(u);
    tail.push(f.chunk(u));
  }
  const plan = streamPlan(f.format ?? dataSse(), frames, tail, f.streamError);
  if (cutInToolCall !== undefined) plan.cutInToolCall = cutInToolCall;
  return plan;
}

/** The chat API's way of carrying tools, read back from a recorded `/chat/completions` request. */
export const openAIToolWire: ToolWireReader = {
  toolNames(req: RecordedRequest): string[] {
    const tools = req.json?.tools;
    return Array.isArray(tools) ? tools.map((t: any) => t?.function?.name).filter((n: unknown): n is string => typeof n === 'string') : [];
  },
  toolChoice(req: RecordedRequest) {
    const c = req.json?.tool_choice;
    if (c === 'auto' || c === 'none' || c === 'required') return c;
    if (typeof c === 'object' && c !== null && typeof c.function?.name === 'string') return { type: 'tool', name: c.function.name };
    return undefined;
  },
  assistantCalls(req: RecordedRequest): WireAssistantCall[] {
    const messages = Array.isArray(req.json?.messages) ? req.json.messages : [];
    return messages
      .filter((m: any) => m?.role === 'assistant' && Array.isArray(m.tool_calls))
      .flatMap((m: any) =>
        m.tool_calls.map((c: any) => {
          let args: unknown = c?.function?.arguments;
          try {
            args = typeof args === 'string' ? JSON.parse(args) : args;
          } catch {
            // left as the text it is
          }
          return { id: c?.id, name: c?.function?.name, arguments: args };
        }),
      );
  },
  toolResults(req: RecordedRequest): WireToolResult[] {
    const messages = Array.isArray(req.json?.messages) ? req.json.messages : [];
    return messages
      .filter((m: any) => m?.role === 'tool')
      .map((m: any) => ({ toolCallId: m.tool_call_id, content: typeof m.content === 'string' ? m.content : JSON.stringify(m.content) }));
  },
};

export function embeddingsResponse(f: CompatFlavor, ctx: HandlerCtx, defaultDimension: number): Plan {
  const b = body(ctx);
  const inputs = embeddingInputs(b.input);
  if (!inputs) throw new PlanError(f.error(400, ctx, "'input' must be a non-empty string or array."));
  const dim = typeof b.dimensions === 'number' && b.dimensions > 0 ? b.dimensions : (ctx.reply.embeddingDimension ?? defaultDimension);
  const res = fixtureJson('openai', 'embeddings.response.json');
  const item = res.data[0];
  const base64 = b.encoding_format === 'base64';
  res.data = inputs.map((text, index) => {
    const v = embedText(text, dim);
    return { ...item, embedding: base64 ? toBase64Floats(v) : v, index };
  });
  res.model = f.model(b.model);
  const tokens = ctx.reply.promptTokens ?? inputs.reduce((n, t) => n + estimateTokens(t), 0);
  res.usage = fillUsage(res.usage, tokens, 0);
  return jsonPlan(200, f.body(res));
}

/** `/v1/audio/transcriptions` (multipart). `json` builds the JSON body from the text. */
export function transcription(f: CompatFlavor, ctx: HandlerCtx, json: (text: string) => unknown): Plan {
  const form = ctx.req.form;
  if (!form) throw new PlanError(f.error(400, ctx, 'Expected a multipart/form-data body.'));
  if (!form.files.file) throw new PlanError(f.error(400, ctx, "Missing required parameter: 'file'."));
  const text = ctx.reply.transcription ?? ctx.reply.text ?? fixtureJson('openai', 'audio.transcriptions.response.json').text;
  const format = form.fields.response_format ?? 'json';
  if (format === 'text' || format === 'srt' || format === 'vtt') return bodyPlan(200, 'text/plain; charset=utf-8', text);
  return jsonPlan(200, f.body(json(text)));
}

/** `/v1/models`: the fixture, or one card per configured model built from the fixture's first card. */
export function modelList(f: CompatFlavor, ctx: HandlerCtx, card: (tpl: any, id: string) => unknown): Plan {
  const res = fixtureJson(f.fixtures, f.fixtures === 'koboldcpp' ? 'v1.models.response.json' : 'models.response.json');
  const models = ctx.options.models;
  if (models && models.length) res.data = models.map((id) => card(structuredClone(res.data[0]), id));
  return jsonPlan(200, f.body(res));
}

export function chatIdOpenAI(): string {
  return 'chatcmpl-' + randomId(29);
}

/** The reply of a request that asks for JSON (`response_format`, or vLLM's `structured_outputs.json`), else undefined. */
function jsonRequested(b: Record<string, any>): string | undefined {
  const format = b.response_format;
  if (format?.type === 'json_schema') return jsonReplyText(format.json_schema?.schema);
  if (format?.type === 'json_object') return jsonReplyText(undefined);
  if (b.structured_outputs?.json !== undefined) return jsonReplyText(b.structured_outputs.json);
  return undefined;
}

/** The first chunk (the role's) of the backend's recorded tool-call stream, when it has one. */
function toolRoleChunk(fixtures: FixtureBackend): Record<string, any> | undefined {
  try {
    return fixtureSse(fixtures, 'chat.completions.tools.stream.sse.txt')[0];
  } catch {
    return undefined;
  }
}
