/**
 * Example.com: a fictional completion API defined by the testkit.
 * POST /v1/completion {model, prompt, temp, max_tokens?, stop?, stream?} with `Authorization: Bearer <key>`.
 */
import { authorized, body, unknownModel, type BackendDef, type HandlerCtx } from '../backend.js';
import { jsonPlan, PlanError, streamPlan, type Plan } from '../plan.js';
import { dataSse } from '../sse.js';
import { defaultReplyText, estimateTokens, renderText } from '../text.js';

const CODES: Record<number, [code: string, message: string]> = {
  400: ['invalid_request', 'The request is invalid.'],
  401: ['unauthorized', 'Invalid or missing API key.'],
  403: ['forbidden', 'This key may not use this resource.'],
  404: ['not_found', 'Not found.'],
  429: ['rate_limited', 'Too many requests, slow down.'],
  500: ['internal_error', 'Internal error.'],
  502: ['bad_gateway', 'Bad gateway.'],
  503: ['unavailable', 'Service unavailable, try again later.'],
  504: ['timeout', 'Upstream timeout.'],
};

function error(status: number, message?: string, code?: string): Plan {
  const [c, m] = CODES[status] ?? (status >= 500 ? CODES[500]! : CODES[400]!);
  return jsonPlan(status, JSON.stringify({ error: { message: message ?? m, code: code ?? c } }));
}

const fail = (status: number, message: string, code?: string): never => {
  throw new PlanError(error(status, message, code));
};

/** In-stream error: one error event, then the server ends the stream (no [DONE]). */
const streamError = (message: string): string => `data: ${JSON.stringify({ error: { message, code: 'stream_error' } })}\n\n`;

function completion(ctx: HandlerCtx): Plan {
  const b = body(ctx);
  if (typeof b.model !== 'string' || !b.model) fail(400, "'model' is required.");
  if (typeof b.prompt !== 'string') fail(400, "'prompt' must be a string.");
  if (b.temp !== undefined && typeof b.temp !== 'number') fail(400, "'temp' must be a number.");
  if (unknownModel(ctx, b.model)) fail(404, `model '${b.model}' not found`, 'model_not_found');
  const r = renderText(ctx.reply, defaultReplyText('Example.com'), { maxTokens: b.max_tokens, stop: b.stop });
  if (b.stream === true) {
    const frames = r.chunks.map((text) => JSON.stringify({ text, finish_reason: null }));
    return streamPlan(dataSse('text/event-stream'), frames, [JSON.stringify({ text: '', finish_reason: r.finishReason })], streamError);
  }
  const usage = { prompt_tokens: ctx.reply.promptTokens ?? estimateTokens(b.prompt), completion_tokens: r.completionTokens };
  return jsonPlan(200, JSON.stringify({ data: { choices: [{ text: r.text, finish_reason: r.finishReason }] }, usage }));
}

export const exampleComBackend: BackendDef = {
  kind: 'example-com',
  baseSuffix: '',
  routes: [{ method: 'POST', path: '/v1/completion', handler: completion }],
  authorize: (ctx) => (authorized(ctx) ? undefined : error(401)),
  errorPlan: (status, _ctx, message) => error(status, message),
  notFound: (ctx, methodMismatch) =>
    methodMismatch ? error(405, `Method ${ctx.req.method} not allowed.`, 'method_not_allowed') : error(404, `No route for ${ctx.req.method} ${ctx.req.path}.`),
  invalidBody: () => error(400, 'The body is not valid JSON.', 'invalid_json'),
};
