/** KoboldCpp emulator: Python json.dumps bodies, `event: message` SSE closed by the server, `{"detail": ...}` errors. */
import { authorized, body, type BackendDef, type HandlerCtx, type Route } from '../backend.js';
import { fixtureJson, fixtureSse, fixtureText } from '../fixtures.js';
import { bodyPlan, PlanError, streamPlan, type BodyPlan, type Plan } from '../plan.js';
import { pyJson } from '../pyjson.js';
import { jsonReplyText } from '../json-sample.js';
import { dataSse, koboldSse } from '../sse.js';
import { defaultReplyText, estimateTokens, messagesText, nowSeconds, randomId, renderText, type RenderedText } from '../text.js';
import { argumentsText, callsFor } from '../tools.js';
import type { ScriptedToolCall } from '../types.js';
import { pcmTone, speechDurationMs, wavFile } from '../wav.js';
import { chatCompletion, embeddingsResponse, fillUsage, modelList, openAIToolWire, type CompatFlavor } from './openai-compat.js';

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

/**
 * `/v1/chat/completions` with tools (koboldcpp.py api_format 4 with
 * `using_openai_tools`): ids `call_` + 5 digits, `arguments` a `json.dumps`
 * string, `content` null, `finish_reason: "tool_calls"`. A stream is simulated
 * once generation has ended: nothing until then (`chunkDelayMs` per generated
 * token), then a role chunk, a content chunk if there is text, per call a header
 * chunk (`arguments: ""`) and one chunk with the whole arguments, the finish
 * chunk and `[DONE]`.
 */
function toolCallReply(ctx: HandlerCtx, scripted: readonly ScriptedToolCall[]): Plan {
  const f = oaiFlavor(ctx);
  const b = body(ctx);
  const model = modelName(ctx);
  // With calls, the text is only what the script gives (content null by default).
  const text = ctx.reply.text ?? (ctx.reply.chunks ? ctx.reply.chunks.join('') : '');
  const calls = scripted.map((call) => ({
    id: call.id ?? `call_${randomId(5, '0123456789')}`,
    type: 'function',
    function: { name: call.name, arguments: argumentsText(call, pyJson) },
  }));
  const promptTokens = ctx.reply.promptTokens ?? estimateTokens(messagesText(b.messages));
  const completionTokens = ctx.reply.completionTokens ?? estimateTokens(text + calls.map((c) => c.function.name + c.function.arguments).join(''));
  const created = nowSeconds();
  if (b.stream !== true) {
    const tpl = fixtureJson('koboldcpp', 'chat.completions.tools.response.json');
    Object.assign(tpl, { id: f.chatId(), created, model, usage: fillUsage(tpl.usage, promptTokens, completionTokens) });
    tpl.choices[0].message.content = text === '' ? null : text;
    tpl.choices[0].message.tool_calls = calls;
    return json(200, tpl);
  }
  const [role, header, args, finish] = fixtureSse('koboldcpp', 'chat.completions.tools.stream.sse.txt');
  const [content] = fixtureSse('koboldcpp', 'chat.completions.stream.sse.txt');
  const chunk = (tpl: any, delta: unknown, finishReason: string | null = null): string =>
    pyJson({ ...tpl, created, model, choices: [{ ...tpl.choices[0], finish_reason: finishReason, delta }] });
  const frames = [chunk(role, role.choices[0].delta)];
  if (text !== '') frames.push(chunk(content, { ...content.choices[0].delta, content: text }));
  let toolCallFrame: number | undefined;
  calls.forEach((call, index) => {
    const h = header.choices[0].delta.tool_calls[0];
    frames.push(chunk(header, { tool_calls: [{ ...h, index, id: call.id, function: { name: call.function.name, arguments: '' } }] }));
    toolCallFrame ??= frames.length;
    frames.push(chunk(args, { tool_calls: [{ index, function: { arguments: call.function.arguments } }] }));
  });
  const holdMs = (ctx.options.chunkDelayMs ?? 0) * completionTokens;
  return { ...streamPlan(dataSse('text/event-stream'), frames, [chunk(finish, {}, 'tool_calls')], f.streamError), toolCallFrame, holdMs };
}

/**
 * No answer at all: the connection is closed. koboldcpp.py (1.102) has no
 * `except` around transform_genparams in do_POST, so an exception there ends
 * in socketserver's handle_error, which closes the connection unanswered.
 * The emulator's server drops the connection when a plan's wire cannot be
 * written (server.ts, respond), which this plan's framing makes sure of
 * before anything is sent.
 */
