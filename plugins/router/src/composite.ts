import {
  BackendProvider,
  CapabilityNotSupportedError,
  ProviderError,
  runtimeFromSettings,
  OPERATION_OF,
  type BaseBackendConfig,
  type CallSettings,
  type Capability,
  type ChatMessage,
  type CompletionResult,
  type CompletionStream,
  type CountTokensOptions,
  type EmbeddingsOptions,
  type EmbeddingsResult,
  type ModelInfo,
  type ProviderContext,
  type ProviderStream,
  type RuntimeExecutionConfig,
  type SpeechOptions,
  type SpeechResult,
  type TokenCount,
  type TokenCountInput,
  type TranscriptionOptions,
  type TranscriptionResult,
} from '@aegis/core';
import { describeFailure, describeFailures, MembersFailedError, type MemberFailure } from './errors.js';
import type { Member } from './members.js';


/** The composite profiles' config as their provider sees it: `idle_timeout` is always a number (Infinity: not set). */
export type CompositeProviderConfig<C extends { idle_timeout?: number }> = Omit<C, 'idle_timeout'> & BaseBackendConfig;

/** Whether trying another member may help after this failure. */
export function isSwitchable(error: unknown): boolean {
  return CapabilityNotSupportedError.isInstance(error) || (ProviderError.isInstance(error) && error.retryable);
}

/**
 * A provider whose calls go to other profiles' providers (its members). One
 * call tries members one at a time, each at most once, in the order `pick`
 * chooses, until one answers:
 *
 * - a retryable ProviderError, or a member that does not support the operation,
 *   moves on to the next member;
 * - any other error (400, 401, an abort, the call's deadline) is thrown as the
 *   member threw it: labelled with the member's profile;
 * - when every member failed, a MembersFailedError lists what each one returned;
 *   when none supports the operation, a CapabilityNotSupportedError.
 *
 * A stream moves on to another member only before its first delta has been
 * passed on; after that a failure is thrown with `partialText`.
 */
export abstract class CompositeProvider<C extends BaseBackendConfig> extends BackendProvider<C> {
  constructor(
    config: C,
    context: ProviderContext,
    protected readonly members: readonly Member[],
  ) {
    super(config, context);
  }

  /** The member to try next, among those this call has not tried yet (never empty). */
  protected abstract pick(remaining: readonly Member[]): Member;
  /** A call to the member starts / has ended (however it ended). */
  protected started(_member: Member): void {}
  protected ended(_member: Member): void {}
  /** The member answered; `startedAt` is when this call to it started. */
  protected succeeded(_member: Member, _startedAt: number): void {}
  /** The member failed (for streams, also after the first delta). */
  protected failed(_member: Member, _error: unknown): void {}

  // ---- the operations ----------------------------------------------------------

  protected override doCompletion(messages: ChatMessage[], settings: CallSettings): Promise<CompletionResult> {
    const runtime = this.memberRuntime(settings);
    return this.route('completion', settings, (p) => p.getCompletion(messages, runtime));
  }

  protected override doEmbeddings(texts: string[], options: EmbeddingsOptions, settings: CallSettings): Promise<EmbeddingsResult> {
    const { timeoutMs: _deadlineIsInTheSignal, ...rest } = options;
    return this.route('embeddings', settings, (p) => p.getEmbeddings(texts, { ...rest, signal: settings.signal }));
  }

  /** The models of the first member that lists them. */
  protected override doListModels(settings: CallSettings): Promise<ModelInfo[]> {
    return this.route('models', settings, (p) => p.listModels({ signal: settings.signal }));
  }

  /** The count of the first member that counts (members may tokenize differently: route to the one you will call). */
  protected override doCountTokens(input: TokenCountInput, options: CountTokensOptions, settings: CallSettings): Promise<TokenCount> {
    return this.route('tokens', settings, (p) => p.countTokens(input, { model: options.model, signal: settings.signal }));
  }

  protected override doSpeech(text: string, options: SpeechOptions, settings: CallSettings): Promise<SpeechResult> {
    const { timeoutMs: _deadlineIsInTheSignal, ...rest } = options;
    return this.route('speech', settings, (p) => p.getSpeech(text, { ...rest, signal: settings.signal }));
  }

  protected override doTranscription(
    audio: Uint8Array,
    options: TranscriptionOptions,
    settings: CallSettings,
  ): Promise<TranscriptionResult> {
    const { timeoutMs: _deadlineIsInTheSignal, ...rest } = options;
    return this.route('transcription', settings, (p) => p.getTranscription(audio, { ...rest, signal: settings.signal }));
  }

