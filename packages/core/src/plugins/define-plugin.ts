import type { z } from 'zod';
import { PluginError } from '../errors/plugin-error.js';
import { BASE_CONFIG_KEYS } from '../contract/base-config.js';
import { isCapability, type Capability } from '../contract/capabilities.js';
import type { BackendProvider, ProviderContext } from '../contract/provider.js';

/**
 * The plugin API this core implements. A plugin states the version it was
 * written for. The contract grows without a new version where an API-1
 * plugin cannot tell the difference: new features (tools, reasoning, images,
 * structured output) are capabilities a plugin declares, and a provider that
 * does not declare one receives the same text-only messages and settings as
 * before (core flattens content parts and tool messages for it, and refuses
 * calls that need the feature). A plugin that declares a new capability is
 * refused by an older core as declaring an unknown capability.
 */
export const PLUGIN_API_VERSION = 1;

const MARKER = Symbol.for('aegis.plugin');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyConfigSchema = z.ZodObject<any>;

export interface PluginDefinition<S extends AnyConfigSchema = AnyConfigSchema> {
  /** The plugin API version this plugin was written for (`PLUGIN_API_VERSION`). */
  apiVersion: number;
  /** The `type:` value of the profiles this plugin serves. */
  type: string;
  /** Zod schema of a profile; must extend `BaseBackendConfig`. */
  configSchema: S;
  /** What the provider can do; every other operation throws CapabilityNotSupportedError. */
  capabilities: readonly Capability[];
  /** Builds a provider from a validated profile. */
  create(config: z.output<S>, context: ProviderContext): BackendProvider | Promise<BackendProvider>;
  /** One line shown by `aegis plugins`. */
  description?: string;
}

export type AegisPlugin<S extends AnyConfigSchema = AnyConfigSchema> = Readonly<PluginDefinition<S>> & {
  readonly [MARKER]: true;
};

/**
 * Declares a provider plugin: a plain, versioned object, checked here so a
 * mistake shows up when the author first runs it rather than in a user's app.
 */
export function definePlugin<S extends AnyConfigSchema>(definition: PluginDefinition<S>): AegisPlugin<S> {
  const problems = pluginProblems(definition);
  if (problems.length > 0) {
    throw new PluginError(`invalid plugin definition${typeLabel(definition)}: ${problems.join('; ')}`, {
      kind: 'invalid_plugin',
      type: typeof definition?.type === 'string' ? definition.type : undefined,
    });
  }
  return Object.freeze({ ...definition, capabilities: Object.freeze([...definition.capabilities]), [MARKER]: true as const });
}

/** True for a plugin made by `definePlugin` of any installed copy of core. */
export function isAegisPlugin(value: unknown): value is AegisPlugin {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true;
}

/** Everything wrong with a plugin object, as readable sentences (empty when it is fine). */
export function pluginProblems(definition: Partial<PluginDefinition> | undefined): string[] {
  if (typeof definition !== 'object' || definition === null) return ['a plugin must be an object'];
  const problems: string[] = [];
  if (typeof definition.apiVersion !== 'number') problems.push('"apiVersion" must be a number');
  if (typeof definition.type !== 'string' || !/^[a-z0-9][a-z0-9_.-]*$/i.test(definition.type)) {
    problems.push('"type" must be a non-empty string of letters, digits, "_", "-" or "."');
  }
  const shape = (definition.configSchema as { shape?: Record<string, unknown> } | undefined)?.shape;
  if (!shape) problems.push('"configSchema" must be a zod object schema');
  else {
    const missing = BASE_CONFIG_KEYS.filter((key) => !(key in shape));
    if (missing.length > 0) problems.push(`"configSchema" must extend BaseBackendConfig (missing: ${missing.join(', ')})`);
  }
  if (!Array.isArray(definition.capabilities) || definition.capabilities.length === 0) {
    problems.push('"capabilities" must be a non-empty array');
  } else {
    const unknown = definition.capabilities.filter((c) => !isCapability(c));
    if (unknown.length > 0) problems.push(`unknown capabilities: ${unknown.join(', ')}`);
  }
  if (typeof definition.create !== 'function') problems.push('"create" must be a function');
  return problems;
}

function typeLabel(definition: Partial<PluginDefinition> | undefined): string {
  return typeof definition?.type === 'string' ? ` for type "${definition.type}"` : '';
}