function droppedConnection(why: string): Plan {
  const raise = (): string => {
    throw new Error(`KoboldCpp emulator: the handler raised ${why}; the connection is closed without an answer`);
  };
  return streamPlan({ contentType: 'text/event-stream', frame: raise, done: '' }, [''], [], raise);
}

const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * What koboldcpp.py 1.102 raises on the request's tools, if anything: its tool
 * preprocessing (compress_tools_array, determine_tool_json_to_use) reads
 * `tool_dict['function']`, `tool_data['description']`,
 * `tool_data['parameters']['properties'].items()` and each property's
 * `prop_data['type']` with [].
 */
function toolsError(tools: unknown): string | undefined {
  if (!Array.isArray(tools) || tools.length === 0) return undefined;
  for (const tool of tools) {
    const fn = isObject(tool) ? tool.function : undefined;
    if (!isObject(fn)) return "KeyError: 'function'";
    if (!('description' in fn)) return "KeyError: 'description'";
    if (!isObject(fn.parameters)) return "KeyError: 'parameters'";
    const properties = fn.parameters.properties;
    if (!isObject(properties)) return "KeyError: 'properties'";
    if (Object.values(properties).some((p) => !isObject(p) || !('type' in p))) return "KeyError: 'type'";
  }
  return undefined;
}

/**
 * The reply of a chat answer without calls, as KoboldCpp 1.102 gives it: a
 * stop sequence (`stop`) ends the text before it (the chat branch of
 * transform_genparams forces `trim_stop` True) with finish_reason "length".
 */
function chatStopAsLength(ctx: HandlerCtx): HandlerCtx {
  const b = body(ctx);
  const r = renderText(ctx.reply, jsonChat(b) ?? defaultReplyText('KoboldCpp'), { stop: b.stop });
  if (r.stopSequence === null) return ctx;
  return { ...ctx, reply: { ...ctx.reply, text: undefined, chunks: r.chunks, finishReason: 'length' } };
}

function chat(ctx: HandlerCtx): Plan {
  const problem = toolsError(body(ctx).tools);
  if (problem) return droppedConnection(problem);
  const calls = callsFor(ctx);
  return calls.length > 0 ? toolCallReply(ctx, calls) : chatCompletion(oaiFlavor(ctx), chatStopAsLength(ctx));
}

/**
 * The text of a native generation as KoboldCpp 1.102 sends it. A stop
 * sequence ends it with finish_reason "length" (only EOS is "stop"), and with
 * `trim_stop` (default true: `genparams.get('trim_stop', True)`) the stop
 * sequence is cut off; with `trim_stop: false` it stays in the text and in the
 * stream.
 */
function generatedText(ctx: HandlerCtx): RenderedText {
  const b = body(ctx);
  const text = jsonGrammar(b.grammar) ?? defaultReplyText('KoboldCpp');
  const r = renderText(ctx.reply, text, { maxTokens: b.max_length, stop: b.stop_sequence });
  if (r.stopSequence === null) return r;
  const max = typeof b.max_length === 'number' && b.max_length >= 0 ? Math.floor(b.max_length) : undefined;
  // The stop sequence's own token counts against max_length: without room for it, the length ends the generation.
  const keep = b.trim_stop === false && (max === undefined || r.chunks.length < max);
  const chunks = keep ? [...r.chunks, r.stopSequence] : r.chunks;
  return {
    ...r,
    chunks,
    text: chunks.join(''),
    finishReason: 'length',
    completionTokens: ctx.reply.completionTokens ?? chunks.length,
  };
}

function generate(ctx: HandlerCtx, stream: boolean): Plan {
  const b = body(ctx);
  const r = generatedText(ctx);
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
  { method: 'POST', path: '/v1/chat/completions', handler: chat },
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
  /** Tools go through /v1/chat/completions, in the OpenAI chat format. */
  toolWire: openAIToolWire,
};

/** The reply of a generation whose `grammar` is a JSON Schema (KoboldCpp converts such a grammar to GBNF), else undefined. */
function jsonGrammar(grammar: unknown): string | undefined {
  if (typeof grammar !== 'string') return undefined;
  try {
    const schema = JSON.parse(grammar) as unknown;
    return typeof schema === 'object' && schema !== null ? jsonReplyText(schema) : undefined;
  } catch {
    return undefined; // GBNF
  }
}

/** The reply of a chat request that asks for JSON (`response_format`), else undefined: what chatCompletion answers then. */
function jsonChat(b: Record<string, any>): string | undefined {
  const format = b.response_format;
  if (format?.type === 'json_schema') return jsonReplyText(format.json_schema?.schema);
  if (format?.type === 'json_object') return jsonReplyText(undefined);
  return undefined;
}
