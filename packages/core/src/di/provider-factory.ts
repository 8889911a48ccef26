import { tsyringe } from '../cjs.js';

const { inject, injectable } = tsyringe;
import type { RawProfile } from '../config/index.js';
import { validateProfile } from '../config/index.js';
import { ConfigurationError, type ConfigIssue } from '../errors/configuration-error.js';
import { PluginError } from '../errors/plugin-error.js';
import type { BackendProvider, ProviderContext } from '../contract/provider.js';
import type { BaseBackendConfig } from '../contract/base-config.js';
import type { Logger } from '../contract/logger.js';
import type { HttpClient } from '../http/client.js';
import type { AegisPlugin } from '../plugins/define-plugin.js';
import { schemaFromDescription } from '../plugins/description.js';
import { secretKeysOf } from '../secrets/secret-fields.js';
import type { SecretScrubber } from '../secrets/scrubber.js';
import type { SharedCooldowns } from '../contract/shared-cooldowns.js';
import { ConfigService } from './config-service.js';
import { PluginCatalog } from './plugin-catalog.js';
import { TOKENS } from './tokens.js';

export type ResolvedConfig = BaseBackendConfig & Record<string, unknown>;

/** Turns a profile name into a validated config and a provider, each built once. */
@injectable()
export class ProviderFactory {
  private readonly configs = new Map<string, Promise<{ plugin: AegisPlugin; config: ResolvedConfig }>>();
  private readonly providers = new Map<string, Promise<BackendProvider>>();
  /** Composite profiles being built → the profiles they wait for. */
  private readonly waitingOn = new Map<string, Set<string>>();

  constructor(
    @inject(ConfigService) private readonly configService: ConfigService,
    @inject(PluginCatalog) private readonly catalog: PluginCatalog,
    @inject(TOKENS.Http) private readonly http: HttpClient,
    @inject(TOKENS.Logger) private readonly logger: Logger,
    @inject(TOKENS.Secrets) private readonly secrets: SecretScrubber,
    @inject(TOKENS.Cooldowns) private readonly cooldowns: SharedCooldowns,
  ) {}

  /** The profile's validated config (defaults applied, `${VAR}` resolved). */
  async getBackendConfig(profileName: string): Promise<ResolvedConfig> {
    return (await this.resolve(profileName)).config;
  }

  async getProvider(profileName: string): Promise<BackendProvider> {
    return this.providerFor(profileName);
  }

  /**
   * `caller`: the profile whose provider asked for this one (a composite
   * profile). While it waits, the edge caller → profileName is recorded; a
   * request that would close a loop of such waits is a cycle, found whether
   * the builds run one inside the other or at the same time.
   */
  private providerFor(profileName: string, caller?: string): Promise<BackendProvider> {
    if (caller !== undefined) {
      const path = profileName === caller ? [caller] : this.waitPath(profileName, caller);
      if (path) return Promise.reject(this.cycleError(profileName, [...path, profileName]));
    }
    let provider = this.providers.get(profileName);
    if (!provider) {
      provider = this.build(profileName);
      this.providers.set(profileName, provider);
      provider.catch(() => this.providers.delete(profileName));
    }
    if (caller === undefined) return provider;
    const waits = this.waitingOn.get(caller) ?? new Set<string>();
    this.waitingOn.set(caller, waits.add(profileName));
    return provider.finally(() => {
      waits.delete(profileName);
      if (waits.size === 0) this.waitingOn.delete(caller);
    });
  }

  /** The profiles from `from` to `to` along recorded waits, if `from` waits (transitively) on `to`. */
  private waitPath(from: string, to: string, seen = new Set<string>()): string[] | undefined {
    seen.add(from);
    for (const next of this.waitingOn.get(from) ?? []) {
      if (next === to) return [from, to];
      if (seen.has(next)) continue;
      const rest = this.waitPath(next, to, seen);
      if (rest) return [from, ...rest];
    }
    return undefined;
  }

  private cycleError(profileName: string, cycle: string[]): ConfigurationError {
    const profile = this.configService.profile(profileName);
    return new ConfigurationError([{ file: profile.file, line: profile.line, profile: profileName, message: cycleMessage(cycle), cycle }]);
  }

