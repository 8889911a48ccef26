import { CapabilityNotSupportedError } from '../errors/capability-error.js';
import { ProviderError } from '../errors/provider-error.js';
import { StructuredOutputError } from '../errors/structured-output-error.js';
import type { HttpClient } from '../http/client.js';
import { backoffDelay, sleep, withRetries, type RetryPolicy } from '../http/retry.js';
import { redactUrl } from '../http/url.js';
import { abortedError } from '../http/error-mapping.js';
import type { SecretScrubber } from '../secrets/scrubber.js';
import type { SharedCooldowns } from './shared-cooldowns.js';
import type { BaseBackendConfig } from './base-config.js';
import { DO_METHOD_OF, isFeatureCapability, OPERATION_OF, type Capability } from './capabilities.js';
import { callFeatures, type CallFeatures } from './call-features.js';
import { structuredCheck, type StructuredCheck } from './structured-output.js';
import type { ObjectOptions, ObjectResult } from './results.js';
import type { JsonSchema } from './tools.js';
import type { z, ZodType } from 'zod';
import { messagesFor } from './compat-messages.js';
import { CallDeadline } from './deadline.js';
import type { Logger } from './logger.js';
import type { ChatMessage } from './messages.js';
import type {
  CallOptions,
  CompletionResult,
  EmbeddingsOptions,
  EmbeddingsResult,
  SpeechOptions,
  SpeechResult,
  TranscriptionOptions,
  TranscriptionResult,
  Usage,
} from './results.js';
import type { CallSettings, RuntimeExecutionConfig } from './runtime.js';
import type { CountTokensOptions, ListModelsOptions, ModelInfo, TokenCount, TokenCountInput } from './models.js';
import { CompletionStream, EMITS_EVENTS, REPORTS_PROGRESS, type EventSource, type ReportingSource, type StreamProgress } from './stream.js';
import { ReceivedText } from './received-text.js';
import type { ProviderStream, StreamEnd, StreamItem } from './deltas.js';
import { StreamAssembler, type EventSink } from './stream-assembler.js';
import { handIterator } from './hand-iterator.js';
import type { StreamPart } from './stream-parts.js';
import { normalizeCompletion, withoutSameRawFinish, type ProviderCompletion } from './tool-calls.js';

export type { ProviderStream } from './deltas.js';

/** A stream longer than this is a runaway backend, not an answer: stop before memory runs out. */
const MAX_STREAM_TEXT = 64 * 1024 * 1024;

/** What core hands a plugin's `create`: its services, without decorators or container access. */
export interface ProviderContext {
  readonly profileName: string;
  readonly providerType: string;
  /** The capabilities the plugin declared. */
  readonly capabilities: readonly Capability[];
  readonly http: HttpClient;
  readonly logger: Logger;
  /** Removes every configured secret from a text. */
  readonly secrets?: SecretScrubber;
  /** Another profile's provider, for plugins that compose profiles. */
  getProvider(profileName: string): Promise<BackendProvider>;
  /**
   * Cooldowns shared with the other replicas of this configuration (see
   * SharedCooldowns); a no-op board when the application shares none.
   * Absent with a core older than this field: check before use.
   */
  readonly sharedCooldowns?: SharedCooldowns;
}

/**
 * The contract every provider implements. Public methods are the API agents
 * call; they check the capability, merge profile defaults with the call's
 * settings, enforce the deadline, retry retryable failures and label errors
 * with the profile. A plugin overrides only the protected `do*` methods of
 * the capabilities it declares, and never retries on its own.
 */
export abstract class BackendProvider<C extends BaseBackendConfig = BaseBackendConfig> {
  constructor(
    readonly config: C,
    protected readonly context: ProviderContext,
  ) {}

  get profileName(): string {
    return this.config.profile_name;
  }

  get type(): string {
    return this.config.type;
  }

  get capabilities(): readonly Capability[] {
    return this.context.capabilities;
  }

