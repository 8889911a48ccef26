import type { ProviderContext } from '@aegis/core';
import { CompositeProvider, type CompositeProviderConfig } from './composite.js';
import type { BalanceConfig } from './config.js';
import type { Member } from './members.js';

/**
 * `type: balance`: spreads calls over replicas (round robin, or the one with
 * the fewest calls in flight). A replica with `cooldown_after` (default 1)
 * unhealthy failures in a row (connection, timeout, 429, 5xx, truncated) is
 * out of rotation for `cooldown` seconds, and the call goes on to another
 * replica (per `fallback_on`); when every replica left is cooling down, the
 * one whose cooldown ends first is used rather than failing the call outright.
 */
export class BalanceProvider extends CompositeProvider<CompositeProviderConfig<BalanceConfig>> {
  /** Index of the replica round robin starts looking at. */
  private cursor = 0;

  constructor(config: CompositeProviderConfig<BalanceConfig>, context: ProviderContext, members: readonly Member[]) {
    super(config, context, members);
  }

  /** A snapshot of each replica's state (for diagnostics and tests). */
  replicas(now = this.now()): { profile: string; inFlight: number; coolingDownForMs: number }[] {
    return this.memberStates(now).map(({ profile, inFlight, coolingDownForMs }) => ({ profile, inFlight, coolingDownForMs }));
  }

  protected override pick(ready: readonly Member[]): Member {
    let pool = ready;
    if (this.config.strategy === 'least_in_flight') {
      const fewest = Math.min(...ready.map((m) => this.stateOf(m).inFlight));
      pool = ready.filter((m) => this.stateOf(m).inFlight === fewest);
    }
    const chosen = this.inRotationOrder(pool)[0]!;
    this.cursor = (chosen.index + 1) % this.members.length;
    return chosen;
  }

  /** The members sorted by their distance from the round-robin cursor. */
  private inRotationOrder(members: readonly Member[]): Member[] {
    const n = this.members.length;
    const distance = (m: Member) => (m.index - this.cursor + n) % n;
    return [...members].sort((a, b) => distance(a) - distance(b));
  }
}
