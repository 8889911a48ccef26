/** Ollama emulator: NDJSON streams, `{"error": "..."}` errors, durations in nanoseconds. */
import { authorized, body, unknownModel, type BackendDef, type HandlerCtx } from '../backend.js';
import { embedText, embeddingInputs } from '../embeddings.js';
import { fixtureJson, fixtureNdjson } from '../fixtures.js';
import { jsonReplyText } from '../json-sample.js';
import { ndjson } from '../ndjson.js';
import { bodyPlan, PlanError, streamPlan, type BodyPlan, type Plan } from '../plan.js';
import { defaultReplyText, estimateTokens, messagesText, randomId, renderText, splitIntoChunks, type RenderedText } from '../text.js';
import { callsFor } from '../tools.js';
import type { RecordedRequest, ScriptedToolCall, ToolWireReader, WireAssistantCall, WireToolResult } from '../types.js';

const DEFAULT_MODEL = 'llama3.2';
const DEFAULT_VERSION = '0.12.10';
const MESSAGES: Record<number, string> = {
  400: 'invalid request',
  401: 'unauthorized',
  403: 'forbidden',
  429: 'too many requests',
  502: 'bad gateway',
  503: 'server busy, please try again.  maximum pending requests exceeded',
};

const json = (status: number, v: unknown): BodyPlan => bodyPlan(status, 'application/json; charset=utf-8', JSON.stringify(v));
const withTag = (m: string): string => (m.includes(':') ? m : `${m}:latest`);
const modelOf = (ctx: HandlerCtx): string => (typeof body(ctx).model === 'string' && body(ctx).model) || DEFAULT_MODEL;
const createdAt = (): string => new Date().toISOString();

function errorPlan(status: number, ctx: HandlerCtx, message?: string): Plan {
  if (status === 404 && message === undefined) {
    const tpl = fixtureJson('ollama', 'error.404.json');
    tpl.error = tpl.error.replace(/^model "(?:[^"\\]|\\.)*"/, `model ${JSON.stringify(modelOf(ctx))}`);
    return json(404, tpl);
  }
  const fallback = (): string => (status >= 500 ? fixtureJson('ollama', 'error.500.json').error : MESSAGES[400]!);
  return json(status, { error: message ?? MESSAGES[status] ?? fallback() });
}

function checkModel(ctx: HandlerCtx): void {
  if (unknownModel(ctx, body(ctx).model, withTag)) throw new PlanError(errorPlan(404, ctx));
}

/** The metrics Ollama appends to the final object (nanoseconds). */
function metrics(promptTokens: number, evalCount: number) {
  const load_duration = 1_019_500;
  const prompt_eval_duration = promptTokens * 1_000_000;
  const eval_duration = evalCount * 15_000_000;
  return {
    total_duration: load_duration + prompt_eval_duration + eval_duration,
    load_duration,
    prompt_eval_count: promptTokens,
    prompt_eval_duration,
    eval_count: evalCount,
    eval_duration,
  };
}

function render(ctx: HandlerCtx, promptText: string): { r: RenderedText; stats: ReturnType<typeof metrics> } {
  const o = body(ctx).options ?? {};
  const r = renderText(ctx.reply, jsonFormat(body(ctx).format) ?? defaultReplyText('Ollama'), { maxTokens: o.num_predict, stop: o.stop });
  return { r, stats: metrics(ctx.reply.promptTokens ?? estimateTokens(promptText), r.completionTokens) };
}

const streamError = (message: string): string => JSON.stringify({ error: message }) + '\n';

/** Whether the emulated server is at least `version` (default: the newest behaviour, 0.12.10). */
function atLeast(ctx: HandlerCtx, version: string): boolean {
  const parts = (v: string) => v.split(/[.-]/).map((n) => Number.parseInt(n, 10) || 0);
  const [have, want] = [parts(ctx.options.version ?? DEFAULT_VERSION), parts(version)];
  for (let i = 0; i < Math.max(have.length, want.length); i++) {
    if ((have[i] ?? 0) !== (want[i] ?? 0)) return (have[i] ?? 0) > (want[i] ?? 0);
  }
  return true;
}