  supports(capability: Capability): boolean {
    return this.capabilities.includes(capability);
  }

  /**
   * A completion. Tools, a JSON response format or images the provider's
   * capabilities do not cover are a CapabilityNotSupportedError, and malformed
   * tools a TypeError, before any request. Tool calls in the result have ids
   * and parsed arguments, and `finishReason: 'tool_calls'`.
   */
  async getCompletion(messages: ChatMessage[], runtimeConfig: RuntimeExecutionConfig = {}): Promise<CompletionResult> {
    this.require('completion');
    const call = this.prepare(messages, runtimeConfig);
    const structured = structuredCheck(runtimeConfig.responseFormat);
    if (structured) await structured.ready();
    return this.run(
      runtimeConfig,
      (settings) =>
        this.doCompletion(call.messages, settings)
          .then(normalizeCompletion)
          .then((result) => (structured ? withObject(result, structured) : result)),
      call.features,
    );
  }

  /**
   * A JSON object that follows `schema` (a zod schema, whose output type the
   * result's `object` then has, or a JSON Schema): the completion asked for
   * it in the backend's own way (capability `structured_output`), parsed and
   * validated. An answer that is not JSON or misses the schema is a
   * `StructuredOutputError` holding the raw text and the issues.
   */
  async getObject<S extends ZodType>(messages: ChatMessage[], options: ObjectOptions<S>): Promise<ObjectResult<z.output<S>>>;
  async getObject<T = unknown>(messages: ChatMessage[], options: ObjectOptions<JsonSchema>): Promise<ObjectResult<T>>;
  async getObject(messages: ChatMessage[], options: ObjectOptions<ZodType | JsonSchema>): Promise<ObjectResult<unknown>> {
    const { schema, name, description, ...runtime } = options;
    if (schema === undefined) throw new TypeError('getObject needs a schema (a zod schema or a JSON Schema)');
    const result = await this.getCompletion(messages, { ...runtime, responseFormat: { type: 'json', schema, name, description } });
    // No object to return: the model declined (not retried, as the same request would meet it again).
    if (!('object' in result)) throw refused(result);
    return result as ObjectResult<unknown>;
  }

  /**
   * A streamed completion: iterate it for the text deltas, read `events()` for
   * typed events (reasoning, tool calls, finish), `result` for the whole.
   * Checked as `getCompletion` is, before any request.
   */
  streamCompletion(messages: ChatMessage[], runtimeConfig: RuntimeExecutionConfig = {}): CompletionStream {
    this.require('streaming');
    const call = this.prepare(messages, runtimeConfig);
    checkTimeouts(runtimeConfig); // as begin() does, but now: the stream begins on its first read
    return new CompletionStream(this.runStream(call.messages, runtimeConfig, call.features, structuredCheck(runtimeConfig.responseFormat)));
  }

  /**
   * Embeddings of `texts`, in order. More texts than the backend takes in one
   * request (`max_embeddings_per_call`, else the plugin's
   * `maxEmbeddingsPerCall`) are sent as several requests, one after another,
   * under one deadline; each request is retried on its own.
   */
  async getEmbeddings(texts: string[], options: EmbeddingsOptions = {}): Promise<EmbeddingsResult> {
    this.require('embeddings');
    if (!Array.isArray(texts) || texts.some((t) => typeof t !== 'string')) {
      throw new TypeError('getEmbeddings expects an array of strings');
    }
    const { dimensions } = options;
    if (dimensions !== undefined && (!Number.isInteger(dimensions) || dimensions <= 0)) {
      throw new TypeError('getEmbeddings: dimensions must be a positive whole number');
    }
    if (texts.length === 0) return { embeddings: [] };
    const limit = this.config.max_embeddings_per_call ?? this.maxEmbeddingsPerCall;
    const { deadline, settings } = this.begin(runtimeOf(options));
    try {
      const parts: EmbeddingsResult[] = [];
      for (let start = 0; start < texts.length; start += limit) {
        const batch = start === 0 && texts.length <= limit ? texts : texts.slice(start, start + limit);
        const part = await withRetries(() => this.doEmbeddings(batch, options, settings), this.retryPolicy(settings, deadline));
        checkEmbeddings(part, batch.length, dimensions);
        parts.push(part);
      }
      return parts.length === 1 ? parts[0]! : joinEmbeddings(parts);
    } catch (error) {
      throw this.label(error);
    } finally {
      deadline.dispose();
    }
  }

