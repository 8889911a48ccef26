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
  type StreamEvent,
  type StreamPart,
  type SpeechResult,
  type SharedCooldowns,
  type TokenCount,
  type TokenCountInput,
  type TranscriptionOptions,
  type TranscriptionResult,
} from '@aegis/core';
import { describeFailure, describeFailures, MembersFailedError, type MemberFailure } from './errors.js';
import { DEFAULT_FALLBACK_ON, FallbackPolicy, type FallbackOnEntry } from './fallback-on.js';
import { featuresOf } from './features.js';
import type { Member } from './members.js';

/** The composite profiles' config as their provider sees it: `idle_timeout` is always a number (Infinity: not set). */
export type CompositeProviderConfig<C extends { idle_timeout?: number }> = Omit<C, 'idle_timeout'> & BaseBackendConfig;

/** The fields of a composite profile the shared machinery reads. */
interface CompositeFields {
  fallback_on?: readonly FallbackOnEntry[];
  cooldown?: number;
  cooldown_after?: number;
}

/** Whether trying another member may help after this failure, with the default `fallback_on`. */
export function isSwitchable(error: unknown): boolean {
  return DEFAULT_POLICY.movesOn(error);
}
const DEFAULT_POLICY = new FallbackPolicy(DEFAULT_FALLBACK_ON);

/**
 * The name of a member's cooldown on the board shared by replicas: the same in
 * every process serving this configuration (profile names only; each escaped,
 * so `a:b` + `c` and `a` + `b:c` differ).
 */
export function cooldownKey(profile: string, member: string): string {
  return `router:${encodeURIComponent(profile)}:${encodeURIComponent(member)}`;
}

/** A member's health as one composite profile sees it. */
export interface MemberState {
  /** Calls to it that have started and not ended yet (through this profile). */
  inFlight: number;
  /** Unhealthy failures in a row (reset by an answer). */
  failuresInARow: number;
  /** Epoch ms until which it is skipped (0: not cooling down). */
  cooldownUntil: number;
  /** When the current cooldown began (here, or when this process learnt of another replica's). */
  cooledAt: number;
}

/**
 * A provider whose calls go to other profiles' providers (its members). One
 * call tries members one at a time, each at most once, in the order `pick`
 * chooses among those not cooling down (then the cooling ones, soonest back
 * first), until one answers:
 *
 * - a failure of a kind listed in the profile's `fallback_on` (by default:
 *   connection, timeout, rate_limit, server_error, not_found, truncated), or a
 *   member that does not support the operation, moves on to the next member;
 *   a refused connection or an idle timeout is not retried inside the member
 *   first (`retryIf`), so a dead member costs one attempt;
 * - any other error (400, 401, an abort, the call's deadline) is thrown as the
 *   member threw it: labelled with the member's profile;
 * - a member with `cooldown_after` unhealthy failures in a row (connection,
 *   timeout, 429, 5xx, truncated) is skipped for `cooldown` seconds; with
 *   `context.sharedCooldowns` the cooldown is announced to the other replicas,
 *   and theirs are applied here (the choice of a member stays in memory:
 *   the board feeds `cooldownUntil`, it is never asked during a call);
 * - when every member failed, a MembersFailedError lists what each one returned;
 *   when none supports the operation, a CapabilityNotSupportedError.
 *
 * A stream moves on to another member only before its first delta has been
 * passed on; after that a failure is thrown with `partialText`.
 */
export abstract class CompositeProvider<C extends BaseBackendConfig> extends BackendProvider<C> {
  /** Which failures move a call on, which count towards a cooldown, which a member does not retry. */
  protected readonly policy: FallbackPolicy;
  private readonly state: MemberState[];
  /** Where cooldowns are shared with other replicas (absent: this process only, or no cooldowns). */
  private readonly shared?: SharedCooldowns;
  /** Each member's key on the shared board, and back. */
  private readonly keys: readonly string[];
  private readonly memberOfKey: ReadonlyMap<string, Member>;

  constructor(
    config: C,
    context: ProviderContext,
    protected readonly members: readonly Member[],
  ) {
    super(config, context);
    this.policy = new FallbackPolicy((config as CompositeFields).fallback_on ?? DEFAULT_FALLBACK_ON);
    this.state = members.map(() => ({ inFlight: 0, failuresInARow: 0, cooldownUntil: 0, cooledAt: 0 }));
    this.keys = members.map((m) => cooldownKey(this.profileName, m.name));
    this.memberOfKey = new Map(members.map((m) => [this.keys[m.index]!, m]));
    if (this.cooldownMs > 0 && context.sharedCooldowns) {
      this.shared = context.sharedCooldowns;
      // The subscription ends when the AEGIS instance closes. Cooldowns still running are applied at once.
      this.shared.subscribe((key, ms) => this.cooledElsewhere(key, ms));
    }
  }

  /** How long a member is skipped once its cooldown starts (0: never). */
  private get cooldownMs(): number {
    return ((this.config as CompositeFields).cooldown ?? 0) * 1000;
  }

