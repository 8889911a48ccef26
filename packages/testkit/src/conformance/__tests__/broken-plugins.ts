/**
 * Deliberately broken plugins, one mistake each, for the kit's own tests: each must
 * make exactly the check named with it fail. They wrap the example-com plugin (for
 * completion and streaming) or the Acme plugin (for embeddings, speech, transcription).
 */
import {
  BackendProvider,
  definePlugin,
  normalizeFinishReason,
  PLUGIN_API_VERSION,
  ProviderError,
  z,
  type AegisPlugin,
  type AnyConfigSchema,
  type CallSettings,
  type StreamItem,
  type ChatMessage,
  type CompletionResult,
  type CountTokensOptions,
  type RuntimeExecutionConfig,
  type TokenCountInput,
  type EmbeddingsOptions,
  type EmbeddingsResult,
  type FinishReason,
  type ModelInfo,
  type TokenCount,
  type ProviderContext,
  type ProviderStream,
  type SpeechOptions,
  type SpeechResult,
  type TranscriptionOptions,
  type TranscriptionResult,
} from '@aegis/core';
import { ExampleComConfig, ExampleComProvider } from 'aegis-provider-example-com';
import { AcmeConfig, AcmeProvider, type AcmeChunk } from './acme.js';

type ProviderClass<C> = new (config: C, context: ProviderContext) => BackendProvider;

/** An example_com plugin built from another provider class (and other definition fields). */
export function exampleVariant(
  Provider: ProviderClass<ExampleComConfig> = ExampleComProvider,
  definition: { apiVersion?: number; configSchema?: AnyConfigSchema; capabilities?: AegisPlugin['capabilities']; create?: AegisPlugin['create'] } = {},
): AegisPlugin {
  return definePlugin({
    apiVersion: PLUGIN_API_VERSION,
    type: 'example_com',
    configSchema: ExampleComConfig as AnyConfigSchema,
    capabilities: ['completion', 'streaming'],
    create: (config, context) => new Provider(config as ExampleComConfig, context),
    ...definition,
  });
}

/** An acme plugin built from another provider class. */
export function acmeVariant(Provider: ProviderClass<AcmeConfig>): AegisPlugin {
  return definePlugin({
    apiVersion: PLUGIN_API_VERSION,
    type: 'acme',
    configSchema: AcmeConfig,
    capabilities: ['completion', 'streaming', 'embeddings', 'speech', 'transcription', 'models', 'tokens', 'structured_output', 'vision'],
    create: (config, context) => new Provider(config, context),
  });
}

// ---- plugin object and configuration --------------------------------------------------

/** Written for a plugin API this core does not implement. */
export const futureApi = exampleVariant(ExampleComProvider, { apiVersion: 99 });

/** Redefines a common field: `seed` as a string, so `seed: 7` no longer validates. */
export const redefinesSeed = exampleVariant(ExampleComProvider, { configSchema: ExampleComConfig.extend({ seed: z.string().optional() }) });

/** Accepts anything as `timeout` (with the usual default, so only a bad value shows the mistake). */
export const acceptsAnyTimeout = exampleVariant(ExampleComProvider, { configSchema: ExampleComConfig.extend({ timeout: z.any().default(600) }) });

/** Keeps its key in `access_code`, not marked secret (and named so the credential heuristic misses it). */
export const unmarkedSecret = exampleVariant(ExampleComProvider, {
  configSchema: ExampleComConfig.omit({ api_key: true }).extend({ access_code: z.string().min(1) }),
  create: (config, context) => {
    const { access_code, ...rest } = config as Record<string, unknown>;
    return new ExampleComProvider({ ...rest, api_key: access_code } as ExampleComConfig, context);
  },
});

// ---- completion and streaming ----------------------------------------------------------

class EmptyFinishReason extends ExampleComProvider {
  protected override async doCompletion(messages: ChatMessage[], settings: CallSettings): Promise<CompletionResult> {
    return { ...(await super.doCompletion(messages, settings)), finishReason: '' as FinishReason };
  }
}
export const emptyFinishReason = exampleVariant(EmptyFinishReason);

