/** Ollama emulator: NDJSON streams, `{"error": "..."}` errors, durations in nanoseconds. */
import { authorized, body, unknownModel, type BackendDef, type HandlerCtx } from '../backend.js';
import { embedText, embeddingInputs } from '../embeddings.js';
import { fixtureJson, fixtureNdjson } from '../fixtures.js';
import { ndjson } from '../ndjson.js';
import { bodyPlan, PlanError, streamPlan, type BodyPlan, type Plan } from '../plan.js';
import { defaultReplyText, estimateTokens, messagesText, renderText, type RenderedText } from '../text.js';

const DEFAULT_MODEL = 'llama3.2';
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
  const r = renderText(ctx.reply, defaultReplyText('Ollama'), { maxTokens: o.num_predict, stop: o.stop });
  return { r, stats: metrics(ctx.reply.promptTokens ?? estimateTokens(promptText), r.completionTokens) };
}

const streamError = (message: string): string => JSON.stringify({ error: message }) + '\n';

function chat(ctx: HandlerCtx): Plan {
  checkModel(ctx);
  const b = body(ctx);
  const model = modelOf(ctx);
  const { r, stats } = render(ctx, messagesText(b.messages));
  const end = { done_reason: r.finishReason, done: true, ...stats };
  if (b.stream === false) {
    const tpl = fixtureJson('ollama', 'chat.response.json');
    return json(200, { model, created_at: createdAt(), message: { ...tpl.message, content: r.text }, ...end });
  }
  const [line] = fixtureNdjson('ollama', 'chat.stream.ndjson');
  const frames = r.chunks.map((content) =>
    JSON.stringify({ ...line, model, created_at: createdAt(), message: { ...line.message, content } }),
  );
  const final = { model, created_at: createdAt(), message: { ...line.message, content: '' }, ...end };
  return streamPlan(ndjson, frames, [JSON.stringify(final)], streamError);
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

export const ollamaBackend: BackendDef = {
  kind: 'ollama',
  baseSuffix: '',
  routes: [
    { method: 'POST', path: '/api/chat', handler: chat },
    { method: 'POST', path: '/api/generate', handler: generate },
    { method: 'POST', path: '/api/embed', handler: embed },
    { method: 'GET', path: '/api/tags', handler: tags },
    { method: 'POST', path: '/api/show', handler: show },
    { method: 'GET', path: '/api/version', handler: () => json(200, { version: '0.12.6' }) },
    { method: 'GET', path: '/', handler: () => bodyPlan(200, 'text/plain; charset=utf-8', 'Ollama is running') },
  ],
  authorize: (ctx) => (authorized(ctx) ? undefined : errorPlan(401, ctx)),
  errorPlan,
  notFound: () => bodyPlan(404, 'text/plain', '404 page not found'),
  invalidBody: (ctx) => errorPlan(400, ctx, 'invalid character in request body'),
};
