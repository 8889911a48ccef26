import { CapabilityNotSupportedError } from '../errors/capability-error.js';
import { ProviderError } from '../errors/provider-error.js';
import type { HttpClient } from '../http/client.js';
import { backoffDelay, sleep, withRetries } from '../http/retry.js';
import { redactUrl } from '../http/url.js';
import { abortedError } from '../http/error-mapping.js';
import type { SecretScrubber } from '../secrets/scrubber.js';
import type { BaseBackendConfig } from './base-config.js';
import { OPERATION_OF, type Capability } from './capabilities.js';
import { CallDeadline } from './deadline.js';
import type { Logger } from './logger.js';
import type { ChatMessage } from './messages.js';
import type {
  CompletionResult,
  EmbeddingsOptions,
  EmbeddingsResult,
  SpeechOptions,
  SpeechResult,
  TranscriptionOptions,
  TranscriptionResult,
} from './results.js';
import type { CallSettings, RuntimeExecutionConfig } from './runtime.js';
import type { CountTokensOptions, ListModelsOptions, ModelInfo, TokenCount, TokenCountInput } from './models.js';
import { CompletionStream, REPORTS_PROGRESS, type ReportingSource, type StreamProgress } from './stream.js';
import { ReceivedText } from './received-text.js';
import type { ProviderStream, StreamEnd } from './deltas.js';

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

  async getCompletion(messages: ChatMessage[], runtimeConfig: RuntimeExecutionConfig = {}): Promise<CompletionResult> {
    this.require('completion');
    checkMessages(messages);
    return this.run(runtimeConfig, (settings) => this.doCompletion(messages, settings));
  }

  streamCompletion(messages: ChatMessage[], runtimeConfig: RuntimeExecutionConfig = {}): CompletionStream {
    this.require('streaming');
    checkMessages(messages);
    return new CompletionStream(this.runStream(messages, runtimeConfig));
  }

  async getEmbeddings(texts: string[], options: EmbeddingsOptions = {}): Promise<EmbeddingsResult> {
    this.require('embeddings');
    if (!Array.isArray(texts) || texts.some((t) => typeof t !== 'string')) {
      throw new TypeError('getEmbeddings expects an array of strings');
    }
    if (texts.length === 0) return { embeddings: [] };
    const result = await this.run(runtimeOf(options), (settings) => this.doEmbeddings(texts, options, settings));
    if (result.embeddings.length !== texts.length) {
      throw this.label(
        new ProviderError(`backend returned ${result.embeddings.length} embeddings for ${texts.length} inputs`, {
          reason: 'bad_response',
        }),
      );
    }
    return result;
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

  protected doCompletion(_messages: ChatMessage[], _settings: CallSettings): Promise<CompletionResult> {
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

  /** Options for the context's HTTP client that carry this call's signal and idle timeout. */
  protected requestOptions(settings: CallSettings, headers?: Record<string, string | undefined>) {
    return { signal: settings.signal, idleTimeoutMs: settings.idleTimeoutMs, headers };
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

  private settings(runtime: RuntimeExecutionConfig, deadline: CallDeadline): CallSettings {
    const c = this.config;
    return {
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
    };
  }

  private begin(runtime: RuntimeExecutionConfig): { deadline: CallDeadline; settings: CallSettings } {
    const deadline = new CallDeadline(runtime.timeoutMs ?? this.config.timeout * 1000, runtime.signal);
    return { deadline, settings: this.settings(runtime, deadline) };
  }

  private async run<T>(runtime: RuntimeExecutionConfig, attempt: (settings: CallSettings) => Promise<T>): Promise<T> {
    const { deadline, settings } = this.begin(runtime);
    try {
      return await withRetries(() => attempt(settings), {
        maxRetries: settings.maxRetries,
        signal: settings.signal,
        deadline: deadline.deadline,
        onRetry: (error, n, delay) => this.logRetry(error, n, delay),
      });
    } catch (error) {
      throw this.label(error);
    } finally {
      deadline.dispose();
    }
  }

  /**
   * The call machinery of a stream: deadline, retries until the first delta,
   * the text received, labelled errors. A hand-written iterator rather than an
   * async generator: it sits between the plugin and the caller on every delta,
   * where a generator's await per `yield` is a measurable share of a long
   * stream (bench/RESULTS.md). It behaves as the generator it replaces: nothing
   * starts before the first `next()`, the end or an error disposes of the
   * deadline, and `return()` closes the plugin's stream (freeing its socket).
   */
  private runStream(messages: ChatMessage[], runtime: RuntimeExecutionConfig): AsyncGenerator<string, CompletionResult, undefined> {
    type Step = IteratorResult<string | readonly string[], StreamEnd>;
    type Out = IteratorResult<string, CompletionResult>;
    let state: 'new' | 'open' | 'closed' = 'new';
    let call: { deadline: CallDeadline; settings: CallSettings } | undefined;
    let source: ProviderStream | undefined;
    const received = new ReceivedText();
    let progress: StreamProgress | undefined;
    // The deltas of a batch the plugin yielded, handed out one per `next()` without an async step.
    let batch: readonly string[] = [];
    let index = 0;

    const close = async (): Promise<void> => {
      state = 'closed';
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
    /** The next non-empty delta of the batch at hand, if there is one (an abort stops it, as it stops the socket). */
    const fromBatch = (): Out | Promise<Out> | undefined => {
      if (call!.deadline.aborted) return fail(abortedError(call!.settings.signal));
      while (index < batch.length) {
        const text = batch[index++]!;
        if (text) return { value: text, done: false };
      }
      return undefined;
    };
    /** A step of the plugin's stream, as the caller sees it (empty deltas skipped, batches handed out one by one, the end turned into the result). */
    const onStep = (step: Step): Out | Promise<Out> => {
      if (state === 'closed') return { value: undefined as never, done: true };
      if (step.done) {
        source = undefined;
        const handed = index;
        const result = withLazyText({ ...step.value }, () => received.text(handed));
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
      } else if (isBatch(step.value)) {
        batch = step.value;
        index = 0;
        received.addBatch(batch);
        const out = tooLong() ?? fromBatch();
        if (out) return out;
      } else {
        return fail(badDelta(step.value));
      }
      return source!.next().then(onStep, fail);
    };
    /** Opens the plugin's stream, retrying until its first delta: retrying is safe only until a delta was handed out. */
    const start = async (): Promise<IteratorResult<string, CompletionResult>> => {
      call = this.begin(runtime);
      const { deadline, settings } = call;
      let step: Step;
      try {
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
            await sleep(delay, settings.signal).catch(() => {
              throw abortedError(settings.signal, undefined, (error as ProviderError).url, error);
            });
          }
        }
      } catch (error) {
        return fail(error);
      }
      return onStep(step);
    };
    let starting: Promise<unknown> | undefined;

    const iterator: AsyncGenerator<string, CompletionResult, undefined> = {
      next: () => {
        if (state === 'closed') return Promise.resolve({ value: undefined as never, done: true });
        if (state === 'new') {
          state = 'open';
          const first = start();
          starting = first.finally(() => (starting = undefined)).catch(() => undefined);
          return first;
        }
        // Called again before the first step came back (an async generator would queue it).
        if (starting) return starting.then(() => iterator.next());
        if (index < batch.length) {
          const out = fromBatch();
          if (out) return Promise.resolve(out);
        }
        return source!.next().then(onStep, fail);
      },
      return: async (value) => {
        if (state === 'open') await close();
        state = 'closed';
        return { value: value as CompletionResult, done: true };
      },
      throw: async (error: unknown) => {
        await iterator.return(undefined as never);
        throw error;
      },
      [Symbol.asyncIterator]: () => iterator,
    };
    // CompletionStream reads the progress from here instead of adding a promise step per delta.
    (iterator as ReportingSource)[REPORTS_PROGRESS] = (p) => {
      progress = p;
      return () => received.text(index);
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

/** A step that carries no text: an empty delta or a batch of them (anything else is left to `onStep` to refuse). */
function isEmpty(value: string | readonly string[]): boolean {
  return typeof value === 'string' ? value === '' : Array.isArray(value) && value.every((text) => text === '');
}

/** A batch of deltas: an array of strings (a plugin's stream is plugin code: checked, not trusted). */
function isBatch(value: unknown): value is readonly string[] {
  if (!Array.isArray(value)) return false;
  for (let i = 0; i < value.length; i++) if (typeof value[i] !== 'string') return false;
  return true;
}

/** The error for a plugin stream that yields something other than text. */
function badDelta(value: unknown): ProviderError {
  const kind = value === null ? 'null' : Array.isArray(value) ? 'an array holding something other than strings' : `a ${typeof value}`;
  return new ProviderError(`the provider's stream yielded ${kind} where a text delta (a string, or an array of strings) was expected: a bug in the plugin`, {
    reason: 'bad_response',
    retryable: false,
  });
}

function runtimeOf(options: { signal?: AbortSignal; timeoutMs?: number; providerOptions?: Record<string, unknown> }): RuntimeExecutionConfig {
  return { signal: options.signal, timeoutMs: options.timeoutMs, providerOptions: options.providerOptions };
}

function checkMessages(messages: ChatMessage[]): void {
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new TypeError('messages must be a non-empty array of { role, content }');
  }
}

/** Which capabilities a provider class actually implements (overrides a `do*` method for). */
export function implementedCapabilities(provider: BackendProvider): Capability[] {
  const base = BackendProvider.prototype as unknown as Record<string, unknown>;
  const self = provider as unknown as Record<string, unknown>;
  const methods: Record<Capability, string> = {
    completion: 'doCompletion',
    streaming: 'doStream',
    embeddings: 'doEmbeddings',
    speech: 'doSpeech',
    transcription: 'doTranscription',
    models: 'doListModels',
    tokens: 'doCountTokens',
  };
  return (Object.keys(methods) as Capability[]).filter((c) => self[methods[c]] !== base[methods[c]]);
}