/** A plugin stream's step as deltas (it may yield one, or a batch). */
function deltasOf(value: StreamItem | readonly StreamItem[]): readonly string[] {
  const items = Array.isArray(value) ? (value as readonly StreamItem[]) : [value as StreamItem];
  return items.filter((item): item is string => typeof item === 'string');
}

/** Reads the whole stream and yields nothing (the final text would be empty). */
class SilentStream extends ExampleComProvider {
  protected override async *doStream(messages: ChatMessage[], settings: CallSettings): ProviderStream {
    const inner = super.doStream(messages, settings);
    for (;;) {
      const step = await inner.next();
      if (step.done) return step.value;
    }
  }
}
export const silentStream = exampleVariant(SilentStream);

/** Buffers the stream and yields it as one delta at the end. */
class BufferedStream extends ExampleComProvider {
  protected override async *doStream(messages: ChatMessage[], settings: CallSettings): ProviderStream {
    const inner = super.doStream(messages, settings);
    let text = '';
    for (;;) {
      const step = await inner.next();
      if (step.done) {
        yield text;
        return step.value;
      }
      text += deltasOf(step.value).join('');
    }
  }
}
export const bufferedStream = exampleVariant(BufferedStream);

/** Loses the last delta. */
class DroppingStream extends ExampleComProvider {
  protected override async *doStream(messages: ChatMessage[], settings: CallSettings): ProviderStream {
    const inner = super.doStream(messages, settings);
    let held: string | undefined;
    for (;;) {
      const step = await inner.next();
      if (step.done) return step.value;
      for (const delta of deltasOf(step.value)) {
        if (held !== undefined) yield held;
        held = delta;
      }
    }
  }
}
export const droppingStream = exampleVariant(DroppingStream);

/** Sends its requests without the call's signal, so aborting does nothing. */
class DeafToAbort extends ExampleComProvider {
  protected override doStream(messages: ChatMessage[], settings: CallSettings): ProviderStream {
    return super.doStream(messages, { ...settings, signal: new AbortController().signal });
  }
}
export const deafToAbort = exampleVariant(DeafToAbort);

/** Ends the stream normally on any error: an abort or a cut connection looks like a complete answer. */
class SwallowingStream extends ExampleComProvider {
  protected override async *doStream(messages: ChatMessage[], settings: CallSettings): ProviderStream {
    try {
      return yield* super.doStream(messages, settings);
    } catch {
      return { finishReason: 'stop' };
    }
  }
}
export const swallowingStream = exampleVariant(SwallowingStream);

/** Sends the profile's temperature whatever the call says. */
class ProfileTemperatureOnly extends ExampleComProvider {
  protected override doCompletion(messages: ChatMessage[], settings: CallSettings): Promise<CompletionResult> {
    return super.doCompletion(messages, { ...settings, temperature: this.config.temperature });
  }
}
export const profileTemperatureOnly = exampleVariant(ProfileTemperatureOnly);

/** Not broken: a backend without a temperature field (the plugin never sends one). */
class NoTemperature extends ExampleComProvider {
  protected override doCompletion(messages: ChatMessage[], settings: CallSettings): Promise<CompletionResult> {
    return super.doCompletion(messages, { ...settings, temperature: undefined });
  }

  protected override doStream(messages: ChatMessage[], settings: CallSettings): ProviderStream {
    return super.doStream(messages, { ...settings, temperature: undefined });
  }
}
export const noTemperature = exampleVariant(NoTemperature);

// ---- capabilities ----------------------------------------------------------------------

/** Answers getEmbeddings although it does not declare embeddings (bypasses the capability check). */
class AnswersEverything extends ExampleComProvider {
  override async getEmbeddings(texts: string[]): Promise<EmbeddingsResult> {
    return { embeddings: texts.map(() => [1, 0]) };
  }
}
export const answersUndeclared = exampleVariant(AnswersEverything);

/** Declares embeddings but has no doEmbeddings. */
export const declaresMore = exampleVariant(ExampleComProvider, { capabilities: ['completion', 'streaming', 'embeddings'] });

// ---- failures ------------------------------------------------------------------------------