  /** The member to try next, among those this call has not tried yet and not cooling down (never empty). */
  protected abstract pick(ready: readonly Member[]): Member;

  /** The clock of cooldowns (epoch ms); tests may replace it. */
  protected now(): number {
    return Date.now();
  }

  /** A snapshot of each member's state (for diagnostics and tests). */
  memberStates(now = this.now()): { profile: string; inFlight: number; failuresInARow: number; coolingDownForMs: number }[] {
    return this.members.map((m) => ({
      profile: m.name,
      inFlight: this.stateOf(m).inFlight,
      failuresInARow: this.stateOf(m).failuresInARow,
      coolingDownForMs: Math.max(0, this.stateOf(m).cooldownUntil - now),
    }));
  }

  protected stateOf(member: Member): MemberState {
    return this.state[member.index]!;
  }

  /** A call to the member starts / has ended (however it ended). */
  protected started(member: Member): void {
    this.stateOf(member).inFlight++;
  }

  protected ended(member: Member): void {
    this.stateOf(member).inFlight--;
  }

  /** The member answered; `startedAt` is when this call to it started. */
  protected succeeded(member: Member, startedAt: number): void {
    const state = this.stateOf(member);
    state.failuresInARow = 0;
    // An answer to a call started after the member was taken out shows it has recovered.
    if (state.cooldownUntil !== 0 && state.cooledAt < startedAt) state.cooldownUntil = 0;
  }

  /** The member failed (for streams, also after the first delta). */
  protected failed(member: Member, error: unknown): void {
    const { cooldown = 0, cooldown_after: after = 1 } = this.config as CompositeFields;
    if (!this.policy.isUnhealthy(error)) return;
    const state = this.stateOf(member);
    state.failuresInARow++;
    if (cooldown <= 0 || state.failuresInARow < after) return;
    state.cooledAt = this.now();
    state.cooldownUntil = state.cooledAt + this.cooldownMs;
    this.shared?.announce(this.keys[member.index]!, this.cooldownMs);
    const times = after === 1 ? '' : ` (${state.failuresInARow} failures in a row)`;
    this.context.logger.warn(
      `profile "${this.profileName}": member "${member.name}" skipped for ${cooldown} s${times} after: ${describeFailure({ profile: member.name, error })}`,
    );
  }

  /**
   * Another replica announced a cooldown (or one is still running when this
   * provider subscribed): the member is skipped here too, until the later of
   * both ends, never longer than this profile's own `cooldown`.
   */
  private cooledElsewhere(key: string, ms: number): void {
    const member = this.memberOfKey.get(key);
    if (!member || !(ms > 0)) return;
    const now = this.now();
    const until = now + Math.min(ms, this.cooldownMs);
    const state = this.stateOf(member);
    if (until <= state.cooldownUntil) return;
    state.cooldownUntil = until;
    state.cooledAt = now;
    this.context.logger.info(
      `profile "${this.profileName}": member "${member.name}" skipped for ${Math.ceil((until - now) / 1000)} s: cooling down on another replica`,
    );
  }

  // ---- the operations ----------------------------------------------------------

  protected override doCompletion(messages: ChatMessage[], settings: CallSettings): Promise<CompletionResult> {
    const runtime = this.memberRuntime(settings);
    return this.route('completion', settings, (p) => p.getCompletion(messages, runtime), featuresOf(messages, settings));
  }

  protected override doEmbeddings(texts: string[], options: EmbeddingsOptions, settings: CallSettings): Promise<EmbeddingsResult> {
    const { timeoutMs: _deadlineIsInTheSignal, ...rest } = options;
    return this.route('embeddings', settings, (p) => p.getEmbeddings(texts, { ...rest, signal: settings.signal, retryIf: this.policy.memberRetryIf }));
  }

  /** The models of the first member that lists them. */
  protected override doListModels(settings: CallSettings): Promise<ModelInfo[]> {
    return this.route('models', settings, (p) => p.listModels({ signal: settings.signal, retryIf: this.policy.memberRetryIf }));
  }

  /** The count of the first member that counts (members may tokenize differently: route to the one you will call). */
  protected override doCountTokens(input: TokenCountInput, options: CountTokensOptions, settings: CallSettings): Promise<TokenCount> {
    return this.route('tokens', settings, (p) => p.countTokens(input, { model: options.model, signal: settings.signal, retryIf: this.policy.memberRetryIf }));
  }

  protected override doSpeech(text: string, options: SpeechOptions, settings: CallSettings): Promise<SpeechResult> {
    const { timeoutMs: _deadlineIsInTheSignal, ...rest } = options;
    return this.route('speech', settings, (p) => p.getSpeech(text, { ...rest, signal: settings.signal, retryIf: this.policy.memberRetryIf }));
  }

  protected override doTranscription(
    audio: Uint8Array,
    options: TranscriptionOptions,
    settings: CallSettings,
  ): Promise<TranscriptionResult> {
    const { timeoutMs: _deadlineIsInTheSignal, ...rest } = options;
    return this.route('transcription', settings, (p) =>
      p.getTranscription(audio, { ...rest, signal: settings.signal, retryIf: this.policy.memberRetryIf }),
    );
  }

