/** KoboldCpp emulator: Python json.dumps bodies, `event: message` SSE closed by the server, `{"detail": ...}` errors. */
import { authorized, body, type BackendDef, type HandlerCtx, type Route } from '../backend.js';
import { fixtureJson, fixtureSse, fixtureText } from '../fixtures.js';
import { bodyPlan, PlanError, streamPlan, type BodyPlan, type Plan } from '../plan.js';
import { pyJson } from '../pyjson.js';
import { dataSse, koboldSse } from '../sse.js';
import { defaultReplyText, estimateTokens, renderText } from '../text.js';
import { pcmTone, speechDurationMs, wavFile } from '../wav.js';
import { chatCompletion, embeddingsResponse, modelList, type CompatFlavor } from './openai-compat.js';

const json = (status: number, v: unknown): BodyPlan => bodyPlan(status, 'application/json', pyJson(v));

const prefixed = (m: string): string => (m.startsWith('koboldcpp/') ? m : `koboldcpp/${m}`);

function modelName(ctx: HandlerCtx): string {
  const m = ctx.options.models?.[0];
  return m ? prefixed(m) : fixtureJson('koboldcpp', 'model.response.json').result;
}

function errorPlan(status: number, ctx: HandlerCtx, message?: string): Plan {
  switch (status) {
    case 401:
      return bodyPlan(401, 'application/json', fixtureText('koboldcpp', 'error.401.json').trim());
    case 404:
      return bodyPlan(404, 'text/html', fixtureText('koboldcpp', 'error.404.txt').trim());
    case 500:
    case 503: {
      const tpl = fixtureJson('koboldcpp', `error.${status}.json`);
      if (message !== undefined) tpl.detail.msg = message;
      return json(status, tpl);
    }
    default:
      return json(status, { detail: { msg: message ?? `Request failed with status ${status}.`, type: status >= 500 ? 'server_error' : 'bad_input' } });
  }
}

const badInput = (ctx: HandlerCtx): Plan => errorPlan(500, ctx);

/** KoboldCpp has no in-stream error event; the emulator sends its error body as a message event. */
const streamError = (message: string): string =>
  koboldSse.frame(pyJson({ detail: { msg: message, type: 'server_error' } }));

let oaiCounter = 0;
function oaiFlavor(ctx: HandlerCtx): CompatFlavor {
  return {
    fixtures: 'koboldcpp',
    label: 'KoboldCpp',
    body: pyJson,
    chunk: pyJson,
    chatId: () => `chatcmpl-A${++oaiCounter}`,
    streamId: () => 'koboldcpp',
    format: dataSse('text/event-stream'),
    model: () => modelName(ctx),
    streamError: (m) => `data: ${pyJson({ detail: { msg: m, type: 'server_error' } })}\n\n`,
    error: (status, c, message) => (status === 400 ? errorPlan(500, c, message) : errorPlan(status, c, message)),
  };
}

function generate(ctx: HandlerCtx, stream: boolean): Plan {
  const b = body(ctx);
  const r = renderText(ctx.reply, defaultReplyText('KoboldCpp'), { maxTokens: b.max_length, stop: b.stop_sequence });
  if (!stream) {
    const tpl = fixtureJson('koboldcpp', 'generate.response.json');
    const res = tpl.results[0];
    res.text = r.text;
    res.finish_reason = r.finishReason;
    res.prompt_tokens = ctx.reply.promptTokens ?? estimateTokens(String(b.prompt ?? ''));
    res.completion_tokens = r.completionTokens;
    return json(200, tpl);
  }
  const events = fixtureSse('koboldcpp', 'generate.stream.sse.txt');
  const [tpl, last] = [events[0], events[events.length - 1]];
  const frames = r.chunks.map((token) => pyJson({ ...tpl, token, finish_reason: null }));
  const tail = [pyJson({ ...last, token: '', finish_reason: r.finishReason })];
  return streamPlan(koboldSse, frames, tail, streamError, { 'x-accel-buffering': 'no' });
}

