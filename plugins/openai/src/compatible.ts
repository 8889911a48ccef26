import {
  BackendProvider,
  joinUrl,
  parseStreamJson,
  readSseBatches,
  streamDeltas,
  type CallSettings,
  type ChatMessage,
  type CompletionResult,
  type EmbeddingsOptions,
  type EmbeddingsResult,
  type ErrorMessageExtractor,
  type ModelInfo,
  type ProviderCompletion,
  type ProviderContext,
  type ProviderStream,
  type SseEvent,
  type TranscriptionOptions,
  type TranscriptionResult,
  type Usage,
} from '@aegis/core';
import type { MaxTokensField, OpenAICompatibleConfig } from './config.js';
import { mapModelList, type WireModelList } from './models.js';
import { toWireResponseFormat } from './structured.js';
import {
  badResponse,
  compact,
  mapChatCompletion,
  mapEmbeddings,
  openAIErrorMessage,
  openAIErrorRetryable,
  pushDelta,
  streamChoice,
  streamErrorFrom,
  toFinish,
  toolFields,
  toUsage,
  toWireMessages,
  type WireChatResponse,
  type WireChoice,
  type WireEmbeddingsResponse,
} from './wire.js';

/** What differs between OpenAI-compatible servers, beyond the profile's own fields. */
export interface OpenAICompatibleOptions {
  /** Request field for the token cap (default `max_completion_tokens`). */
  maxTokensField?: MaxTokensField;
  /** Reads the server's message from an error body or an in-stream error event (default `openAIErrorMessage`). */
  errorMessage?: ErrorMessageExtractor;
  /** Send `stream_options: {include_usage: true}` so a stream reports token usage (default true). */
  streamUsage?: boolean;
}

const END_MARKER = 'data: [DONE]';

/** Most of a JSON body read when one comes instead of a stream: it is an error body, only excerpted. */
const JSON_ANSWER_MAX_BYTES = 64 * 1024;

/** File extensions for the audio MIME types a transcription endpoint takes (it reads the type from the name). */
const AUDIO_EXTENSIONS: Record<string, string> = {
  'audio/wav': 'wav',
  'audio/x-wav': 'wav',
  'audio/wave': 'wav',
  'audio/mpeg': 'mp3',
  'audio/mp3': 'mp3',
  'audio/mp4': 'm4a',
  'audio/m4a': 'm4a',
  'audio/x-m4a': 'm4a',
  'audio/ogg': 'ogg',
  'audio/opus': 'ogg',
  'audio/webm': 'webm',
  'audio/flac': 'flac',
  'audio/x-flac': 'flac',
  'video/mp4': 'mp4',
  'video/webm': 'webm',
};

/**
 * A provider for a server that speaks the OpenAI API: chat completions (plain
 * and SSE-streamed), embeddings and transcriptions. A plugin for one such
 * server subclasses it, passes what differs in the constructor's options, and
 * overrides the hooks (`headers`, `samplingFields`, `choiceExtras`,
 * `streamError`) where its server adds something.
 */
export class OpenAICompatibleProvider<C extends OpenAICompatibleConfig = OpenAICompatibleConfig> extends BackendProvider<C> {
  protected readonly compat: Required<OpenAICompatibleOptions>;
  /** The endpoint URLs joined so far (a profile's config does not change). */
  private readonly endpoints = new Map<string, string>();

  constructor(config: C, context: ProviderContext, options: OpenAICompatibleOptions = {}) {
    super(config, context);
    this.compat = {
      maxTokensField: options.maxTokensField ?? 'max_completion_tokens',
      errorMessage: options.errorMessage ?? openAIErrorMessage,
      streamUsage: options.streamUsage ?? true,
    };
  }

  // ---- hooks -----------------------------------------------------------------------

  /** `base_url` joined with an endpoint path (`chat/completions`). */
  protected endpoint(path: string): string {
    let url = this.endpoints.get(path);
    if (url === undefined) this.endpoints.set(path, (url = joinUrl(this.config.base_url, path)));
    return url;
  }

  /** Headers of every request: the bearer key (when there is one) and the profile's extra headers. */
  protected headers(): Record<string, string | undefined> {
    return {
      ...(this.config.api_key ? { authorization: `Bearer ${this.config.api_key}` } : {}),
      ...this.config.headers,
    };
  }

  /** Request options of every call: signal, idle timeout, headers, and the server's error extractor and retry judge. */
  protected httpOptions(settings: CallSettings) {
    return { ...this.requestOptions(settings, this.headers()), errorMessage: this.compat.errorMessage, errorRetryable: openAIErrorRetryable };
  }

