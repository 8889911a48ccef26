/** OpenAI (api.openai.com/v1) emulator. */
import { authorized, bearerToken, body, unknownModel, type BackendDef, type HandlerCtx } from '../backend.js';
import { fixtureJson } from '../fixtures.js';
import { bodyPlan, jsonPlan, PlanError, type Plan } from '../plan.js';
import { speechAudio } from '../wav.js';
import { chatCompletion, chatIdOpenAI, embeddingsResponse, modelList, openAIToolWire, transcription, type CompatFlavor } from './openai-compat.js';
import { randomId } from '../text.js';

const DEFAULT_MODEL = 'gpt-4o-mini';

const ERRORS: Record<number, [type: string, code: string | null, message: string]> = {
  400: ['invalid_request_error', null, 'Invalid request.'],
  403: ['invalid_request_error', 'unsupported_country_region_territory', 'Country, region, or territory not supported'],
  404: ['invalid_request_error', 'model_not_found', ''],
  409: ['invalid_request_error', null, 'The request conflicts with the current state of the resource.'],
  422: ['invalid_request_error', null, 'Unprocessable request.'],
  429: ['requests', 'rate_limit_exceeded', 'Rate limit reached for requests. Please try again later.'],
  500: ['server_error', null, 'The server had an error while processing your request. Sorry about that!'],
  502: ['server_error', null, 'Bad gateway.'],
  503: ['server_error', null, 'The engine is currently overloaded, please try again later.'],
  504: ['server_error', null, 'Gateway timeout.'],
};

const pretty = (v: unknown): string => JSON.stringify(v, null, 2);

function errorBody(status: number, message: string, type: string, code: string | null, param: string | null = null): Plan {
  return jsonPlan(status, pretty({ error: { message, type, param, code } }));
}

function maskKey(key: string): string {
  if (key.length <= 12) return '*'.repeat(key.length);
  return key.slice(0, 8) + '*'.repeat(key.length - 12) + key.slice(-4);
}

function unauthorized(ctx: HandlerCtx): Plan {
  const tpl = fixtureJson('openai', 'error.401.json');
  const key = bearerToken(ctx.req);
  if (key === undefined) {
    tpl.error.message =
      "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY). You can obtain an API key from https://platform.openai.com/account/api-keys.";
    tpl.error.code = null;
  } else {
    tpl.error.message = tpl.error.message.replace(/provided: \S+\./, `provided: ${maskKey(key)}.`);
  }
  return jsonPlan(401, pretty(tpl));
}

function errorPlan(status: number, ctx: HandlerCtx, message?: string): Plan {
  if (status === 401) return unauthorized(ctx);
  if (status === 404) {
    const model = String(body(ctx).model ?? DEFAULT_MODEL);
    return errorBody(404, message ?? `The model \`${model}\` does not exist or you do not have access to it.`, 'invalid_request_error', 'model_not_found');
  }
  const [type, code, text] = ERRORS[status] ?? (status >= 500 ? ERRORS[500]! : ERRORS[400]!);
  return errorBody(status, message ?? text, type, code);
}

export const openaiFlavor: CompatFlavor = {
  fixtures: 'openai',
  label: 'OpenAI',
  body: pretty,
  chunk: (v) => JSON.stringify(v),
  chatId: chatIdOpenAI,
  model: (m) => (typeof m === 'string' && m ? m : DEFAULT_MODEL),
  usageNullInChunks: true,
  streamError: (message) => `data: ${JSON.stringify({ error: { message, type: 'server_error', param: null, code: null } })}\n\n`,
  error: errorPlan,
  tools: { callId: () => 'call_' + randomId(24), argumentsText: (args) => JSON.stringify(args), stream: 'fragments' },
};

function checkModel(ctx: HandlerCtx): void {
  if (unknownModel(ctx, body(ctx).model ?? ctx.req.form?.fields.model)) throw new PlanError(errorPlan(404, ctx));
}

function speech(ctx: HandlerCtx): Plan {
  const b = body(ctx);
  if (typeof b.input !== 'string' || !b.input) throw new PlanError(errorPlan(400, ctx, "Missing required parameter: 'input'."));
  if (typeof b.voice !== 'string') throw new PlanError(errorPlan(400, ctx, "Missing required parameter: 'voice'."));
  const audio = speechAudio(typeof b.response_format === 'string' ? b.response_format : 'mp3', b.input);
  return bodyPlan(200, audio.contentType, audio.data);
}

export const openaiBackend: BackendDef = {
  kind: 'openai',
  baseSuffix: '/v1',
  routes: [
    { method: 'POST', path: '/v1/chat/completions', handler: (c) => (checkModel(c), chatCompletion(openaiFlavor, c)) },
    { method: 'POST', path: '/v1/embeddings', handler: (c) => (checkModel(c), embeddingsResponse(openaiFlavor, c, 1536)) },
    { method: 'POST', path: '/v1/audio/speech', handler: (c) => (checkModel(c), speech(c)) },
    {
      method: 'POST',
      path: '/v1/audio/transcriptions',
      body: 'any',
      handler: (c) => {
        checkModel(c);
        return transcription(openaiFlavor, c, (text) => ({ ...fixtureJson<object>('openai', 'audio.transcriptions.response.json'), text }));
      },
    },
    { method: 'GET', path: '/v1/models', handler: (c) => modelList(openaiFlavor, c, (tpl, id) => ({ ...tpl, id })) },
  ],
  authorize: (ctx) => (authorized(ctx) ? undefined : unauthorized(ctx)),
  errorPlan,
  toolWire: openAIToolWire,
  notFound: (ctx) =>
    errorBody(404, `Invalid URL (${ctx.req.method} ${ctx.req.path})`, 'invalid_request_error', null),
  invalidBody: (ctx) =>
    errorPlan(400, ctx, "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON."),
};