/**
 * The tool calls as Ollama writes them: `arguments` a JSON object (scripted
 * raw text that is not a JSON object is sent as a string, as a broken server
 * would), `function.index` from 0.12.6, `id` ("call_" + 8 lowercase letters
 * and digits) from 0.12.10.
 */
function toolCalls(ctx: HandlerCtx, calls: readonly ScriptedToolCall[]): unknown[] {
  return calls.map((call, index) => {
    let args: unknown = call.arguments;
    if (typeof args === 'string') {
      try {
        const parsed: unknown = JSON.parse(args);
        if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) args = parsed;
      } catch {
        /* sent as the raw text */
      }
    }
    const fn = atLeast(ctx, '0.12.6') ? { index, name: call.name, arguments: args } : { name: call.name, arguments: args };
    const id = call.id ?? (atLeast(ctx, '0.12.10') ? `call_${randomId(8, 'abcdefghijklmnopqrstuvwxyz0123456789')}` : undefined);
    return id === undefined ? { function: fn } : { id, function: fn };
  });
}

function chat(ctx: HandlerCtx): Plan {
  checkModel(ctx);
  const b = body(ctx);
  const model = modelOf(ctx);
  const calls = toolCalls(ctx, callsFor(ctx));
  // With calls, the text is only what the script gives (content "" by default).
  const reply = calls.length > 0 && ctx.reply.text === undefined && !ctx.reply.chunks ? { ...ctx.reply, text: '' } : ctx.reply;
  const { r, stats } = render({ ...ctx, reply }, messagesText(b.messages));
  // A thinking model thinks unless the request says `think: false`.
  const thinking = ctx.reply.reasoning !== undefined && b.think !== false ? ctx.reply.reasoning : undefined;
  const end = { done_reason: r.finishReason, done: true, ...stats };
  if (b.stream === false) {
    const tpl = fixtureJson('ollama', 'chat.response.json');
    const message: Record<string, unknown> = { ...tpl.message, content: r.text };
    if (thinking !== undefined) message.thinking = thinking;
    if (calls.length > 0) message.tool_calls = calls;
    return json(200, { model, created_at: createdAt(), message, ...end });
  }
  const [line] = fixtureNdjson('ollama', 'chat.stream.ndjson');
  const frame = (message: Record<string, unknown>): string =>
    JSON.stringify({ ...line, model, created_at: createdAt(), message: { ...line.message, ...message } });
  // Thinking comes first, with content "", then the content, then each call whole in its own line.
  const frames = [
    ...(thinking ? splitIntoChunks(thinking) : []).map((piece) => frame({ content: '', thinking: piece })),
    ...r.chunks.map((content) => frame({ content })),
  ];
  const toolCallFrame = calls.length > 0 ? frames.length : undefined;
  const [callLine] = fixtureNdjson('ollama', 'chat.tools.stream.ndjson');
  frames.push(
    ...calls.map((call) =>
      JSON.stringify({ ...callLine, model, created_at: createdAt(), message: { ...callLine.message, content: '', tool_calls: [call] } }),
    ),
  );
  const final = { model, created_at: createdAt(), message: { ...line.message, content: '' }, ...end };
  return { ...streamPlan(ndjson, frames, [JSON.stringify(final)], streamError), toolCallFrame };
}

function generate(ctx: HandlerCtx): Plan {
  checkModel(ctx);
  const b = body(ctx);
  const model = modelOf(ctx);
  const { r, stats } = render(ctx, [b.system, b.prompt].filter((s) => typeof s === 'string').join('\n'));
  const context = Array.from({ length: Math.min(stats.prompt_eval_count + stats.eval_count, 4096) }, (_, i) => i + 1);
  const end = { done: true, done_reason: r.finishReason, context, ...stats };
  if (b.stream === false) {
    return json(200, { model, created_at: createdAt(), response: r.text, ...end });
  }
  const [line] = fixtureNdjson('ollama', 'generate.stream.ndjson');
  const frames = r.chunks.map((response) => JSON.stringify({ ...line, model, created_at: createdAt(), response }));
  const final = { model, created_at: createdAt(), response: '', ...end };
  return streamPlan(ndjson, frames, [JSON.stringify(final)], streamError);
}