/** Turns every failure into an apologetic answer. */
class HidesErrors extends ExampleComProvider {
  protected override async doCompletion(messages: ChatMessage[], settings: CallSettings): Promise<CompletionResult> {
    try {
      return await super.doCompletion(messages, settings);
    } catch {
      return { text: 'Sorry, something went wrong.', finishReason: 'error' };
    }
  }
}
export const hidesErrors = exampleVariant(HidesErrors);

/** Rebuilds errors as ProviderErrors that are never retryable. */
class NeverRetryable extends ExampleComProvider {
  protected override async doCompletion(messages: ChatMessage[], settings: CallSettings): Promise<CompletionResult> {
    try {
      return await super.doCompletion(messages, settings);
    } catch (error) {
      const status = ProviderError.isInstance(error) ? error.status : undefined;
      throw new ProviderError('Example.com failed', { status, retryable: false });
    }
  }
}
export const neverRetryable = exampleVariant(NeverRetryable);

/** Marks every failure retryable, so a request the backend refuses is sent again and again. */
class AlwaysRetryable extends ExampleComProvider {
  protected override async doCompletion(messages: ChatMessage[], settings: CallSettings): Promise<CompletionResult> {
    try {
      return await super.doCompletion(messages, settings);
    } catch (error) {
      const status = ProviderError.isInstance(error) ? error.status : undefined;
      throw new ProviderError('Example.com failed, try again', { status, retryable: true });
    }
  }
}
export const alwaysRetryable = exampleVariant(AlwaysRetryable);

/** Throws plain Errors. */
class PlainErrors extends ExampleComProvider {
  protected override async doCompletion(messages: ChatMessage[], settings: CallSettings): Promise<CompletionResult> {
    try {
      return await super.doCompletion(messages, settings);
    } catch {
      throw new Error('Example.com failed');
    }
  }
}
export const plainErrors = exampleVariant(PlainErrors);

// ---- embeddings, speech, transcription (on Acme) --------------------------------------------

class DropsAVector extends AcmeProvider {
  protected override async doEmbeddings(texts: string[], options: EmbeddingsOptions, settings: CallSettings): Promise<EmbeddingsResult> {
    const result = await super.doEmbeddings(texts, options, settings);
    return { ...result, embeddings: result.embeddings.slice(1) };
  }
}
export const dropsAVector = acmeVariant(DropsAVector);

class RaggedVectors extends AcmeProvider {
  protected override async doEmbeddings(texts: string[], options: EmbeddingsOptions, settings: CallSettings): Promise<EmbeddingsResult> {
    const result = await super.doEmbeddings(texts, options, settings);
    return { ...result, embeddings: result.embeddings.map((v, i) => v.slice(0, v.length - i)) };
  }
}
export const raggedVectors = acmeVariant(RaggedVectors);

class SilentSpeech extends AcmeProvider {
  protected override async doSpeech(text: string, options: SpeechOptions, settings: CallSettings): Promise<SpeechResult> {
    await super.doSpeech(text, options, settings);
    return { audio: new Uint8Array(0), mimeType: 'audio/wav' };
  }
}
export const silentSpeech = acmeVariant(SilentSpeech);

class UntypedSpeech extends AcmeProvider {
  protected override async doSpeech(text: string, options: SpeechOptions, settings: CallSettings): Promise<SpeechResult> {
    return { ...(await super.doSpeech(text, options, settings)), mimeType: '' };
  }
}
export const untypedSpeech = acmeVariant(UntypedSpeech);

class NumericTranscript extends AcmeProvider {
  protected override async doTranscription(audio: Uint8Array, options: TranscriptionOptions, settings: CallSettings): Promise<TranscriptionResult> {
    const result = await super.doTranscription(audio, options, settings);
    return { text: result.text.length as unknown as string };
  }
}
export const numericTranscript = acmeVariant(NumericTranscript);

class BuiltInModelList extends AcmeProvider {
  protected override async doListModels(): Promise<ModelInfo[]> {
    return [{ id: 'acme-large' }];
  }
}
/** Lists models from a built-in list instead of asking the backend. */
export const builtInModelList = acmeVariant(BuiltInModelList);

class GuessedTokens extends AcmeProvider {
  protected override async doCountTokens(): Promise<TokenCount> {
    return { tokens: 4, exact: true };
  }
}
/** Presents a guess as an exact count. */
export const guessedTokens = acmeVariant(GuessedTokens);