  async getSpeech(text: string, options: SpeechOptions = {}): Promise<SpeechResult> {
    this.require('speech');
    return this.run(runtimeOf(options), (settings) => this.doSpeech(text, options, settings));
  }

  async getTranscription(audio: Uint8Array, options: TranscriptionOptions = {}): Promise<TranscriptionResult> {
    this.require('transcription');
    return this.run(runtimeOf(options), (settings) => this.doTranscription(audio, options, settings));
  }

  /** The backend's models, with what it reports of each (context length, capabilities). */
  async listModels(options: ListModelsOptions = {}): Promise<ModelInfo[]> {
    this.require('models');
    return this.run(runtimeOf(options), (settings) => this.doListModels(settings));
  }

  /**
   * The number of tokens of a text, or of a conversation as this provider
   * would send it, counted by the backend with the model's tokenizer.
   */
  async countTokens(input: TokenCountInput, options: CountTokensOptions = {}): Promise<TokenCount> {
    this.require('tokens');
    if (typeof input !== 'string') checkMessages(input);
    return this.run(runtimeOf(options), (settings) => this.doCountTokens(input, options, settings));
  }

  // ---- what a plugin overrides -------------------------------------------------

  /**
   * The completion itself. Tool calls may be returned as the backend sent them
   * (`ToolCallInput`: id optional, arguments as JSON text); core adds ids,
   * parses the arguments and sets the finish reason.
   */
  protected doCompletion(_messages: ChatMessage[], _settings: CallSettings): Promise<ProviderCompletion | CompletionResult> {
    throw this.unsupported('completion');
  }

  // eslint-disable-next-line require-yield
  protected async *doStream(_messages: ChatMessage[], _settings: CallSettings): ProviderStream {
    throw this.unsupported('streaming');
  }

  protected doEmbeddings(_texts: string[], _options: EmbeddingsOptions, _settings: CallSettings): Promise<EmbeddingsResult> {
    throw this.unsupported('embeddings');
  }

  protected doSpeech(_text: string, _options: SpeechOptions, _settings: CallSettings): Promise<SpeechResult> {
    throw this.unsupported('speech');
  }

  protected doTranscription(
    _audio: Uint8Array,
    _options: TranscriptionOptions,
    _settings: CallSettings,
  ): Promise<TranscriptionResult> {
    throw this.unsupported('transcription');
  }

  protected doListModels(_settings: CallSettings): Promise<ModelInfo[]> {
    throw this.unsupported('models');
  }

  protected doCountTokens(_input: TokenCountInput, _options: CountTokensOptions, _settings: CallSettings): Promise<TokenCount> {
    throw this.unsupported('tokens');
  }

  // ---- helpers for subclasses ----------------------------------------------------

  /**
   * Most texts the backend takes in one embeddings request (a profile's
   * `max_embeddings_per_call` wins); more are split into several requests.
   * A plugin whose backend has a limit overrides it.
   */
  protected get maxEmbeddingsPerCall(): number {
    return Number.POSITIVE_INFINITY;
  }

  /** Options for the context's HTTP client that carry this call's signal and idle timeout, and the profile's read limits and redirect policy. */
  protected requestOptions(settings: CallSettings, headers?: Record<string, string | undefined>) {
    const c = this.config;
    return {
      signal: settings.signal,
      idleTimeoutMs: settings.idleTimeoutMs,
      headers,
      maxResponseBytes: c.max_response_bytes,
      maxStreamBytes: c.max_stream_bytes,
      maxLineBytes: c.max_line_bytes,
      followRedirects: c.follow_redirects,
    };
  }

