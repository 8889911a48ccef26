/** vLLM OpenAI-compatible server emulator (compact JSON, nested errors with integer codes). */
import { authorized, body, unknownModel, type BackendDef, type HandlerCtx } from '../backend.js';
import { fixtureJson, fixtureSse, fixtureText } from '../fixtures.js';
import { jsonPlan, PlanError, type Plan } from '../plan.js';
import { pyJson } from '../pyjson.js';
import { estimateTokens, messagesText, randomId } from '../text.js';
import { chatCompletion, embeddingsResponse, openAIToolWire, transcription, type CompatFlavor } from './openai-compat.js';

const DEFAULT_MODEL = 'Qwen/Qwen2.5-1.5B-Instruct';

const TYPES: Record<number, string> = {
  400: 'BadRequestError',
  404: 'NotFoundError',
  429: 'RateLimitError',
  500: 'InternalServerError',
  501: 'NotImplementedError',
  503: 'ServiceUnavailableError',
};

const MESSAGES: Record<number, string> = {
  400: 'Bad request.',
  429: 'Too many requests.',
  500: 'Internal server error',
  501: 'Not implemented.',
  503: 'The server is overloaded or not ready yet.',
};

const compact = (v: unknown): string => JSON.stringify(v);

function errorPlan(status: number, ctx: HandlerCtx, message?: string): Plan {
  if (status === 401) return jsonPlan(401, fixtureText('vllm', 'error.401.json').trim());
  const tpl = fixtureJson('vllm', 'error.404.json');
  if (status === 404) {
    tpl.error.message = message ?? `The model \`${String(body(ctx).model ?? DEFAULT_MODEL)}\` does not exist.`;
  } else {
    tpl.error.message = message ?? MESSAGES[status] ?? (status >= 500 ? MESSAGES[500] : MESSAGES[400]);
    tpl.error.type = TYPES[status] ?? (status >= 500 ? 'InternalServerError' : 'BadRequestError');
    tpl.error.param = null;
  }
  tpl.error.code = status;
  return jsonPlan(status, compact(tpl));
}

/** `data: {error}` with Python json.dumps spacing, then `data: [DONE]` (serving.py). */
function streamError(message: string): string {
  const [tpl] = fixtureSse('vllm', 'chat.completions.stream-error.sse.txt');
  tpl.error.message = message;
  return `data: ${pyJson(tpl)}\n\ndata: [DONE]\n\n`;
}

export const vllmFlavor: CompatFlavor = {
  fixtures: 'vllm',
  label: 'vLLM',
  body: compact,
  chunk: compact,
  chatId: () => 'chatcmpl-' + randomId(32, '0123456789abcdef'),
  model: (m) => (typeof m === 'string' && m ? m : DEFAULT_MODEL),
  streamError,
  error: errorPlan,
  tools: {
    callId: () => 'chatcmpl-tool-' + randomId(16, '0123456789abcdef'),
    argumentsText: pyJson,
    stream: 'vllm',
    namedChoiceFinish: 'stop',
    reasoningField: 'reasoning',
    forcedCallContent: '',
  },
};

function checkModel(ctx: HandlerCtx): void {
  if (unknownModel(ctx, body(ctx).model ?? ctx.req.form?.fields.model)) throw new PlanError(errorPlan(404, ctx));
}

/** vLLM refuses an empty tools list (protocol.py validator) with a 400. */
function checkTools(ctx: HandlerCtx): void {
  const tools = body(ctx).tools;
  if (Array.isArray(tools) && tools.length === 0) {
    throw new PlanError(errorPlan(400, ctx, "[{'type': 'value_error', 'loc': ('body',), 'msg': 'Value error, tools cannot be an empty list'}]"));
  }
}

function card(tpl: any, id: string): unknown {
  tpl.id = id;
  tpl.root = id;
  return tpl;
}

/** `/v1/models`: one card per configured model (or the fixture's), `max_model_len` the configured context length if any. */
function models(ctx: HandlerCtx): Plan {
  const res = fixtureJson('vllm', 'models.response.json');
  const ids: string[] = ctx.options.models?.length ? ctx.options.models : [res.data[0].id];
  const length = ctx.options.contextLength;
  res.data = ids.map((id) => ({ ...(card(structuredClone(res.data[0]), id) as object), ...(length !== undefined ? { max_model_len: length } : {}) }));
  return jsonPlan(200, vllmFlavor.body(res));
}

/**
 * `POST /tokenize` (server root): the completion form (`prompt`) or the chat
 * form (`messages`), answered as `TokenizeResponse` with illustrative ids.
 */
function tokenize(ctx: HandlerCtx): Plan {
  checkModel(ctx);
  const b = body(ctx);
  const text = typeof b.prompt === 'string' ? b.prompt : Array.isArray(b.messages) ? messagesText(b.messages) : undefined;
  if (text === undefined) return errorPlan(400, ctx, 'Either prompt or messages must be given.');
  const tpl = fixtureJson('vllm', 'tokenize.response.json');
  const count = estimateTokens(text) + (Array.isArray(b.messages) ? 3 * b.messages.length : 0);
  tpl.count = count;
  tpl.tokens = Array.from({ length: count }, (_, i) => tpl.tokens[i % tpl.tokens.length]);
  if (ctx.options.contextLength !== undefined) tpl.max_model_len = ctx.options.contextLength;
  return jsonPlan(200, vllmFlavor.body(tpl));
}

export const vllmBackend: BackendDef = {
  kind: 'vllm',
  baseSuffix: '/v1',
  routes: [
    { method: 'POST', path: '/v1/chat/completions', handler: (c) => (checkModel(c), checkTools(c), chatCompletion(vllmFlavor, c)) },
    { method: 'POST', path: '/v1/embeddings', handler: (c) => (checkModel(c), embeddingsResponse(vllmFlavor, c, 1024)) },
    {
      method: 'POST',
      path: '/v1/audio/transcriptions',
      body: 'any',
      handler: (c) => {
        checkModel(c);
        const seconds = Math.max(1, Math.round((c.req.form?.files.file?.data.length ?? 0) / 32000));
        return transcription(vllmFlavor, c, (text) => ({ text, usage: { type: 'duration', seconds } }));
      },
    },
    { method: 'GET', path: '/v1/models', handler: models },
    { method: 'POST', path: '/tokenize', handler: tokenize },
    { method: 'GET', path: '/health', handler: () => ({ type: 'body', status: 200, headers: {}, body: '' }) }, // empty Response()
    { method: 'GET', path: '/version', handler: () => jsonPlan(200, compact({ version: '0.11.0' })) },
  ],
  /** AuthenticationMiddleware only guards /v1 paths. */
  authorize: (ctx) => (ctx.req.path.startsWith('/v1') && !authorized(ctx) ? errorPlan(401, ctx) : undefined),
  errorPlan,
  toolWire: openAIToolWire,
  notFound: (_ctx, methodMismatch) =>
    methodMismatch ? jsonPlan(405, compact({ detail: 'Method Not Allowed' })) : jsonPlan(404, compact({ detail: 'Not Found' })),
  invalidBody: (ctx) => errorPlan(400, ctx, 'Invalid JSON body.'),
};
