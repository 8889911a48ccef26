import {
  BackendProvider,
  CapabilityNotSupportedError,
  joinUrl,
  normalizeFinishReason,
  ProviderError,
  readSseBatches,
  redactUrl,
  streamDeltas,
  textOf,
  type CallSettings,
  type ChatMessage,
  type CountTokensOptions,
  type ModelInfo,
  type TokenCount,
  type TokenCountInput,
  type CompletionResult,
  type ProviderCompletion,
  type EmbeddingsOptions,
  type EmbeddingsResult,
  type ErrorRetryableJudge,
  type FinishReason,
  type ProviderStream,
  type StreamEnd,
  type SpeechOptions,
  type SpeechResult,
  type TranscriptionOptions,
  type TranscriptionResult,
  type Usage,
} from '@aegis/core';
import { chatAnswer, chatRequest, chatStreamStep, needsChatEndpoint } from './chat.js';
import type { KoboldCppConfig } from './config.js';
import { generationRequest } from './request.js';
import { cutAtStop, StopTrimmer } from './stop.js';
import { koboldPiece } from './stream.js';
import { contextLengthOf, modelInfo, modelNameOf, tokenCountOf, type ModelResponse, type TokenCountResponse, type ValueResponse } from './models.js';
import { buildPrompt, resolveTemplate } from './prompt.js';

interface GenerateResult {
  text?: unknown;
  finish_reason?: unknown;
  prompt_tokens?: unknown;
  completion_tokens?: unknown;
}

interface EmbeddingsResponse {
  data?: { index?: unknown; embedding?: unknown }[];
  model?: unknown;
  usage?: { prompt_tokens?: unknown; total_tokens?: unknown };
}

/** How long the best-effort `/api/extra/abort` after a cancelled call may take. */
const ABORT_TIMEOUT_MS = 2000;

/** Provider for KoboldCpp's native API: prompt-based generation, SSE streaming, embeddings, TTS and Whisper. */
export class KoboldCppProvider extends BackendProvider<KoboldCppConfig> {
  protected override async doCompletion(messages: ChatMessage[], settings: CallSettings): Promise<ProviderCompletion> {
    if (needsChatEndpoint(messages, settings)) return this.chatCompletion(messages, settings);
    const url = this.url('/api/v1/generate');
    const request = generationRequest(messages, settings, this.config);
    const { body } = await this.stoppingOnCancel(request.genkey, settings, () =>
      this.context.http.postJson<{ results?: GenerateResult[] }>(url, request.body, this.options(settings)),
    );
    const result = Array.isArray(body?.results) ? body.results[0] : undefined;
    if (typeof result?.text !== 'string') throw badResponse(url, 'answered without results[0].text');
    const cut = cutAtStop(result.text, request.stops, request.keepStop);
    return {
      text: cut.text,
      ...finish(result.finish_reason, cut.stopped),
      usage: usageOf(result),
      model: this.config.model,
    };
  }

  protected override async *doStream(messages: ChatMessage[], settings: CallSettings): ProviderStream {
    if (needsChatEndpoint(messages, settings)) return yield* this.chatStream(messages, settings);
    const url = this.url('/api/extra/generate/stream');
    const request = generationRequest(messages, settings, this.config);
    let settled = false;
    try {
      const response = await this.context.http.postStream(url, request.body, this.options(settings));
      const trimmer = new StopTrimmer(request.stops, request.keepStop);
      // There is no [DONE]: the stream is complete once an event with a finish_reason has arrived.
      const end = yield* streamDeltas(readSseBatches(response.body), (event, deltas) => {
        const piece = koboldPiece(event, url);
        if (!piece) return;
        settled = piece.finishReason !== undefined;
        const text = trimmer.push(piece.token) + (settled ? trimmer.flush() : '');
        if (text) deltas.push(text);
        if (piece.finishReason) return { ...finish(piece.finishReason, trimmer.stopped), model: this.config.model };
      });
      if (!end) throw this.truncatedStream(url, 'an event with a finish_reason');
      return end;
    } catch (error) {
      settled ||= !this.cancelled(error, settings);
      throw error;
    } finally {
      // Cancelled, timed out, or the consumer stopped reading: stop the generation on the server too.
      if (!settled) this.stopGeneration(request.genkey);
    }
  }