  /** The error for a stream that ended without the backend's end marker. */
  protected truncatedStream(url: string, expected: string): ProviderError {
    const safeUrl = redactUrl(url);
    return new ProviderError(`stream from ${safeUrl} ended before ${expected}: the answer is incomplete`, {
      url: safeUrl,
      reason: 'truncated_stream',
      retryable: true,
    });
  }

  // ---- the call machinery --------------------------------------------------------

  /** Checks a completion call's messages and features against the capabilities; the messages in the form the provider takes. */
  private prepare(messages: ChatMessage[], runtime: RuntimeExecutionConfig): { messages: ChatMessage[]; features: CallFeatures } {
    checkMessages(messages);
    const supports = (c: Capability) => this.supports(c);
    const features = callFeatures(messages, runtime, supports, (c) => {
      throw this.unsupported(c);
    });
    return { messages: messagesFor(messages, supports), features };
  }

  private settings(runtime: RuntimeExecutionConfig, deadline: CallDeadline, features?: CallFeatures): CallSettings {
    const c = this.config;
    return {
      ...features,
      temperature: runtime.temperature ?? c.temperature,
      maxTokens: runtime.maxTokens ?? c.max_tokens,
      topP: runtime.topP ?? c.top_p,
      stop: runtime.stop ?? c.stop,
      seed: runtime.seed ?? c.seed,
      timeoutMs: runtime.timeoutMs ?? c.timeout * 1000,
      idleTimeoutMs: runtime.idleTimeoutMs ?? c.idle_timeout * 1000,
      maxRetries: runtime.maxRetries ?? c.max_retries,
      signal: deadline.signal,
      providerOptions: runtime.providerOptions,
      retryIf: runtime.retryIf,
    };
  }

  private begin(runtime: RuntimeExecutionConfig, features?: CallFeatures): { deadline: CallDeadline; settings: CallSettings } {
    checkTimeouts(runtime);
    const deadline = new CallDeadline(runtime.timeoutMs ?? this.config.timeout * 1000, runtime.signal);
    return { deadline, settings: this.settings(runtime, deadline, features) };
  }

  private async run<T>(runtime: RuntimeExecutionConfig, attempt: (settings: CallSettings) => Promise<T>, features?: CallFeatures): Promise<T> {
    const { deadline, settings } = this.begin(runtime, features);
    try {
      return await withRetries(() => attempt(settings), this.retryPolicy(settings, deadline));
    } catch (error) {
      throw this.label(error);
    } finally {
      deadline.dispose();
    }
  }

  private retryPolicy(settings: CallSettings, deadline: CallDeadline): RetryPolicy {
    return {
      maxRetries: settings.maxRetries,
      signal: settings.signal,
      deadline: deadline.deadline,
      retryIf: settings.retryIf,
      onRetry: (error, n, delay) => this.logRetry(error, n, delay),
    };
  }