  protected override async *doStream(messages: ChatMessage[], settings: CallSettings): ProviderStream {
    const runtime = this.memberRuntime(settings);
    const remaining = this.candidates('streaming');
    const total = remaining.length;
    const failures: MemberFailure[] = [];
    while (remaining.length > 0 && !(failures.length > 0 && settings.signal.aborted)) {
      const member = this.take(remaining);
      const startedAt = Date.now();
      let stream: CompletionStream | undefined;
      let deltas: AsyncIterator<string, void, undefined> | undefined;
      let delivered = false;
      let finished = false;
      this.started(member);
      try {
        stream = member.provider.streamCompletion(messages, runtime);
        deltas = stream[Symbol.asyncIterator]();
        for (let step = await deltas.next(); !step.done; step = await deltas.next()) {
          delivered = true;
          yield step.value;
        }
        finished = true;
        const { text: _concatenatedByCore, ...result } = await stream.result;
        this.succeeded(member, startedAt);
        return result;
      } catch (error) {
        finished = true;
        this.failed(member, error);
        // Once a delta has reached the caller, switching would splice two answers together.
        if (delivered) throw this.brokenStream(member, error, stream?.text ?? '');
        if (!isSwitchable(error)) throw error;
        failures.push({ profile: member.name, error });
        this.logSwitch(member, error, remaining);
      } finally {
        // The consumer stopped early: close the member's stream, which frees its connection.
        if (deltas && !finished) await deltas.return?.().catch(() => undefined);
        this.ended(member);
      }
    }
    throw this.allFailed('streaming', failures, total);
  }

  // ---- the machinery -------------------------------------------------------------

  /**
   * The call's settings for a member: sampling fields and provider options as set
   * for this call, the composite's signal (its deadline and the caller's abort), and
   * the idle timeout only when the call or the composite profile set one; the
   * member's own retries, timeout and idle timeout apply otherwise.
   */
  protected memberRuntime(settings: CallSettings): RuntimeExecutionConfig {
    const runtime = runtimeFromSettings(settings);
    if (runtime.idleTimeoutMs === undefined || !Number.isFinite(runtime.idleTimeoutMs)) delete runtime.idleTimeoutMs;
    return runtime;
  }

  private candidates(capability: Capability): Member[] {
    const able = this.members.filter((m) => m.provider.supports(capability));
    if (able.length === 0) throw new CapabilityNotSupportedError(this.type, this.profileName, OPERATION_OF[capability]);
    return able;
  }

  private take(remaining: Member[]): Member {
    const member = this.pick(remaining);
    remaining.splice(remaining.indexOf(member), 1);
    return member;
  }

  private async route<T>(capability: Capability, settings: CallSettings, call: (provider: BackendProvider) => Promise<T>): Promise<T> {
    const remaining = this.candidates(capability);
    const total = remaining.length;
    const failures: MemberFailure[] = [];
    while (remaining.length > 0 && !(failures.length > 0 && settings.signal.aborted)) {
      const member = this.take(remaining);
      const startedAt = Date.now();
      this.started(member);
      try {
        const result = await call(member.provider);
        this.succeeded(member, startedAt);
        return result;
      } catch (error) {
        this.failed(member, error);
        if (!isSwitchable(error)) throw error;
        failures.push({ profile: member.name, error });
        this.logSwitch(member, error, remaining);
      } finally {
        this.ended(member);
      }
    }
    throw this.allFailed(capability, failures, total);
  }

  /** The error of a call none of whose `total` candidate members answered. */
  private allFailed(capability: Capability, failures: MemberFailure[], total: number): Error {
    if (failures.every((f) => CapabilityNotSupportedError.isInstance(f.error))) {
      return new CapabilityNotSupportedError(this.type, this.profileName, OPERATION_OF[capability]);
    }
    const what =
      failures.length === total
        ? `all ${total} member profiles failed`
        : `${failures.length} of ${total} member profiles failed (the call was aborted or reached its deadline before the others were tried)`;
    return new MembersFailedError(`${what}: ${describeFailures(failures)}`, failures);
  }

  private brokenStream(member: Member, error: unknown, received: string): unknown {
    if (ProviderError.isInstance(error)) {
      error.partialText ??= received;
      return error;
    }
    return new ProviderError(`stream from member profile "${member.name}" broke after ${received.length} characters: ${describeFailure({ profile: member.name, error })}`, {
      reason: 'stream_error',
      partialText: received,
      cause: error,
    });
  }

  private logSwitch(member: Member, error: unknown, remaining: readonly Member[]): void {
    const next = remaining.length > 0 ? 'trying another member' : 'no member left';
    this.context.logger.info(
      `profile "${this.profileName}": member "${member.name}" failed (${describeFailure({ profile: member.name, error })}); ${next}`,
    );
  }
}
