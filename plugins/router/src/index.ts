import { definePlugin, FEATURE_CAPABILITIES, OPERATION_CAPABILITIES, PLUGIN_API_VERSION, type AegisPlugin, type BaseBackendConfig } from '@aegis/core';
import { BalanceProvider } from './balance.js';
import { BalanceConfig, FallbackConfig } from './config.js';
import { FallbackProvider } from './fallback.js';
import { resolveMembers } from './members.js';

export { BalanceConfig, FallbackConfig, BALANCE_STRATEGIES, type BalanceStrategy } from './config.js';
export { FallbackProvider } from './fallback.js';
export { BalanceProvider } from './balance.js';
export { CompositeProvider, cooldownKey, isSwitchable, type MemberState } from './composite.js';
export { FallbackPolicy, failureKind, FAILURE_KINDS, DEFAULT_FALLBACK_ON, FallbackOnEntry, type FailureKind } from './fallback-on.js';
export { MembersFailedError, type MemberFailure } from './errors.js';
export type { Member } from './members.js';

/** A composite profile's `idle_timeout` is optional: Infinity tells the provider it was not set. */
function withIdleTimeout<C extends { idle_timeout?: number }>(config: C): Omit<C, 'idle_timeout'> & Pick<BaseBackendConfig, 'idle_timeout'> {
  return { ...config, idle_timeout: config.idle_timeout ?? Number.POSITIVE_INFINITY };
}

/** What a router can hand on to its members: every operation with a public method, and every feature of a completion. */
const ROUTED_CAPABILITIES = [...OPERATION_CAPABILITIES, ...FEATURE_CAPABILITIES];

/** `type: fallback`: members tried in order until one answers. */
export const fallbackPlugin = definePlugin({
  apiVersion: PLUGIN_API_VERSION,
  type: 'fallback',
  description: 'Tries other profiles in order until one answers (the failures in fallback_on and unsupported operations move on; members that keep failing are skipped for a cooldown)',
  configSchema: FallbackConfig,
  capabilities: ROUTED_CAPABILITIES,
  create: async (config, context) =>
    new FallbackProvider(withIdleTimeout(config), context, await resolveMembers(config.profile_name, config.profiles, context)),
});

/** `type: balance`: calls spread over replica profiles, failing replicas cooled down. */
export const balancePlugin = definePlugin({
  apiVersion: PLUGIN_API_VERSION,
  type: 'balance',
  description: 'Spreads calls over replica profiles (round robin or least in flight), cooling down failing replicas',
  configSchema: BalanceConfig,
  capabilities: ROUTED_CAPABILITIES,
  create: async (config, context) =>
    new BalanceProvider(withIdleTimeout(config), context, await resolveMembers(config.profile_name, config.profiles, context)),
});

/** The plugins of this package: `plugins: [...routerPlugins]`. */
const plugins: AegisPlugin[] = [fallbackPlugin, balancePlugin];
export default plugins;