  /**
   * The call machinery of a stream: deadline, retries until the first delta,
   * the text received, labelled errors. A hand-written iterator rather than an
   * async generator: it sits between the plugin and the caller on every delta,
   * where a generator's await per `yield` is a measurable share of a long
   * stream (bench/RESULTS.md). It behaves as the generator it replaces: nothing
   * starts before the first `next()`, the end or an error disposes of the
   * deadline, and `return()` closes the plugin's stream (freeing its socket).
   *
   * Stream parts (reasoning, tool calls) go to a `StreamAssembler`, created
   * with the first part: a plain text stream keeps the path it always had,
   * one `typeof` per delta more.
   */
  private runStream(
    messages: ChatMessage[],
    runtime: RuntimeExecutionConfig,
    features: CallFeatures,
    structured?: StructuredCheck,
  ): AsyncGenerator<string, CompletionResult, undefined> {
    type Step = IteratorResult<StreamItem | readonly StreamItem[], StreamEnd>;
    type Out = IteratorResult<string, CompletionResult>;
    let state: 'new' | 'open' | 'closed' = 'new';
    let call: { deadline: CallDeadline; settings: CallSettings } | undefined;
    let source: ProviderStream | undefined;
    const received = new ReceivedText();
    let progress: StreamProgress | undefined;
    // The deltas of a batch the plugin yielded, handed out one per `next()` without an async step.
    let batch: readonly StreamItem[] = [];
    let index = 0;
    // Tool calls and reasoning, from the first part on; events go to the sink while `events()` reads them.
    let parts: StreamAssembler | undefined;
    let sink: EventSink | undefined;
    // Ends the wait before a retry when the stream is closed meanwhile (no new request goes out then).
    let wake: AbortController | undefined;
    // The read of the plugin's stream under way: a `next()` called before it settles waits for it, as an
    // async generator queues it (two reads at once would hand out one batch over the other).
    let reading: Promise<Out> | undefined;

    const close = async (): Promise<void> => {
      state = 'closed';
      wake?.abort();
      const open = source;
      source = undefined;
      if (open) await open.return(undefined as never).catch(() => undefined);
      call?.deadline.dispose();
    };
    const fail = async (error: unknown): Promise<never> => {
      const labelled = this.label(error);
      const partial = received.text(index);
      if (ProviderError.isInstance(labelled) && partial) labelled.partialText = partial;
      await close();
      progress?.fail(labelled);
      throw labelled;
    };
    const tooLong = (): Promise<never> | undefined => (received.length > MAX_STREAM_TEXT ? fail(this.tooLong()) : undefined);
    /** Takes a stream part; an unusable one (a whole call with invalid arguments, too much of it) ends the stream. */
    const takePart = (part: StreamPart): Promise<never> | undefined => {
      try {
        parts ??= new StreamAssembler(sink);
        parts.add(part);
      } catch (error) {
        return fail(error);
      }
      return parts.size > MAX_STREAM_TEXT ? fail(this.tooLong()) : undefined;
    };
    /**
     * The next non-empty delta of the batch at hand, if there is one (an abort stops it, as it stops the socket);
     * with `events()` listening, a batch of parts alone ends in EVENTS_ONLY, so their events go out as they came.
     */
    const fromBatch = (): Out | Promise<Out> | undefined => {
      if (call!.deadline.aborted) return fail(abortedError(call!.settings.signal));
      let parted = false;
      while (index < batch.length) {
        const item = batch[index++]!;
        if (typeof item === 'string') {
          if (item) return { value: item, done: false };
        } else {
          const failed = takePart(item);
          if (failed) return failed;
          parted = true;
        }
      }
      return parted && sink ? EVENTS_ONLY : undefined;
    };
    /** A step of the plugin's stream, as the caller sees it (empty deltas skipped, batches handed out one by one, the end turned into the result). */
    const onStep = (step: Step): Out | Promise<Out> => {
      if (state === 'closed') return { value: undefined as never, done: true };
      if (step.done) {
        source = undefined;
        const handed = index;
        let result = withLazyText({ ...step.value } as StreamEnd & Pick<CompletionResult, 'toolCalls'>, () => received.text(handed));
        withoutSameRawFinish(result);
        if (parts || step.value.toolCalls) {
          try {
            result = parts ? parts.finish(result) : normalizeCompletion(result);
          } catch (error) {
            return fail(error);
          }
        }
        if (structured) {
          // Asked for JSON: the whole answer is validated once it is complete (the deltas were its partial text).
          const whole = result;
          return withObject(whole, structured).then((checked) => {
            void close();
            progress?.end(checked);
            return { value: checked, done: true as const };
          }, fail);
        }
        void close();
        progress?.end(result);
        return { value: result, done: true };
      }
      if (typeof step.value === 'string') {
        // The batch before it, if any, is spent: `next()` reads the plugin only then.
        if (step.value !== '') {
          received.add(step.value);
          return tooLong() ?? { value: step.value, done: false };
        }
      } else if (Array.isArray(step.value)) {
        batch = step.value as readonly StreamItem[];
        index = 0;
        received.addBatch(batch);
        const out = tooLong() ?? fromBatch();
        if (out) return out;
      } else {
        if (call!.deadline.aborted) return fail(abortedError(call!.settings.signal));
        const failed = takePart(step.value as StreamPart);
        if (failed) return failed;
        // Its events go to `events()` now, not with the next text delta (which may come only after a whole tool call).
        if (sink) return EVENTS_ONLY;
      }
      return source!.next().then(onStep, fail);
    };
    /** Opens the plugin's stream, retrying until its first delta: retrying is safe only until a delta was handed out. */
    const start = async (): Promise<IteratorResult<string, CompletionResult>> => {
      call = this.begin(runtime, features);
      const { deadline, settings } = call;
      let step: Step;
      try {
        // (No await without a schema to load: an await is a step on the way to the backend.)
        if (structured) await structured.ready();
        for (let attempt = 0; ; attempt++) {
          source = this.doStream(messages, settings);
          try {
            do step = await source.next();
            while (!step.done && isEmpty(step.value));
            break;
          } catch (error) {
            const delay = this.retryDelay(error, attempt, settings, deadline);
            if (delay === undefined) throw error;
            this.logRetry(error as ProviderError, attempt + 1, delay);
            wake = new AbortController();
            await sleep(delay, AbortSignal.any([settings.signal, wake.signal])).catch(() => {
              if (state !== 'closed') throw abortedError(settings.signal, undefined, (error as ProviderError).url, error);
            });
            wake = undefined;
            // Closed while it waited: no new attempt.
            if (state === 'closed') return { value: undefined as never, done: true };
          }
        }
      } catch (error) {
        return fail(error);
      }
      return onStep(step);
    };
    let starting: Promise<unknown> | undefined;

    const iterator: AsyncGenerator<string, CompletionResult, undefined> = handIterator<string, CompletionResult>(
      () => {
        if (state === 'closed') return Promise.resolve({ value: undefined as never, done: true });
        if (state === 'new') {
          state = 'open';
          const first = start();
          starting = first.finally(() => (starting = undefined)).catch(() => undefined);
          return first;
        }
        // Called again before the first step (or the last read) came back: an async generator would queue it.
        if (starting) return starting.then(() => iterator.next());
        if (reading) return reading.then(() => iterator.next());
        if (index < batch.length) {
          const out = fromBatch();
          if (out) return Promise.resolve(out);
        }
        const read = source!.next().then(onStep, fail);
        reading = read;
        void read.then(
          () => (reading = reading === read ? undefined : reading),
          () => (reading = reading === read ? undefined : reading),
        );
        return read;
      },
      async (value) => {
        if (state === 'open') await close();
        state = 'closed';
        return { value: value as CompletionResult, done: true };
      },
    );
    // CompletionStream reads the progress from here instead of adding a promise step per delta.
    (iterator as ReportingSource)[REPORTS_PROGRESS] = (p) => {
      progress = p;
      return () => received.text(index);
    };
    // `stream.events()` subscribes here: the parts' events go to it from then on.
    (iterator as EventSource)[EMITS_EVENTS] = (listener) => {
      sink = listener;
      parts?.listen(listener);
    };
    return iterator;
  }