  protected override async doEmbeddings(texts: string[], options: EmbeddingsOptions, settings: CallSettings): Promise<EmbeddingsResult> {
    // KoboldCpp's embeddings API has no field for the vector length: refuse rather than answer with full-length vectors.
    if (options.dimensions !== undefined) throw new CapabilityNotSupportedError(this.type, this.profileName, 'embeddings with `dimensions`');
    const url = this.url('/api/extra/embeddings');
    let body: EmbeddingsResponse;
    try {
      ({ body } = await this.context.http.postJson<EmbeddingsResponse>(url, { input: texts, ...options.providerOptions }, this.options(settings)));
    } catch (error) {
      if (ProviderError.isInstance(error) && error.status === 404) throw noEmbeddingsModel(url, error);
      throw error;
    }
    if (!Array.isArray(body?.data)) throw badResponse(url, 'answered without a data array');
    const items = [...body.data].sort((a, b) => Number(a?.index ?? 0) - Number(b?.index ?? 0));
    const embeddings = items.map((item) => item?.embedding);
    if (!embeddings.every(isVector)) throw badResponse(url, 'answered with an embedding that is not an array of numbers');
    // Without an embeddings model the server answers 200 with empty vectors and model "inactive".
    if (body.model === 'inactive' || embeddings.some((v) => v.length === 0)) throw noEmbeddingsModel(url);
    const usage = body.usage;
    return {
      embeddings,
      usage: usage ? { promptTokens: numberOr(usage.prompt_tokens), totalTokens: numberOr(usage.total_tokens) } : undefined,
      model: typeof body.model === 'string' ? body.model : undefined,
    };
  }