  /** Sampling fields beyond the common ones; a subclass adds its server's own. */
  protected samplingFields(_settings: CallSettings): Record<string, unknown> {
    return { frequency_penalty: this.config.frequency_penalty, presence_penalty: this.config.presence_penalty };
  }

  /**
   * The request fields of the call's `reasoning` setting. The chat API takes an
   * effort level (`reasoning_effort`) and nothing to switch reasoning on or off.
   */
  protected reasoningFields(settings: CallSettings): Record<string, unknown> {
    return typeof settings.reasoning === 'string' ? { reasoning_effort: settings.reasoning } : {};
  }

  /** Extra result fields read from the answer's choice (e.g. vLLM's `stop_reason`). */
  protected choiceExtras(_choice: WireChoice): Record<string, unknown> {
    return {};
  }

  /** The error an in-stream event reports, if it is one. */
  protected streamError(payload: WireChatResponse | undefined, event: SseEvent, url: string): Error | undefined {
    if (event.event === 'error' || (payload && typeof payload === 'object' && payload.error !== undefined && payload.error !== null)) {
      return streamErrorFrom(payload, event.data, url, this.compat.errorMessage);
    }
    return undefined;
  }

  /** The `/chat/completions` body: model, messages, sampling, then the call's `providerOptions` last. */
  protected chatBody(messages: ChatMessage[], settings: CallSettings, stream: boolean): Record<string, unknown> {
    return compact({
      model: this.config.model,
      messages: toWireMessages(messages),
      temperature: settings.temperature,
      top_p: settings.topP,
      [this.compat.maxTokensField]: settings.maxTokens,
      stop: settings.stop && settings.stop.length > 0 ? settings.stop : undefined,
      seed: settings.seed,
      ...toolFields(settings),
      ...this.reasoningFields(settings),
      response_format: toWireResponseFormat(settings.responseFormat),
      ...this.samplingFields(settings),
      ...(stream ? { stream: true, ...(this.compat.streamUsage ? { stream_options: { include_usage: true } } : {}) } : {}),
      ...settings.providerOptions,
    });
  }

  // ---- capabilities ----------------------------------------------------------------

  protected override async doCompletion(messages: ChatMessage[], settings: CallSettings): Promise<ProviderCompletion> {
    const url = this.endpoint('chat/completions');
    const { body } = await this.context.http.postJson<WireChatResponse>(url, this.chatBody(messages, settings, false), this.httpOptions(settings));
    const { result, choice } = mapChatCompletion(body, url);
    return { ...result, ...this.choiceExtras(choice) };
  }

  protected override async *doStream(messages: ChatMessage[], settings: CallSettings): ProviderStream {
    const url = this.endpoint('chat/completions');
    const response = await this.context.http.postStream(url, this.chatBody(messages, settings, true), this.httpOptions(settings));
    // Some OpenAI-compatible servers answer a stream request's error with HTTP 200 and a JSON body:
    // read as SSE it holds no event, and would pass for a stream cut before its first chunk.
    if (isJsonType(response.headers['content-type'])) throw await this.jsonAnswerError(response.body, url);
    let model: string | undefined;
    let usage: Usage | undefined;
    let finishChoice: WireChoice | undefined;
    const end = yield* streamDeltas(readSseBatches(response.body), (event, deltas) => {
      const data = event.data.trim();
      if (data === '[DONE]') {
        return compact({
          ...toFinish(finishChoice?.finish_reason),
          usage,
          model,
          ...(finishChoice ? this.choiceExtras(finishChoice) : {}),
        }) as Omit<CompletionResult, 'text'>;
      }
      if (data === '') return;
      // An `event: error` may carry plain text rather than JSON; any other event must be JSON.
      const chunk = event.event === 'error' ? tryParse<WireChatResponse>(data) : parseStreamJson<WireChatResponse>(data, url);
      const error = this.streamError(chunk, event, url);
      if (error) throw error;
      if (!chunk || typeof chunk !== 'object' || !Array.isArray(chunk.choices)) {
        throw badResponse(url, 'a stream chunk without choices', data);
      }
      if (typeof chunk.model === 'string') model ??= chunk.model;
      usage = toUsage(chunk.usage) ?? usage;
      const choice = streamChoice(chunk.choices);
      if (!choice) return; // the usage chunk has `choices: []`; a chunk of another choice (n > 1) is not this answer's
      // The finish chunk may carry a delta too (vLLM: a tool call's last fragment).
      if (choice.delta) pushDelta(choice.delta, deltas);
      if (choice.finish_reason) finishChoice = choice;
    });
    if (end) return end;
    throw this.truncatedStream(url, END_MARKER);
  }