  private tooLong(): ProviderError {
    return new ProviderError(`the streamed answer passed ${MAX_STREAM_TEXT} characters; stopped reading it`, {
      reason: 'response_too_large',
      retryable: false,
    });
  }

  private retryDelay(error: unknown, attempt: number, settings: CallSettings, deadline: CallDeadline): number | undefined {
    if (!ProviderError.isInstance(error) || !error.retryable || attempt >= settings.maxRetries || settings.signal.aborted) {
      return undefined;
    }
    if (settings.retryIf?.(error, attempt) === false) return undefined;
    const delay = backoffDelay(attempt, error);
    return Date.now() + delay >= deadline.deadline ? undefined : delay;
  }

  private logRetry(error: ProviderError, attempt: number, delayMs: number): void {
    this.context.logger.info(`profile "${this.profileName}": retry ${attempt} in ${delayMs} ms after: ${error.message}`);
  }

  /** Names the profile in a ProviderError and removes any secret from it. */
  private label(error: unknown): unknown {
    if (ProviderError.isInstance(error) && error.profile === undefined) {
      error.profile = this.profileName;
      error.providerType = this.type;
      error.message = `profile "${this.profileName}" (${this.type}): ${error.message}`;
    }
    return this.context.secrets ? this.context.secrets.scrubError(error) : error;
  }

