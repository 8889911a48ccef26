import type { ProviderContext } from '@aegis/core';
import { CompositeProvider, type CompositeProviderConfig } from './composite.js';
import type { FallbackConfig } from './config.js';
import type { Member } from './members.js';

/**
 * `type: fallback`: every call tries the members in the order listed, until
 * one answers; members cooling down (after `cooldown_after` unhealthy
 * failures in a row) come after the others, soonest back first.
 */
export class FallbackProvider extends CompositeProvider<CompositeProviderConfig<FallbackConfig>> {
  constructor(config: CompositeProviderConfig<FallbackConfig>, context: ProviderContext, members: readonly Member[]) {
    super(config, context, members);
  }

  protected override pick(ready: readonly Member[]): Member {
    return ready[0]!;
  }
}