class SchemaIgnored extends AcmeProvider {
  protected override generateBody(messages: ChatMessage[], settings: CallSettings, stream: boolean) {
    const { json_schema: _dropped, ...body } = super.generateBody(messages, settings, stream) as Record<string, unknown>;
    return body as ReturnType<AcmeProvider['generateBody']>;
  }
}
/** Declares structured output but never sends the schema. */
export const schemaIgnored = acmeVariant(SchemaIgnored);

class ImagesDropped extends AcmeProvider {
  protected override generateBody(messages: ChatMessage[], settings: CallSettings, stream: boolean) {
    const { images: _dropped, ...body } = super.generateBody(messages, settings, stream) as Record<string, unknown>;
    return body as ReturnType<AcmeProvider['generateBody']>;
  }
}
/** Declares vision but drops the images. */
export const imagesDropped = acmeVariant(ImagesDropped);

class AnswerReplaced extends AcmeProvider {
  protected override async doCompletion(messages: ChatMessage[], settings: CallSettings): Promise<CompletionResult> {
    const result = await super.doCompletion(messages, settings);
    return settings.responseFormat?.type === 'json' ? { ...result, text: '{}' } : result;
  }
}
/** Answers a JSON request with its own text instead of the backend's. */
export const answerReplaced = acmeVariant(AnswerReplaced);

// ---- errors and limits of completion and streaming (on Acme) --------------------------------

class IgnoresErrorEvent extends AcmeProvider {
  protected override streamError(): undefined {
    return undefined;
  }
}
/** Has no `if (chunk.error) throw`: the backend's error event is skipped, and the stream then reports truncated_stream. */
export const ignoresErrorEvent = acmeVariant(IgnoresErrorEvent);

class RawJsonStream extends AcmeProvider {
  protected override parseChunk(data: string): AcmeChunk {
    return JSON.parse(data) as AcmeChunk;
  }
}
/** Parses stream events with JSON.parse instead of parseStreamJson: a broken event is a raw SyntaxError. */
export const rawJsonStream = acmeVariant(RawJsonStream);

class UncheckedShape extends AcmeProvider {
  protected override async doCompletion(messages: ChatMessage[], settings: CallSettings): Promise<CompletionResult> {
    const { body } = await this.context.http.postJson<{ output: string; stop_reason?: string }>(
      this.url('/v1/generate'),
      this.generateBody(messages, settings, false),
      this.options(settings),
    );
    return { text: body.output.trim(), finishReason: normalizeFinishReason(body.stop_reason) };
  }
}
/** Reads the answer's fields without checking them: an answer of another shape is a raw TypeError. */
export const uncheckedShape = acmeVariant(UncheckedShape);

class OwnRequestOptions extends AcmeProvider {
  protected override options(settings: CallSettings) {
    return { signal: settings.signal, headers: { authorization: `Bearer ${this.config.token}` } } as unknown as ReturnType<AcmeProvider['options']>;
  }
}
/** Builds its own `{ signal, headers }` instead of this.requestOptions(settings, headers): the profile's read limits are lost. */
export const ownRequestOptions = acmeVariant(OwnRequestOptions);

class NoIdleTimeout extends AcmeProvider {
  protected override options(settings: CallSettings) {
    return { ...super.options(settings), idleTimeoutMs: undefined } as unknown as ReturnType<AcmeProvider['options']>;
  }
}
/** Drops the call's idle timeout from its request options: a silent backend holds the call until its deadline. */
export const noIdleTimeout = acmeVariant(NoIdleTimeout);

class ReversedVectors extends AcmeProvider {
  protected override async doEmbeddings(texts: string[], options: EmbeddingsOptions, settings: CallSettings): Promise<EmbeddingsResult> {
    const result = await super.doEmbeddings(texts, options, settings);
    return { ...result, embeddings: [...result.embeddings].reverse() };
  }
}
/** Returns the vectors in reverse order. */
export const reversedVectors = acmeVariant(ReversedVectors);

// ---- more mistakes, for the kit's assertions a mutation audit found unchecked ------------------