  private require(capability: Capability): void {
    if (!this.supports(capability)) throw this.unsupported(capability);
  }

  private unsupported(capability: Capability): CapabilityNotSupportedError {
    return new CapabilityNotSupportedError(this.type, this.profileName, OPERATION_OF[capability]);
  }
}

/**
 * The step `runStream` hands out, while `events()` listens, when a read of the
 * plugin's stream brought only parts (reasoning, tool calls): no text (core
 * never hands out an empty delta otherwise), so `events()` gives out the
 * parts' events at once instead of holding them until the next text delta.
 */
const EVENTS_ONLY: IteratorResult<string, never> = Object.freeze({ value: '', done: false });

/**
 * The final result, its `text` joined on first read and then kept as a plain
 * value: a caller that only iterates the deltas (and keeps its own text) never
 * pays for joining thousands of them again.
 */
function withLazyText(result: Omit<CompletionResult, 'text'> & { text?: string }, text: () => string): CompletionResult {
  const settle = (target: object, value: string): string => {
    Object.defineProperty(target, 'text', { value, enumerable: true, configurable: true, writable: true });
    return value;
  };
  return Object.defineProperty(result, 'text', {
    enumerable: true,
    configurable: true,
    get(this: object) {
      return settle(this, text());
    },
    set(this: object, value: string) {
      settle(this, value);
    },
  }) as CompletionResult;
}

/** One embeddings request's answer: a vector per text, each of the length asked for. */
function checkEmbeddings(result: EmbeddingsResult, count: number, dimensions: number | undefined): void {
  if (result.embeddings.length !== count) {
    throw new ProviderError(`backend returned ${result.embeddings.length} embeddings for ${count} inputs`, { reason: 'bad_response' });
  }
  const wrong = dimensions === undefined ? undefined : result.embeddings.find((v) => v.length !== dimensions);
  if (wrong) {
    throw new ProviderError(`asked for embeddings of ${dimensions} dimensions, the backend returned ${wrong.length}`, { reason: 'bad_response' });
  }
}

/** The answers of several embeddings requests as one: vectors in order, usage added up. */
function joinEmbeddings(parts: readonly EmbeddingsResult[]): EmbeddingsResult {
  const sum = (key: keyof Usage): number | undefined =>
    parts.every((p) => p.usage?.[key] !== undefined) ? parts.reduce((n, p) => n + p.usage![key]!, 0) : undefined;
  const usage: Usage = {};
  for (const key of ['promptTokens', 'completionTokens', 'totalTokens'] as const) {
    const value = sum(key);
    if (value !== undefined) usage[key] = value;
  }
  const model = parts.find((p) => p.model !== undefined)?.model;
  return {
    embeddings: parts.flatMap((p) => p.embeddings),
    ...(Object.keys(usage).length > 0 ? { usage } : {}),
    ...(model !== undefined ? { model } : {}),
  };
}

