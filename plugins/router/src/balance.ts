import { ProviderError, type ProviderContext } from '@aegis/core';
import { CompositeProvider, type CompositeProviderConfig } from './composite.js';
import type { BalanceConfig } from './config.js';
import { describeFailure } from './errors.js';
import type { Member } from './members.js';

interface ReplicaState {
  /** Calls to it that have started and not ended yet (through this profile). */
  inFlight: number;
  /** Epoch ms until which it is out of rotation (0: in rotation). */
  cooldownUntil: number;
  /** When the current cooldown began. */
  cooledAt: number;
}

/**
 * `type: balance`: spreads calls over replicas (round robin, or the one with
 * the fewest calls in flight). A replica that fails with a retryable error is
 * out of rotation for `cooldown` seconds and the call goes on to another
 * replica; when every replica left is cooling down, the one whose cooldown
 * ends first is used rather than failing the call outright.
 */
export class BalanceProvider extends CompositeProvider<CompositeProviderConfig<BalanceConfig>> {
  private readonly state: ReplicaState[];
  /** Index of the replica round robin starts looking at. */
  private cursor = 0;

  constructor(config: CompositeProviderConfig<BalanceConfig>, context: ProviderContext, members: readonly Member[]) {
    super(config, context, members);
    this.state = members.map(() => ({ inFlight: 0, cooldownUntil: 0, cooledAt: 0 }));
  }

  /** A snapshot of each replica's state (for diagnostics and tests). */
  replicas(now = Date.now()): { profile: string; inFlight: number; coolingDownForMs: number }[] {
    return this.members.map((m) => ({
      profile: m.name,
      inFlight: this.state[m.index]!.inFlight,
      coolingDownForMs: Math.max(0, this.state[m.index]!.cooldownUntil - now),
    }));
  }

  protected override pick(remaining: readonly Member[]): Member {
    const now = Date.now();
    const ready = remaining.filter((m) => this.stateOf(m).cooldownUntil <= now);
    if (ready.length === 0) {
      // Everything left is cooling down: the replica that comes back first is the best bet.
      return this.inRotationOrder(remaining).reduce((best, m) => (this.stateOf(m).cooldownUntil < this.stateOf(best).cooldownUntil ? m : best));
    }
    let pool = ready;
    if (this.config.strategy === 'least_in_flight') {
      const fewest = Math.min(...ready.map((m) => this.stateOf(m).inFlight));
      pool = ready.filter((m) => this.stateOf(m).inFlight === fewest);
    }
    const chosen = this.inRotationOrder(pool)[0]!;
    this.cursor = (chosen.index + 1) % this.members.length;
    return chosen;
  }

  protected override started(member: Member): void {
    this.stateOf(member).inFlight++;
  }

  protected override ended(member: Member): void {
    this.stateOf(member).inFlight--;
  }

  protected override succeeded(member: Member, startedAt: number): void {
    const state = this.stateOf(member);
    // An answer to a call started after the replica was taken out shows it has recovered.
    if (state.cooldownUntil !== 0 && state.cooledAt < startedAt) state.cooldownUntil = 0;
  }

  protected override failed(member: Member, error: unknown): void {
    if (!ProviderError.isInstance(error) || !error.retryable || this.config.cooldown <= 0) return;
    const state = this.stateOf(member);
    state.cooledAt = Date.now();
    state.cooldownUntil = state.cooledAt + this.config.cooldown * 1000;
    this.context.logger.warn(
      `profile "${this.profileName}": replica "${member.name}" out of rotation for ${this.config.cooldown} s after: ${describeFailure({ profile: member.name, error })}`,
    );
  }

  private stateOf(member: Member): ReplicaState {
    return this.state[member.index]!;
  }

  /** The members sorted by their distance from the round-robin cursor. */
  private inRotationOrder(members: readonly Member[]): Member[] {
    const n = this.members.length;
    const distance = (m: Member) => (m.index - this.cursor + n) % n;
    return [...members].sort((a, b) => distance(a) - distance(b));
  }
}