  protected override async doSpeech(text: string, options: SpeechOptions, settings: CallSettings): Promise<SpeechResult> {
    // KoboldCpp 1.102's tts_generate reads only input/text, voice, speaker_json and seed, and the
    // handler always answers `content-type: audio/wav`: another format or a speed cannot be honoured,
    // so they are refused rather than answered with WAV at the normal speed.
    if (options.format !== undefined && options.format.toLowerCase() !== 'wav') {
      throw new CapabilityNotSupportedError(this.type, this.profileName, `speech in format ${JSON.stringify(options.format)} (KoboldCpp produces WAV only)`);
    }
    if (options.speed !== undefined && options.speed !== 1) {
      throw new CapabilityNotSupportedError(this.type, this.profileName, 'speech with a `speed` other than 1');
    }
    const url = this.url('/api/extra/tts');
    const response = await this.context.http.postForBytes(
      url,
      { input: text, voice: options.voice ?? this.config.voice, ...options.providerOptions },
      this.options(settings),
    );
    const type = String(response.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (/json|html|^text\//.test(type)) {
      throw badResponse(url, `answered with ${type} instead of audio: ${Buffer.from(response.body).toString('utf8').slice(0, 200)}`);
    }
    if (response.body.length === 0) throw badResponse(url, 'returned no audio (is a TTS model loaded? start KoboldCpp with --ttsmodel)');
    return { audio: response.body, mimeType: type.startsWith('audio/') ? type : 'audio/wav' };
  }

  protected override async doTranscription(audio: Uint8Array, options: TranscriptionOptions, settings: CallSettings): Promise<TranscriptionResult> {
    const url = this.url('/api/extra/transcribe');
    const request = {
      audio_data: Buffer.from(audio.buffer, audio.byteOffset, audio.byteLength).toString('base64'),
      prompt: options.prompt ?? '',
      langcode: options.language ?? this.config.transcription_language,
      suppress_non_speech: this.config.suppress_non_speech,
      ...options.providerOptions,
    };
    const { body } = await this.context.http.postJson<{ text?: unknown }>(url, request, this.options(settings));
    if (typeof body?.text !== 'string') throw badResponse(url, 'answered without text');
    return { text: body.text };
  }

  /** The one model the server runs, with its real context size. */
  protected override async doListModels(settings: CallSettings): Promise<ModelInfo[]> {
    const url = this.url('/api/v1/model');
    const model = await this.context.http.getJson<ModelResponse>(url, this.options(settings));
    const name = modelNameOf(model.body);
    if (!name) throw badResponse(url, 'answered without the model name in "result"');
    const context = await this.context.http.getJson<ValueResponse>(this.url('/api/extra/true_max_context_length'), this.options(settings));
    return [modelInfo(name, contextLengthOf(context.body))];
  }

  /** Counts a text, or a conversation rendered with the profile's instruct template (what a completion sends). */
  protected override async doCountTokens(input: TokenCountInput, _options: CountTokensOptions, settings: CallSettings): Promise<TokenCount> {
    const url = this.url('/api/extra/tokencount');
    const prompt =
      typeof input === 'string'
        ? input
        : buildPrompt(input.map((m) => ({ ...m, content: textOf(m.content) }) as ChatMessage), resolveTemplate(this.config.instruct, this.config.instruct_tags));
    const { body } = await this.context.http.postJson<TokenCountResponse>(url, { prompt }, this.options(settings));
    const count = tokenCountOf(body, this.config.model);
    if (!count) throw badResponse(url, 'answered without a token count in "value"');
    return count;
  }

  // ---- tool calls: the OpenAI-compatible chat endpoint ---------------------------

  private async chatCompletion(messages: ChatMessage[], settings: CallSettings): Promise<ProviderCompletion> {
    const url = this.url('/v1/chat/completions');
    const request = chatRequest(messages, settings, this.config, false);
    const { body } = await this.stoppingOnCancel(request.genkey, settings, () =>
      this.context.http.postJson<unknown>(url, request.body, this.options(settings)),
    );
    // Core parses the arguments (a json.dumps string) and reports invalid JSON.
    const { result, calls } = chatAnswer(body, url, this.config.model);
    return calls.length > 0 ? { ...result, toolCalls: calls.map(({ id, name, arguments: args }) => ({ id, name, arguments: args })) } : result;
  }

  /**
   * The chat endpoint's stream. With tools KoboldCpp sends nothing until
   * generation has ended (the idle timeout must allow for that), then the
   * calls, each in a header chunk and one chunk with all its arguments.
   */
  private async *chatStream(messages: ChatMessage[], settings: CallSettings): ProviderStream {
    const url = this.url('/v1/chat/completions');
    const request = chatRequest(messages, settings, this.config, true);
    let settled = false;
    try {
      const response = await this.context.http.postStream(url, request.body, this.options(settings));
      let end: StreamEnd | undefined;
      const done = yield* streamDeltas(readSseBatches(response.body), (event, items) => {
        if (event.data.trim() === '' || (event.event && event.event !== 'message')) return;
        if (event.data.trim() === '[DONE]') {
          if (!end) throw this.truncatedStream(url, 'a chunk with a finish_reason');
          return end;
        }
        end ??= chatStreamStep(event.data, url, items, this.config.model);
        settled ||= end !== undefined;
      });
      if (done) return done;
      // The server closed the connection: complete only if the finish chunk came.
      if (end) return end;
      throw this.truncatedStream(url, 'data: [DONE]');
    } catch (error) {
      settled ||= !this.cancelled(error, settings);
      throw error;
    } finally {
      if (!settled) this.stopGeneration(request.genkey);
    }
  }

  // ---- helpers -----------------------------------------------------------------

  private url(path: string): string {
    return joinUrl(this.config.base_url, path);
  }

  private options(settings: CallSettings) {
    return {
      ...this.requestOptions(settings, this.config.password ? { authorization: `Bearer ${this.config.password}` } : undefined),
      errorRetryable: koboldRetryable,
    };
  }

  /** True when the call failed because it was cancelled or timed out (the server may still be generating). */
  private cancelled(error: unknown, settings: CallSettings): boolean {
    if (settings.signal.aborted) return true;
    return ProviderError.isInstance(error) && (error.reason === 'aborted' || error.reason === 'timeout' || error.reason === 'idle_timeout');
  }

  /** Runs a non-streaming generation; when it is cancelled, also tells the server to stop generating it. */
  private async stoppingOnCancel<T>(genkey: string, settings: CallSettings, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      if (this.cancelled(error, settings)) this.stopGeneration(genkey);
      throw error;
    }
  }