function tts(ctx: HandlerCtx): Plan {
  const b = body(ctx);
  const text = String(b.input ?? b.text ?? '');
  return bodyPlan(200, 'audio/wav', wavFile(pcmTone(speechDurationMs(text))), {
    'content-disposition': 'attachment; filename="output.wav"',
  });
}

function transcribe(ctx: HandlerCtx): Plan {
  const b = body(ctx);
  const audio = typeof b.audio_data === 'string' ? b.audio_data.replace(/^data:audio[^,]*,/, '') : undefined;
  if (!audio && !ctx.req.form?.files.file) throw new PlanError(badInput(ctx));
  const text = ctx.reply.transcription ?? ctx.reply.text ?? fixtureJson('koboldcpp', 'transcribe.response.json').text;
  return json(200, { text });
}

function version(ctx: HandlerCtx): Plan {
  const v = fixtureJson('koboldcpp', 'version.response.json');
  v.protected = ctx.options.apiKey !== undefined;
  v.embeddings = true; // the emulator serves /api/extra/embeddings
  return json(200, v);
}

/** `/api/extra/tokencount`: `{"value", "ids"}` with illustrative ids, `{"value": -1}` and 400 without a prompt. */
function tokencount(ctx: HandlerCtx): Plan {
  const prompt = body(ctx).prompt;
  if (typeof prompt !== 'string') return json(400, { value: -1 });
  const tpl = fixtureJson('koboldcpp', 'tokencount.response.json');
  const count = estimateTokens(prompt);
  tpl.value = count;
  tpl.ids = Array.from({ length: count }, (_, i) => tpl.ids[i % tpl.ids.length]);
  return json(200, tpl);
}

const routes: Route[] = [
  { method: 'POST', path: '/api/v1/generate', handler: (c) => generate(c, false) },
  { method: 'POST', path: '/api/latest/generate', handler: (c) => generate(c, false) },
  { method: 'POST', path: '/api/extra/generate/stream', handler: (c) => generate(c, true) },
  { method: 'GET', path: '/api/v1/model', handler: (c) => json(200, { result: authorized(c) ? modelName(c) : 'koboldcpp/protected-model' }) },
  { method: 'GET', path: '/api/extra/version', handler: version },
  { method: 'GET', path: '/api/v1/info/version', handler: () => json(200, { result: '1.2.5' }) },
  { method: 'GET', path: '/api/extra/true_max_context_length', handler: (c) => json(200, { value: c.options.contextLength ?? 4096 }) },
  { method: 'POST', path: '/api/extra/tokencount', handler: tokencount },
  { method: 'POST', path: '/api/extra/tokenize', handler: tokencount },
  { method: 'POST', path: '/api/extra/tts', handler: tts },
  { method: 'POST', path: '/v1/audio/speech', handler: tts },
  { method: 'POST', path: '/api/extra/transcribe', handler: transcribe, body: 'any' },
  { method: 'POST', path: '/v1/audio/transcriptions', handler: transcribe, body: 'any' },
  { method: 'POST', path: '/api/extra/embeddings', handler: (c) => embeddingsResponse(oaiFlavor(c), c, 384) },
  { method: 'POST', path: '/v1/embeddings', handler: (c) => embeddingsResponse(oaiFlavor(c), c, 384) },
  { method: 'POST', path: '/api/extra/abort', handler: () => json(200, { success: 'true', done: 'true' }) },
  { method: 'POST', path: '/v1/chat/completions', handler: (c) => chatCompletion(oaiFlavor(c), c) },
  { method: 'GET', path: '/v1/models', handler: (c) => modelList(oaiFlavor(c), c, (tpl, id) => ({ ...tpl, id: prefixed(id) })) },
];

export const koboldcppBackend: BackendDef = {
  kind: 'koboldcpp',
  baseSuffix: '',
  routes,
  /** `--password` guards the generation, TTS, transcribe, embeddings and abort endpoints (all POSTs). */
  authorize: (ctx, route) => (route?.method === 'POST' && !authorized(ctx) ? errorPlan(401, ctx) : undefined),
  errorPlan,
  notFound: (ctx) => errorPlan(404, ctx),
  invalidBody: badInput,
};