  protected override async *doStream(messages: ChatMessage[], settings: CallSettings): ProviderStream {
    const runtime = this.memberRuntime(settings);
    const remaining = this.candidates('streaming', featuresOf(messages, settings));
    const total = remaining.length;
    const failures: MemberFailure[] = [];
    while (remaining.length > 0 && !(failures.length > 0 && settings.signal.aborted)) {
      const member = this.take(remaining);
      const startedAt = Date.now();
      let stream: CompletionStream | undefined;
      let events: AsyncIterator<StreamEvent, void, undefined> | undefined;
      let delivered = false;
      let finished = false;
      this.started(member);
      try {
        stream = member.provider.streamCompletion(messages, runtime);
        // The member's events, passed on as the parts they came from: text, reasoning, whole tool calls.
        events = stream.events()[Symbol.asyncIterator]();
        for (let step = await events.next(); !step.done; step = await events.next()) {
          const part = partOf(step.value);
          if (part === undefined) continue;
          delivered = true;
          yield part;
        }
        finished = true;
        // Text, reasoning and tool calls came as parts: core puts them together again.
        const { text: _text, toolCalls: _toolCalls, reasoning: _reasoning, ...result } = await stream.result;
        this.succeeded(member, startedAt);
        return result;
      } catch (error) {
        finished = true;
        this.failed(member, error);
        // Once a delta has reached the caller, switching would splice two answers together.
        if (delivered) throw this.brokenStream(member, error, stream?.text ?? '');
        if (!this.movesOn(error, settings)) throw error;
        failures.push({ profile: member.name, error });
        this.logSwitch(member, error, remaining);
      } finally {
        // The consumer stopped early: close the member's stream, which frees its connection.
        if (events && !finished) await events.return?.().catch(() => undefined);
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
    runtime.retryIf = this.policy.memberRetryIf;
    return runtime;
  }

  /** Whether the call goes on to another member after this failure (never once the call itself is aborted or out of time). */
  private movesOn(error: unknown, settings: CallSettings): boolean {
    return !settings.signal.aborted && this.policy.movesOn(error);
  }

  /**
   * The members that have the operation's capability and every feature the
   * call needs (`tools` when it offers tools, `vision` for images, ...); the
   * others are skipped. None: CapabilityNotSupportedError naming what is missing.
   */
  private candidates(capability: Capability, features: readonly Capability[] = []): Member[] {
    const able = this.members.filter((m) => m.provider.supports(capability));
    if (able.length === 0) throw new CapabilityNotSupportedError(this.type, this.profileName, OPERATION_OF[capability]);
    const fit = able.filter((m) => features.every((f) => m.provider.supports(f)));
    if (fit.length === 0) {
      const missing = features.find((f) => !able.some((m) => m.provider.supports(f))) ?? features[0]!;
      throw new CapabilityNotSupportedError(this.type, this.profileName, OPERATION_OF[missing]);
    }
    if (fit.length < able.length) {
      const skipped = able.filter((m) => !fit.includes(m)).map((m) => `"${m.name}"`);
      this.context.logger.debug(`profile "${this.profileName}": skipping ${skipped.join(', ')}: no ${features.join('/')} support`);
    }
    return fit;
  }

  /** The next member: `pick` among those not cooling down, else the one whose cooldown ends first. */
  private take(remaining: Member[]): Member {
    const now = this.now();
    const ready = remaining.filter((m) => this.stateOf(m).cooldownUntil <= now);
    const member =
      ready.length > 0
        ? this.pick(ready)
        : remaining.reduce((best, m) => (this.stateOf(m).cooldownUntil < this.stateOf(best).cooldownUntil ? m : best));
    remaining.splice(remaining.indexOf(member), 1);
    return member;
  }

  private async route<T>(
    capability: Capability,
    settings: CallSettings,
    call: (provider: BackendProvider) => Promise<T>,
    features: readonly Capability[] = [],
  ): Promise<T> {
    const remaining = this.candidates(capability, features);
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
        if (!this.movesOn(error, settings)) throw error;
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

/** What a member's stream event is as a part of this stream (tool-call starts and fragments: the whole call follows). */
function partOf(event: StreamEvent): string | StreamPart | undefined {
  switch (event.type) {
    case 'text-delta':
      return event.text;
    case 'reasoning-delta':
      return { type: 'reasoning', text: event.text };
    case 'refusal-delta':
      return { type: 'refusal', text: event.text };
    case 'tool-call':
      return { type: 'tool-call', index: event.index, id: event.toolCall.id, name: event.toolCall.name, arguments: event.toolCall.arguments };
    case 'tool-call-start':
    case 'tool-call-delta':
    case 'finish':
      return undefined;
    default: {
      // Every event type is decided above: a new one fails to compile here until it is.
      const unhandled: never = event;
      return unhandled;
    }
  }
}