  /**
   * Best effort `POST /api/extra/abort` for this generation's genkey: KoboldCpp
   * keeps generating after the client has gone, which keeps the server busy (503)
   * for the next call. Uses its own short timeout, as the call's signal has fired,
   * and is not awaited: the cancelled call fails at once, within its deadline.
   */
  private stopGeneration(genkey: string): void {
    const url = this.url('/api/extra/abort');
    this.context.http
      .postJson(url, { genkey }, {
        headers: this.config.password ? { authorization: `Bearer ${this.config.password}` } : undefined,
        signal: AbortSignal.timeout(ABORT_TIMEOUT_MS),
        idleTimeoutMs: ABORT_TIMEOUT_MS,
      })
      .catch((error: unknown) => {
        this.context.logger.debug(`profile "${this.profileName}": could not abort generation ${genkey}: ${(error as Error).message}`);
      });
  }
}

/**
 * KoboldCpp answers a body it cannot parse, or one too large, with HTTP 500
 * and `{"detail": {"msg": "Error parsing input.", "type": "bad_input"}}`:
 * the same request fails the same way, so it is not retried as a 500 is.
 * (Other statuses keep their own rule: a 429 is retried whatever its body.)
 */
const koboldRetryable: ErrorRetryableJudge = (status, body) =>
  status >= 500 && (body as { detail?: { type?: unknown } } | undefined)?.detail?.type === 'bad_input' ? false : undefined;

/**
 * The finish of a native generation. `stopped`: the text reached one of the
 * request's stop sequences, which KoboldCpp 1.102 reports as "length" (only
 * EOS is "stop" there): that is a `stop`, with the server's value kept as
 * `rawFinishReason`.
 */
function finish(raw: unknown, stopped = false): { finishReason: FinishReason; rawFinishReason?: string } {
  // Servers older than the finish_reason field send only the text.
  const backend = typeof raw === 'string' && raw !== '' ? raw : undefined;
  const finishReason = stopped ? 'stop' : normalizeFinishReason(backend ?? 'stop');
  return backend !== undefined && backend !== finishReason ? { finishReason, rawFinishReason: backend } : { finishReason };
}

function usageOf(result: GenerateResult): Usage | undefined {
  const promptTokens = numberOr(result.prompt_tokens);
  const completionTokens = numberOr(result.completion_tokens);
  if (promptTokens === undefined && completionTokens === undefined) return undefined;
  const totalTokens = promptTokens !== undefined && completionTokens !== undefined ? promptTokens + completionTokens : undefined;
  return { promptTokens, completionTokens, totalTokens };
}

function numberOr(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function isVector(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((n) => typeof n === 'number');
}

function badResponse(url: string, what: string): ProviderError {
  const safe = redactUrl(url);
  return new ProviderError(`POST ${safe} ${what}`, { url: safe, status: 200, reason: 'bad_response', retryable: false });
}

function noEmbeddingsModel(url: string, cause?: ProviderError): ProviderError {
  const safe = redactUrl(url);
  const why = cause ? `: ${cause.message}` : '';
  return new ProviderError(
    `POST ${safe}: this KoboldCpp server has no embeddings model loaded (start it with --embeddingsmodel), or is too old to serve embeddings${why}`,
    { url: safe, status: cause?.status, bodyExcerpt: cause?.bodyExcerpt, reason: cause ? 'http' : 'bad_response', retryable: false, cause },
  );
}