/** A step that carries nothing: an empty delta or a batch of them (a stream part is something). */
function isEmpty(value: StreamItem | readonly StreamItem[]): boolean {
  if (typeof value === 'string') return value === '';
  return Array.isArray(value) && value.every((item) => item === '');
}

/**
 * Refuses a call's `timeoutMs` or `idleTimeoutMs` that is not a number of
 * milliseconds above 0 (Infinity: none), before anything starts: a negative
 * or NaN one would otherwise end the call at once, or set no timer, or crash
 * the process from inside the HTTP client's timer set-up.
 */
function checkTimeouts(runtime: RuntimeExecutionConfig): void {
  const { timeoutMs, idleTimeoutMs } = runtime;
  if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs > 0)) throw badTimeout('timeoutMs', timeoutMs);
  if (idleTimeoutMs !== undefined && !(typeof idleTimeoutMs === 'number' && idleTimeoutMs > 0)) throw badTimeout('idleTimeoutMs', idleTimeoutMs);
}

function badTimeout(name: string, value: unknown): TypeError {
  return new TypeError(`${name} must be a number of milliseconds above 0, or Infinity for none (got ${String(value)})`);
}

function runtimeOf(options: CallOptions): RuntimeExecutionConfig {
  return { signal: options.signal, timeoutMs: options.timeoutMs, providerOptions: options.providerOptions, retryIf: options.retryIf };
}

function checkMessages(messages: ChatMessage[]): void {
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new TypeError('messages must be a non-empty array of { role, content }');
  }
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i] as Partial<ChatMessage> | undefined;
    if (typeof m !== 'object' || m === null) throw new TypeError(`messages[${i}] must be an object { role, content }`);
    if (m.role === 'assistant' && m.toolCalls !== undefined) {
      if (!Array.isArray(m.toolCalls) || m.toolCalls.some((c) => typeof c?.id !== 'string' || typeof c.name !== 'string')) {
        throw new TypeError(`messages[${i}].toolCalls must be the { id, name, arguments } calls of a result`);
      }
    }
  }
}

/**
 * Which capabilities a provider class actually implements: the operations
 * whose `do*` method it overrides, and the features (tools, reasoning,
 * structured output, vision) when it implements a completion or a stream,
 * which carry them. Whether it maps them to its backend is what the
 * conformance kit's feature checks find out.
 */
export function implementedCapabilities(provider: BackendProvider): Capability[] {
  const base = BackendProvider.prototype as unknown as Record<string, unknown>;
  const self = provider as unknown as Record<string, unknown>;
  const overrides = (c: Capability) => {
    const method = DO_METHOD_OF[c];
    return method !== undefined && self[method] !== undefined && self[method] !== base[method];
  };
  const completes = overrides('completion') || overrides('streaming');
  return (Object.keys(OPERATION_OF) as Capability[]).filter((c) => (isFeatureCapability(c) ? completes : overrides(c)));
}

/** The error `getObject` answers a refusal with: the refusal as the text, one issue naming it. */
function refused(result: CompletionResult): StructuredOutputError {
  const refusal = result.refusal ?? '';
  return new StructuredOutputError(`the model refused to answer: ${refusal.length > 200 ? `${refusal.slice(0, 200)}…` : refusal}`, {
    text: refusal,
    issues: [{ path: '', message: 'the model refused to answer' }],
  });
}

/**
 * The result with its `object`: the answer parsed and validated (a
 * StructuredOutputError otherwise). A refusal is the model's answer, not JSON
 * that missed the schema: it is passed on as it is, without `object`.
 */
async function withObject(result: CompletionResult, structured: StructuredCheck): Promise<CompletionResult> {
  if (typeof result.refusal === 'string' && result.refusal !== '') return result;
  const object = await structured.check(result.text);
  return Object.defineProperty(result, 'object', { value: object, enumerable: true, configurable: true, writable: true });
}