  /** The plugin serving a profile and every problem with the profile, each once (empty when usable). */
  async check(profileName: string): Promise<{ plugin?: AegisPlugin; issues: ConfigIssue[] }> {
    let plugin: AegisPlugin | undefined;
    try {
      plugin = (await this.resolve(profileName)).plugin;
      // Building the provider is cheap (no network) and finds what only the plugin can:
      // references to other profiles, cycles between them.
      await this.getProvider(profileName);
      return { plugin, issues: [] };
    } catch (error) {
      if (ConfigurationError.isInstance(error)) {
        // A profile that does not validate (an unset variable, say) still has its plugin, whose schema says which fields are secret.
        plugin ??= await this.pluginOf(profileName);
        return { plugin, issues: error.issues.map((issue) => this.asSeenFrom(profileName, issue)) };
      }
      if (PluginError.isInstance(error)) {
        const profile = this.configService.profile(profileName);
        const field = plugin ? undefined : 'type';
        const at = plugin ? { line: profile.line } : this.position(profile, ['type']);
        // The issue carries file, line and profile itself: use the message without that prefix.
        const message = PluginError.isInstance(error.cause) ? error.cause.message : error.message;
        // No plugin, so no schema validation ran: the profile's own problems (an unset variable, say) come too.
        return { plugin, issues: [...profile.issues, { file: profile.file, ...at, profile: profileName, field, message }] };
      }
      throw error;
    }
  }

  /** The plugin of a profile whose `type` is usable, else undefined; never throws. */
  private async pluginOf(profileName: string): Promise<AegisPlugin | undefined> {
    const profile = this.configService.profile(profileName);
    if (typeUnusable(profile)) return undefined;
    return this.pluginFor(profile).catch(() => undefined);
  }

  /**
   * The problems of a profile found from its plugin's shipped description
   * (config JSON Schema), without importing any plugin code.
   */
  async checkWithoutImport(profileName: string): Promise<ConfigIssue[]> {
    const profile = this.configService.profile(profileName);
    if (typeUnusable(profile)) return profile.issues;
    try {
      const entry = await this.catalog.registry.describe(profile.type);
      const result = validateProfile(profile, schemaFromDescription(entry));
      return result.ok ? [] : result.issues;
    } catch (error) {
      if (!PluginError.isInstance(error)) throw error;
      return [{ file: profile.file, ...this.position(profile, ['type']), profile: profileName, field: 'type', message: error.message }];
    }
  }

  private resolve(profileName: string): Promise<{ plugin: AegisPlugin; config: ResolvedConfig }> {
    let entry = this.configs.get(profileName);
    if (!entry) {
      entry = this.validate(this.configService.profile(profileName));
      this.configs.set(profileName, entry);
    }
    return entry;
  }

  /**
   * A cycle found while building another profile of the same cycle is restated
   * for this one: each profile of a cycle is reported under its own name and line.
   */
  private asSeenFrom(profileName: string, issue: ConfigIssue): ConfigIssue {
    if (!issue.cycle || issue.profile === profileName || !issue.cycle.includes(profileName)) return issue;
    const loop = issue.cycle.slice(0, -1);
    const start = loop.indexOf(profileName);
    const cycle = [...loop.slice(start), ...loop.slice(0, start), profileName];
    const profile = this.configService.profile(profileName);
    return { file: profile.file, line: profile.line, profile: profileName, message: cycleMessage(cycle), cycle };
  }

  /** Line and column of a field of the profile, else the profile's own line. */
  private position(profile: RawProfile, path: readonly (string | number)[]): { line: number; column?: number } {
    return profile.locate(path) ?? { line: profile.line };
  }

  private async validate(profile: RawProfile): Promise<{ plugin: AegisPlugin; config: ResolvedConfig }> {
    // Without a usable `type` there is no plugin to ask: the type problem is the whole story.
    if (typeUnusable(profile)) throw new ConfigurationError(profile.issues);
    const plugin = await this.pluginFor(profile);
    const secretKeys = secretKeysOfSchema(plugin.configSchema);
    for (const key of secretKeys) this.secrets.add(profile.values[key]);
    const result = validateProfile(profile, plugin.configSchema);
    if (!result.ok) throw new ConfigurationError(result.issues);
    for (const key of secretKeys) this.secrets.add(result.config[key]);
    return { plugin, config: result.config as ResolvedConfig };
  }

