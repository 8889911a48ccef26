/**
 * "Acme": a third-party backend emulated with the public testkit API only
 * (startEmulatedBackend and the plan helpers), and a plugin for it with all five
 * capabilities. The kit's own tests use it as the reference that passes every
 * check, and derive broken plugins from it.
 */
import {
  BackendProvider,
  BaseBackendConfig,
  definePlugin,
  normalizeFinishReason,
  parseStreamJson,
  PLUGIN_API_VERSION,
  ProviderError,
  readSse,
  secret,
  imageBase64,
  textOf,
  z,
  type CallSettings,
  type ChatMessage,
  type CompletionResult,
  type CountTokensOptions,
  type EmbeddingsOptions,
  type EmbeddingsResult,
  type ModelInfo,
  type ProviderStream,
  type SpeechOptions,
  type SpeechResult,
  type TokenCount,
  type TokenCountInput,
  type TranscriptionOptions,
  type TranscriptionResult,
} from '@aegis/core';
import {
  authorized,
  bodyPlan,
  dataSse,
  embedText,
  jsonPlan,
  pcmTone,
  PlanError,
  renderText,
  requestBody,
  startEmulatedBackend,
  streamPlan,
  wavFile,
  type BackendDef,
  type ConformanceOptions,
  type Emulator,
  type EmulatorOptions,
  type HandlerCtx,
  type Plan,
} from '../../index.js';

// ---- the emulated backend -----------------------------------------------------------

const acmeError = (status: number, message = `request failed with HTTP ${status}`): Plan =>
  jsonPlan(status, JSON.stringify({ error: { message } }));

const invalid = (message: string): never => {
  throw new PlanError(acmeError(400, message));
};

function generate(ctx: HandlerCtx): Plan {
  const b = requestBody(ctx);
  if (typeof b.prompt !== 'string') invalid('"prompt" must be a string');
  if (b.images !== undefined && (!Array.isArray(b.images) || !b.images.every((i: unknown) => typeof i === 'string'))) invalid('"images" must be a list of base64 strings');
  const r = renderText(ctx.reply, b.json_schema ? '{}' : 'Hello from Acme.', { maxTokens: b.max_tokens, stop: b.stop });
  if (b.stream === true) {
    return streamPlan(
      dataSse(),
      r.chunks.map((delta) => JSON.stringify({ delta })),
      [JSON.stringify({ delta: '', stop_reason: r.finishReason })],
      (message) => `data: ${JSON.stringify({ error: { message } })}\n\n`,
    );
  }
  return jsonPlan(200, JSON.stringify({ output: r.text, stop_reason: r.finishReason }));
}

function embed(ctx: HandlerCtx): Plan {
  const texts = requestBody(ctx).texts;
  if (!Array.isArray(texts) || !texts.every((t) => typeof t === 'string')) invalid('"texts" must be a list of strings');
  const dimension = ctx.reply.embeddingDimension ?? 8;
  return jsonPlan(200, JSON.stringify({ vectors: (texts as string[]).map((t) => embedText(t, dimension)) }));
}

function speak(ctx: HandlerCtx): Plan {
  if (typeof requestBody(ctx).text !== 'string') invalid('"text" must be a string');
  return bodyPlan(200, 'audio/wav', wavFile(pcmTone(200)));
}

function transcribe(ctx: HandlerCtx): Plan {
  if (!ctx.req.form?.files.audio) invalid('send the audio as the multipart file "audio"');
  return jsonPlan(200, JSON.stringify({ text: ctx.reply.transcription ?? 'hello' }));
}

function models(): Plan {
  return jsonPlan(200, JSON.stringify({ models: [{ name: 'acme-large', context: 32768 }, { name: 'acme-small' }] }));
}

/** Acme counts one token per word. */
function count(ctx: HandlerCtx): Plan {
  const text = requestBody(ctx).text;
  if (typeof text !== 'string') invalid('"text" must be a string');
  return jsonPlan(200, JSON.stringify({ tokens: (text as string).split(/\s+/).filter(Boolean).length }));
}

export const acmeBackend: BackendDef = {
  kind: 'acme',
  baseSuffix: '',
  routes: [
    { method: 'POST', path: '/v1/generate', handler: generate },
    { method: 'POST', path: '/v1/embed', handler: embed },
    { method: 'POST', path: '/v1/speak', handler: speak },
    { method: 'POST', path: '/v1/transcribe', handler: transcribe, body: 'any' },
    { method: 'GET', path: '/v1/models', handler: models },
    { method: 'POST', path: '/v1/count', handler: count },
  ],
  authorize: (ctx) => (authorized(ctx) ? undefined : acmeError(401, 'bad token')),
  errorPlan: (status, _ctx, message) => acmeError(status, message),
  notFound: (ctx) => acmeError(404, `no route ${ctx.req.method} ${ctx.req.path}`),
  invalidBody: () => acmeError(400, 'the body is not JSON'),
};

export const startAcmeEmulator = (options?: EmulatorOptions): Promise<Emulator> => startEmulatedBackend(acmeBackend, options);

// ---- the plugin --------------------------------------------------------------------------

export const AcmeConfig = BaseBackendConfig.extend({
  type: z.literal('acme'),
  base_url: z.url(),
  token: secret(z.string().min(1)),
});
export type AcmeConfig = z.infer<typeof AcmeConfig>;

const prompt = (messages: ChatMessage[]): string => messages.map((m) => textOf(m.content)).join('\n');

/** One event of Acme's stream. */
export interface AcmeChunk {
  delta?: string;
  stop_reason?: string;
  error?: { message?: string };
}