  /**
   * The error a JSON body sent instead of a stream reports (its first 64 KiB
   * read; the rest is not): the server's error, found as an in-stream error
   * event is (`streamError`, so a subclass's shapes count too) or by the
   * server's error extractor, retryable only if its `code` is a retryable HTTP
   * status (as an in-stream error is); any other JSON is a bad_response.
   */
  private async jsonAnswerError(body: AsyncIterable<Buffer>, url: string): Promise<Error> {
    const text = await readUpTo(body, JSON_ANSWER_MAX_BYTES);
    const payload = tryParse<WireChatResponse>(text);
    const error = this.streamError(payload, { data: text }, url);
    if (error) return error;
    if (payload !== undefined && this.compat.errorMessage(payload, text) !== undefined) return streamErrorFrom(payload, text, url, this.compat.errorMessage);
    return badResponse(url, 'a stream request with a JSON body that is not an error, instead of an event stream', text);
  }

  protected override async doEmbeddings(texts: string[], options: EmbeddingsOptions, settings: CallSettings): Promise<EmbeddingsResult> {
    const url = this.endpoint('embeddings');
    const model = options.model ?? this.config.embedding_model ?? this.config.model;
    const { body } = await this.context.http.postJson<WireEmbeddingsResponse>(
      url,
      { ...compact({ model, input: texts, encoding_format: 'float', dimensions: options.dimensions }), ...options.providerOptions },
      this.httpOptions(settings),
    );
    return mapEmbeddings(body, url);
  }

  protected override async doListModels(settings: CallSettings): Promise<ModelInfo[]> {
    const url = this.endpoint('models');
    const { body } = await this.context.http.getJson<WireModelList>(url, this.httpOptions(settings));
    return mapModelList(body, url);
  }

  protected override async doTranscription(
    audio: Uint8Array,
    options: TranscriptionOptions,
    settings: CallSettings,
  ): Promise<TranscriptionResult> {
    const url = this.endpoint('audio/transcriptions');
    const mimeType = options.mimeType ?? 'audio/wav';
    const fileName = options.fileName ?? `audio.${AUDIO_EXTENSIONS[mimeType.split(';')[0]!.trim().toLowerCase()] ?? 'wav'}`;
    const form = new FormData();
    // Blob wants an ArrayBuffer-backed view; it copies the bytes either way.
    form.append('file', new Blob([audio as Uint8Array<ArrayBuffer>], { type: mimeType }), fileName);
    form.append('model', options.model ?? this.config.transcription_model ?? this.config.model);
    if (options.language) form.append('language', options.language);
    if (options.prompt) form.append('prompt', options.prompt);
    form.append('response_format', 'json');
    appendFormFields(form, options.providerOptions);
    const { body } = await this.context.http.postForm<{ text?: unknown; language?: unknown }>(url, form, this.httpOptions(settings));
    if (!body || typeof body !== 'object' || typeof body.text !== 'string') throw badResponse(url, 'without a text field', body);
    return compact({ text: body.text, language: typeof body.language === 'string' ? body.language : undefined }) as TranscriptionResult;
  }
}

/**
 * A call's `providerOptions` as form fields, last: each replaces a field of
 * the same name; an array is sent as repeated fields (name them as the
 * backend does, e.g. `timestamp_granularities[]`); objects as JSON.
 */
function appendFormFields(form: FormData, fields: Record<string, unknown> | undefined): void {
  for (const [name, value] of Object.entries(fields ?? {})) {
    if (value === undefined) continue;
    form.delete(name);
    for (const item of Array.isArray(value) ? value : [value]) {
      form.append(name, typeof item === 'object' && item !== null ? JSON.stringify(item) : String(item));
    }
  }
}

/** Whether a Content-Type is JSON's (`application/json`, `application/problem+json`, ...). */
function isJsonType(contentType: string | string[] | undefined): boolean {
  const type = (Array.isArray(contentType) ? contentType[0] : contentType)?.split(';')[0]!.trim().toLowerCase() ?? '';
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

/** The text of a body's first `limit` bytes; the rest is not read (the client discards it). */
async function readUpTo(body: AsyncIterable<Buffer>, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    total += chunk.length;
    if (total >= limit) break;
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}

function tryParse<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}