function embed(ctx: HandlerCtx): Plan {
  checkModel(ctx);
  const b = body(ctx);
  const inputs = embeddingInputs(b.input);
  if (!inputs) throw new PlanError(errorPlan(400, ctx, 'invalid input type'));
  const dim = typeof b.dimensions === 'number' && b.dimensions > 0 ? b.dimensions : (ctx.reply.embeddingDimension ?? 384);
  const tpl = fixtureJson('ollama', 'embed.response.json');
  tpl.model = modelOf(ctx);
  tpl.embeddings = inputs.map((t) => embedText(t, dim));
  tpl.prompt_eval_count = ctx.reply.promptTokens ?? inputs.reduce((n, t) => n + estimateTokens(t), 0);
  return json(200, tpl);
}

/** `/api/show`: the fixture, renamed, with the configured context length under `<architecture>.context_length`. */
function show(ctx: HandlerCtx): Plan {
  checkModel(ctx);
  const tpl = fixtureJson('ollama', 'show.response.json');
  const arch = tpl.model_info['general.architecture'];
  if (ctx.options.contextLength !== undefined) tpl.model_info[`${arch}.context_length`] = ctx.options.contextLength;
  return json(200, tpl);
}

function tags(ctx: HandlerCtx): Plan {
  const tpl = fixtureJson('ollama', 'tags.response.json');
  const models = ctx.options.models;
  if (models && models.length) tpl.models = models.map((m) => ({ ...tpl.models[0], name: withTag(m) }));
  return json(200, tpl);
}

/** How /api/chat requests carry tools: OpenAI's `tools`, calls with object arguments, results with `tool_name` (and `tool_call_id`). No tool choice. */
export const ollamaToolWire: ToolWireReader = {
  toolNames(req: RecordedRequest): string[] {
    const tools = req.json?.tools;
    return Array.isArray(tools) ? tools.map((t: any) => t?.function?.name).filter((n: unknown): n is string => typeof n === 'string') : [];
  },
  assistantCalls(req: RecordedRequest): WireAssistantCall[] {
    const messages: any[] = Array.isArray(req.json?.messages) ? req.json.messages : [];
    return messages
      .filter((m) => m?.role === 'assistant' && Array.isArray(m.tool_calls))
      .flatMap((m) => m.tool_calls.map((c: any) => ({ id: c?.id, name: c?.function?.name, arguments: c?.function?.arguments })));
  },
  toolResults(req: RecordedRequest): WireToolResult[] {
    const messages: any[] = Array.isArray(req.json?.messages) ? req.json.messages : [];
    return messages
      .filter((m) => m?.role === 'tool')
      .map((m) => ({ toolCallId: m.tool_call_id, name: m.tool_name, content: typeof m.content === 'string' ? m.content : JSON.stringify(m.content) }));
  },
};

export const ollamaBackend: BackendDef = {
  kind: 'ollama',
  baseSuffix: '',
  routes: [
    { method: 'POST', path: '/api/chat', handler: chat },
    { method: 'POST', path: '/api/generate', handler: generate },
    { method: 'POST', path: '/api/embed', handler: embed },
    { method: 'GET', path: '/api/tags', handler: tags },
    { method: 'POST', path: '/api/show', handler: show },
    { method: 'GET', path: '/api/version', handler: (c) => json(200, { version: c.options.version ?? DEFAULT_VERSION }) },
    { method: 'GET', path: '/', handler: () => bodyPlan(200, 'text/plain; charset=utf-8', 'Ollama is running') },
  ],
  authorize: (ctx) => (authorized(ctx) ? undefined : errorPlan(401, ctx)),
  errorPlan,
  notFound: () => bodyPlan(404, 'text/plain', '404 page not found'),
  invalidBody: (ctx) => errorPlan(400, ctx, 'invalid character in request body'),
  toolWire: ollamaToolWire,
};

/** The reply of a request with `format` ("json" or a JSON Schema object), else undefined. */
function jsonFormat(format: unknown): string | undefined {
  if (format === 'json') return jsonReplyText(undefined);
  return typeof format === 'object' && format !== null ? jsonReplyText(format) : undefined;
}