/** Not broken: a backend whose profiles retry nothing unless told to (`max_retries` defaults to 0, which is valid). */
export const noRetriesByDefault = exampleVariant(ExampleComProvider, {
  configSchema: ExampleComConfig.extend({ max_retries: z.number().int().min(0).max(20).default(0) }) as AnyConfigSchema,
});

/** Lets `idle_timeout` default to 0 (no positive default), so a profile that leaves it out has no usable idle timeout. */
export const zeroIdleTimeout = exampleVariant(ExampleComProvider, {
  configSchema: ExampleComConfig.extend({ idle_timeout: z.number().min(0).default(0) }) as AnyConfigSchema,
});

/** Adds the key to the message of every failed completion, after core has scrubbed it (it overrides the public method). */
class KeyInErrors extends ExampleComProvider {
  override async getCompletion(messages: ChatMessage[], runtime: RuntimeExecutionConfig = {}): Promise<CompletionResult> {
    try {
      return await super.getCompletion(messages, runtime);
    } catch (error) {
      if (error instanceof Error) error.message += ` (sent with the key ${this.config.api_key})`;
      throw error;
    }
  }
}
export const keyInErrors = exampleVariant(KeyInErrors);

/** Reports every completion as cut by the token limit. */
class AlwaysLength extends ExampleComProvider {
  protected override async doCompletion(messages: ChatMessage[], settings: CallSettings): Promise<CompletionResult> {
    return { ...(await super.doCompletion(messages, settings)), finishReason: 'length' };
  }
}
export const alwaysLength = exampleVariant(AlwaysLength);

/** Turns the abort of a stream into a "connection" ProviderError, so a caller cannot tell it stopped the call itself. */
class AbortAsNetwork extends ExampleComProvider {
  protected override async *doStream(messages: ChatMessage[], settings: CallSettings): ProviderStream {
    try {
      return yield* super.doStream(messages, settings);
    } catch (error) {
      if (ProviderError.isInstance(error) && error.reason === 'aborted') throw new ProviderError('the stream stopped', { reason: 'connection', retryable: true });
      throw error;
    }
  }
}
export const abortAsNetwork = exampleVariant(AbortAsNetwork);

/** Sends the profile's temperature in a field of its own besides the call's. */
class ProfileTemperatureToo extends ExampleComProvider {
  protected override doCompletion(messages: ChatMessage[], settings: CallSettings): Promise<CompletionResult> {
    return super.doCompletion(messages, { ...settings, providerOptions: { ...settings.providerOptions, default_temp: this.config.temperature } });
  }
}
export const profileTemperatureToo = exampleVariant(ProfileTemperatureToo);

/** Answers an undeclared operation with a plain Error instead of CapabilityNotSupportedError. */
class UndeclaredPlainError extends ExampleComProvider {
  override async getEmbeddings(): Promise<EmbeddingsResult> {
    throw new Error('Example.com has no embeddings');
  }
}
export const undeclaredPlainError = exampleVariant(UndeclaredPlainError);

/** Rebuilds its errors without the HTTP status (retryable and reason kept). */
class StatuslessErrors extends ExampleComProvider {
  protected override async doCompletion(messages: ChatMessage[], settings: CallSettings): Promise<CompletionResult> {
    try {
      return await super.doCompletion(messages, settings);
    } catch (error) {
      if (!ProviderError.isInstance(error)) throw error;
      throw new ProviderError(`Example.com failed: ${error.message}`, { retryable: error.retryable, reason: error.reason, url: error.url });
    }
  }
}
export const statuslessErrors = exampleVariant(StatuslessErrors);

/** Retries a 404 (a model that is not there will not appear by asking again). */
class Retries404 extends ExampleComProvider {
  protected override async doCompletion(messages: ChatMessage[], settings: CallSettings): Promise<CompletionResult> {
    try {
      return await super.doCompletion(messages, settings);
    } catch (error) {
      if (ProviderError.isInstance(error) && error.status === 404) throw new ProviderError(error.message, { status: 404, url: error.url, retryable: true });
      throw error;
    }
  }
}
export const retries404 = exampleVariant(Retries404);