export class AcmeProvider extends BackendProvider<AcmeConfig> {
  protected url(path: string): string {
    return `${this.config.base_url}${path}`;
  }

  protected options(settings: CallSettings) {
    return this.requestOptions(settings, { authorization: `Bearer ${this.config.token}` });
  }

  protected generateBody(messages: ChatMessage[], settings: CallSettings, stream: boolean) {
    const format = settings.responseFormat;
    const images = messages.flatMap((m) =>
      m.role === 'user' && typeof m.content !== 'string' ? m.content.flatMap((p) => (p.type === 'image' ? [imageBase64(p, this.type, this.profileName).base64] : [])) : [],
    );
    return {
      prompt: prompt(messages),
      temperature: settings.temperature,
      max_tokens: settings.maxTokens,
      stop: settings.stop,
      stream,
      ...(format?.type === 'json' ? { json_schema: format.schema ?? {} } : {}),
      ...(images.length > 0 ? { images } : {}),
    };
  }

  protected override async doCompletion(messages: ChatMessage[], settings: CallSettings): Promise<CompletionResult> {
    const url = this.url('/v1/generate');
    const { body } = await this.context.http.postJson<{ output?: unknown; stop_reason?: string }>(url, this.generateBody(messages, settings, false), this.options(settings));
    if (typeof body?.output !== 'string') throw new ProviderError(`${url} answered without "output"`, { url, reason: 'bad_response' });
    return { text: body.output, finishReason: normalizeFinishReason(body.stop_reason) };
  }

  protected override async *doStream(messages: ChatMessage[], settings: CallSettings): ProviderStream {
    const url = this.url('/v1/generate');
    const response = await this.context.http.postStream(url, this.generateBody(messages, settings, true), this.options(settings));
    let stopReason: string | undefined;
    for await (const event of readSse(response.body)) {
      if (event.data === '[DONE]') return { finishReason: normalizeFinishReason(stopReason) };
      const chunk = this.parseChunk(event.data, url);
      const error = this.streamError(chunk, url);
      if (error) throw error;
      if (chunk.delta) yield chunk.delta;
      if (chunk.stop_reason) stopReason = chunk.stop_reason;
    }
    throw this.truncatedStream(url, 'data: [DONE]');
  }

  /** A stream event's JSON (a bad_response when it is not JSON). The broken fixtures override it, or streamError, to get one mistake each. */
  protected parseChunk(data: string, url: string): AcmeChunk {
    return parseStreamJson<AcmeChunk>(data, url);
  }

  /** The error an event reports, if it is the backend's error event. */
  protected streamError(chunk: AcmeChunk, url: string): ProviderError | undefined {
    return chunk.error ? new ProviderError(`stream from ${url} failed: ${chunk.error.message ?? 'error event'}`, { url, reason: 'stream_error' }) : undefined;
  }

  protected override async doEmbeddings(texts: string[], _options: EmbeddingsOptions, settings: CallSettings): Promise<EmbeddingsResult> {
    const { body } = await this.context.http.postJson<{ vectors: number[][] }>(this.url('/v1/embed'), { texts }, this.options(settings));
    return { embeddings: body.vectors };
  }

  protected override async doSpeech(text: string, _options: SpeechOptions, settings: CallSettings): Promise<SpeechResult> {
    const response = await this.context.http.postForBytes(this.url('/v1/speak'), { text }, this.options(settings));
    const type = response.headers['content-type'];
    return { audio: response.body, mimeType: String(Array.isArray(type) ? type[0] : (type ?? 'application/octet-stream')) };
  }

  protected override async doTranscription(audio: Uint8Array, options: TranscriptionOptions, settings: CallSettings): Promise<TranscriptionResult> {
    const form = new FormData();
    form.append('audio', new Blob([audio as Uint8Array<ArrayBuffer>], { type: options.mimeType ?? 'audio/wav' }), options.fileName ?? 'audio.wav');
    const { body } = await this.context.http.postForm<{ text: string }>(this.url('/v1/transcribe'), form, this.options(settings));
    return { text: body.text };
  }

  protected override async doListModels(settings: CallSettings): Promise<ModelInfo[]> {
    const { body } = await this.context.http.getJson<{ models: { name: string; context?: number }[] }>(this.url('/v1/models'), this.options(settings));
    return body.models.map((m) => (m.context ? { id: m.name, contextLength: m.context } : { id: m.name }));
  }

  protected override async doCountTokens(input: TokenCountInput, _options: CountTokensOptions, settings: CallSettings): Promise<TokenCount> {
    const text = typeof input === 'string' ? input : prompt(input);
    const { body } = await this.context.http.postJson<{ tokens: number }>(this.url('/v1/count'), { text }, this.options(settings));
    return { tokens: body.tokens, exact: true };
  }
}

export const acmePlugin = definePlugin({
  apiVersion: PLUGIN_API_VERSION,
  type: 'acme',
  configSchema: AcmeConfig,
  capabilities: ['completion', 'streaming', 'embeddings', 'speech', 'transcription', 'models', 'tokens', 'structured_output', 'vision'],
  create: (config, context) => new AcmeProvider(config, context),
});

export const ACME_TOKEN = 'acme-token-for-the-kit-42';

export const acmeOptions = (extra: Partial<ConformanceOptions> = {}): ConformanceOptions => ({
  server: () => startAcmeEmulator({ apiKey: ACME_TOKEN }),
  profile: (server) => ({ base_url: server.url, token: ACME_TOKEN }),
  secretField: { field: 'token', value: ACME_TOKEN },
  ...extra,
});