  private async pluginFor(profile: RawProfile): Promise<AegisPlugin> {
    try {
      return await this.catalog.registry.resolve(profile.type);
    } catch (error) {
      if (!PluginError.isInstance(error)) throw error;
      const where = `${profile.file}:${this.position(profile, ['type']).line}: profile "${profile.name}": `;
      throw new PluginError(where + error.message, {
        kind: error.kind,
        type: error.type,
        packages: [...error.packages],
        cause: error,
      });
    }
  }

  private async build(profileName: string): Promise<BackendProvider> {
    // No provider runs with a connection pool other than the one backends.yaml asks for.
    const poolIssues = this.configService.config.http?.issues ?? [];
    if (poolIssues.length > 0) throw new ConfigurationError(poolIssues);
    const { plugin, config } = await this.resolve(profileName);
    const context: ProviderContext = {
      profileName,
      providerType: plugin.type,
      capabilities: plugin.capabilities,
      http: this.http,
      logger: this.logger,
      secrets: this.secrets,
      getProvider: (name) => this.providerFor(name, profileName),
      sharedCooldowns: this.cooldowns,
    };
    let provider: unknown;
    try {
      provider = await plugin.create(config, context);
    } catch (error) {
      if (ConfigurationError.isInstance(error)) throw this.located(profileName, error);
      if (PluginError.isInstance(error)) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      throw new PluginError(`plugin for type "${plugin.type}" failed to create a provider for profile "${profileName}": ${reason}`, {
        kind: 'invalid_plugin',
        type: plugin.type,
        cause: error,
      });
    }
    if (!isProvider(provider)) {
      throw new PluginError(
        `plugin for type "${plugin.type}" returned ${kindOf(provider)} from create() for profile "${profileName}", not a provider (an instance of a BackendProvider subclass)`,
        { kind: 'invalid_plugin', type: plugin.type },
      );
    }
    return provider;
  }

  /**
   * A plugin reports problems of its own profile by field (`profiles[1]`); core
   * knows where that field is in backends.yaml and fills in file and line.
   */
  private located(profileName: string, error: ConfigurationError): ConfigurationError {
    const profile = this.configService.profile(profileName);
    let changed = false;
    const issues = error.issues.map((issue) => {
      if (issue.line !== undefined || (issue.profile !== undefined && issue.profile !== profileName)) return issue;
      changed = true;
      const at = issue.field ? this.position(profile, fieldPath(issue.field)) : { line: profile.line };
      return { ...issue, file: profile.file, ...at, profile: profileName };
    });
    return changed ? new ConfigurationError(issues, { cause: error }) : error;
  }
}

/** `profiles[1].name` → ['profiles', 1, 'name']. */
function fieldPath(field: string): (string | number)[] {
  return field
    .split(/\.|\[(\d+)\]/)
    .filter((part) => part !== undefined && part !== '')
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}

function cycleMessage(cycle: readonly string[]): string {
  return `profiles refer to each other in a cycle: ${cycle.join(' → ')}`;
}

/**
 * True for what a provider is: an object with the contract's public methods.
 * Not `instanceof`: a plugin may extend the BackendProvider of another installed copy of core.
 */
function isProvider(value: unknown): value is BackendProvider {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return ['getCompletion', 'streamCompletion', 'getEmbeddings', 'supports'].every((method) => typeof v[method] === 'function');
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing (undefined)';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object without the provider methods (getCompletion, streamCompletion, ...)';
  return `a ${typeof value}`;
}

/** secretKeysOf, once per schema: a file of thousands of profiles of one type walks the schema once. */
const secretKeysCache = new WeakMap<object, Set<string>>();
function secretKeysOfSchema(schema: AegisPlugin['configSchema']): Set<string> {
  let keys = secretKeysCache.get(schema);
  if (!keys) secretKeysCache.set(schema, (keys = secretKeysOf(schema)));
  return keys;
}

/** Whether the profile's `type` has a problem of its own (missing, not a string): then there is no plugin to ask. */
function typeUnusable(profile: RawProfile): boolean {
  return profile.issues.some((issue) => issue.field === 'type');
}