/** Reads a stream's end unchecked: a stream cut short is a raw TypeError, not a ProviderError. */
class TypeErrorOnCut extends ExampleComProvider {
  protected override async *doStream(messages: ChatMessage[], settings: CallSettings): ProviderStream {
    try {
      return yield* super.doStream(messages, settings);
    } catch (error) {
      if (ProviderError.isInstance(error) && error.reason === 'truncated_stream') throw new TypeError("Cannot read properties of undefined (reading 'finish_reason')");
      throw error;
    }
  }
}
export const typeErrorOnCut = exampleVariant(TypeErrorOnCut);

/** Replaces the backend's error event by a message of its own. */
class GenericStreamError extends ExampleComProvider {
  protected override async *doStream(messages: ChatMessage[], settings: CallSettings): ProviderStream {
    try {
      return yield* super.doStream(messages, settings);
    } catch (error) {
      if (ProviderError.isInstance(error) && error.reason === 'stream_error') throw new ProviderError('the stream failed', { reason: 'stream_error' });
      throw error;
    }
  }
}
export const genericStreamError = exampleVariant(GenericStreamError);

/** Reads a stream event's fields unchecked: an event of another shape is a raw TypeError. */
class UncheckedStreamEvent extends AcmeProvider {
  protected override parseChunk(data: string, url: string): AcmeChunk {
    const chunk = super.parseChunk(data, url);
    if (!chunk.error && !chunk.stop_reason && chunk.delta!.length === 0) return {};
    return chunk;
  }
}
export const uncheckedStreamEvent = acmeVariant(UncheckedStreamEvent);

class OctetSpeech extends AcmeProvider {
  protected override async doSpeech(text: string, options: SpeechOptions, settings: CallSettings): Promise<SpeechResult> {
    return { ...(await super.doSpeech(text, options, settings)), mimeType: 'application/octet-stream' };
  }
}
/** Labels its audio application/octet-stream. */
export const octetSpeech = acmeVariant(OctetSpeech);

class JsonTranscript extends AcmeProvider {
  protected override async doTranscription(audio: Uint8Array, options: TranscriptionOptions, settings: CallSettings): Promise<TranscriptionResult> {
    const result = await super.doTranscription(audio, options, settings);
    return { text: JSON.stringify({ text: result.text }) };
  }
}
/** Returns the backend's JSON answer as the text. */
export const jsonTranscript = acmeVariant(JsonTranscript);

class DoubledModels extends AcmeProvider {
  protected override async doListModels(settings: CallSettings): Promise<ModelInfo[]> {
    const models = await super.doListModels(settings);
    return [...models, ...models];
  }
}
/** Lists every model twice (e.g. once per endpoint it asks). */
export const doubledModels = acmeVariant(DoubledModels);

class InexactTokens extends AcmeProvider {
  protected override async doCountTokens(input: TokenCountInput, options: CountTokensOptions, settings: CallSettings): Promise<TokenCount> {
    return { ...(await super.doCountTokens(input, options, settings)), exact: false };
  }
}
/** Declares tokens but says its counts are not exact. */
export const inexactTokens = acmeVariant(InexactTokens);

class ModelLookupFirst extends AcmeProvider {
  protected override async doCompletion(messages: ChatMessage[], settings: CallSettings): Promise<CompletionResult> {
    await this.context.http.getJson(this.url('/v1/models'), this.options(settings));
    return super.doCompletion(messages, settings);
  }

  protected override async *doStream(messages: ChatMessage[], settings: CallSettings): ProviderStream {
    await this.context.http.getJson(this.url('/v1/models'), this.options(settings));
    return yield* super.doStream(messages, settings);
  }
}
/** Not broken: asks the backend for its models before each completion (a request of its own, besides the call's). */
export const modelLookupFirst = acmeVariant(ModelLookupFirst);

/** Never answers a completion: the call ends only when its deadline aborts it (the profile's timeout). */
class NeverAnswers extends ExampleComProvider {
  protected override doCompletion(_messages: ChatMessage[], settings: CallSettings): Promise<CompletionResult> {
    return new Promise<CompletionResult>((_, reject) => {
      settings.signal.addEventListener('abort', () => reject(new ProviderError('no answer before the deadline', { reason: 'timeout' })), { once: true });
    });
  }
}
export const neverAnswers = exampleVariant(NeverAnswers);
