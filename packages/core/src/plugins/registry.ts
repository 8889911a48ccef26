import { suggest } from '../config/index.js';
import { PluginError } from '../errors/plugin-error.js';
import { PLUGIN_API_VERSION, type AegisPlugin } from './define-plugin.js';
import type { PluginSource } from './source.js';
import type { ProviderDescription } from './description.js';
import type { Capability } from '../contract/capabilities.js';

export interface InstalledPlugin {
  source: PluginSource;
  /** Set once loaded (by `loadAll`). */
  plugins?: AegisPlugin[];
  error?: PluginError;
}

/**
 * Knows which source provides which provider type, and imports a plugin only
 * when a profile of its type is first used, once. Plugins passed in code win
 * over discovered packages; two discovered packages claiming one type is an error.
 */
export class PluginRegistry {
  private readonly byType = new Map<string, PluginSource[]>();
  private readonly bareFiles: PluginSource[] = [];
  private bareFilesLoaded?: Promise<void>;
  private readonly bareFileErrors: Error[] = [];
  private readonly resolved = new Map<string, Promise<AegisPlugin>>();

  constructor(
    readonly sources: readonly PluginSource[],
    /** Plugins found but not allowed, to explain an unknown type. */
    private readonly blocked: readonly { source: PluginSource; reason: string }[] = [],
    /** Installable plugin packages by the type they provide (`AegisOptions.knownPlugins`), to name one for an unknown type. */
    private readonly knownPlugins: Readonly<Record<string, string>> = {},
  ) {
    for (const source of sources) {
      if (source.types.length === 0 && !source.problem) this.bareFiles.push(source);
      for (const type of source.types) this.index(type, source);
    }
  }

  /** Provider types known so far (bare local files count once they are loaded). */
  types(): string[] {
    return [...this.byType.keys()].sort();
  }

  /** The plugin for a type: imported on first request, the same promise afterwards. */
  resolve(type: string): Promise<AegisPlugin> {
    let promise = this.resolved.get(type);
    if (!promise) {
      promise = this.load(type);
      this.resolved.set(type, promise);
    }
    return promise;
  }

  /** Imports every plugin (for listings); failures are reported per source, not thrown. */
  async loadAll(): Promise<InstalledPlugin[]> {
    return Promise.all(
      this.sources.map(async (source) => {
        try {
          checkApiVersion(source.apiVersion, source);
          return { source, plugins: await source.load() };
        } catch (error) {
          return { source, error: error as PluginError };
        }
      }),
    );
  }

  /**
   * What a source provides: from the description it ships (no import), else
   * from its code. Failures are returned, not thrown, for listings.
   */
  async inspect(source: PluginSource): Promise<{ providers?: { type: string; capabilities: readonly Capability[]; description?: string }[]; error?: PluginError }> {
    try {
      checkApiVersion(source.apiVersion, source);
      const shipped = source.description();
      if (shipped) return { providers: Object.entries(shipped.providers).map(([type, p]) => ({ type, ...p })) };
      return { providers: await source.load() };
    } catch (error) {
      return { error: error as PluginError };
    }
  }

  /** Types claimed by more than one discovered package. */
  conflicts(): { type: string; sources: PluginSource[] }[] {
    return [...this.byType.entries()]
      .map(([type, list]) => ({ type, sources: list.filter((s) => s.origin !== 'code') }))
      .filter((entry) => entry.sources.length > 1 && !this.byType.get(entry.type)!.some((s) => s.origin === 'code'));
  }

  private index(type: string, source: PluginSource): void {
    const list = this.byType.get(type) ?? [];
    list.push(source);
    this.byType.set(type, list);
  }

  private async loadBareFiles(): Promise<void> {
    this.bareFilesLoaded ??= (async () => {
      for (const source of this.bareFiles) {
        try {
          for (const plugin of await source.load()) this.index(plugin.type, source);
        } catch (error) {
          // Its types are unknown: an unknown type says this file may be the reason.
          this.bareFileErrors.push(error as Error);
        }
      }
    })();
    return this.bareFilesLoaded;
  }

  /**
   * The shipped description of a type's provider, found with all the checks of
   * loading (unknown type, two claimants, apiVersion) but without importing code.
   */
  async describe(type: string): Promise<ProviderDescription> {
    const source = await this.sourceFor(type);
    let shipped: ReturnType<PluginSource['description']>;
    try {
      shipped = source.description();
    } catch (error) {
      if (!PluginError.isInstance(error)) throw error;
      throw new PluginError(`${label(source)}: ${error.message}`, { kind: 'invalid_plugin', type, packages: [source.name], cause: error });
    }
    const entry = shipped?.providers[type];
    if (!entry) {
      throw new PluginError(`${label(source)} ships no description of type "${type}" (capabilities and config schema), so it cannot be checked without importing it`, {
        kind: 'invalid_plugin',
        type,
        packages: [source.name],
      });
    }
    return entry;
  }

  private async load(type: string): Promise<AegisPlugin> {
    const source = await this.sourceFor(type);
    const plugins = await source.load();
    const plugin = plugins.find((p) => p.type === type);
    if (!plugin) {
      throw new PluginError(
        `${label(source)} announces provider type "${type}" in its package.json but exports only: ${plugins.map((p) => p.type).join(', ') || 'nothing'}`,
        { kind: 'invalid_plugin', type, packages: [source.name] },
      );
    }
    checkApiVersion(plugin.apiVersion, source);
    return plugin;
  }

  /** The one usable source of a type, or the PluginError that says why there is none. */
  private async sourceFor(type: string): Promise<PluginSource> {
    if (!this.byType.has(type)) await this.loadBareFiles();
    const candidates = this.byType.get(type) ?? [];
    const inCode = candidates.find((s) => s.origin === 'code');
    if (candidates.length === 0) throw this.unknownType(type);
    if (!inCode && candidates.length > 1) {
      const names = candidates.map(label);
      throw new PluginError(
        `provider type "${type}" is claimed by ${candidates.length} plugins: ${names.join(' and ')}; uninstall one, or keep only one under "plugins:" in backends.yaml`,
        { kind: 'duplicate_type', type, packages: candidates.map((s) => s.name) },
      );
    }
    const source = inCode ?? candidates[0]!;
    if (source.problem) {
      throw new PluginError(`${label(source)} cannot be used: ${source.problem}`, {
        kind: 'invalid_plugin',
        type,
        packages: [source.name],
      });
    }
    checkApiVersion(source.apiVersion, source);
    return source;
  }

  private unknownType(type: string): PluginError {
    const refused = this.blocked.find((b) => b.source.types.includes(type));
    if (refused) {
      return new PluginError(`provider type "${type}" comes from ${label(refused.source)}, which is not loaded: ${refused.reason}`, {
        kind: 'not_allowed',
        type,
        packages: [refused.source.name],
      });
    }
    const installed = this.types();
    const bareFileHints = this.bareFileErrors.map((e) => ` (It may come from a plugin that could not be loaded: ${e.message})`).join('');
    const listed = ` Installed types: ${installed.length ? installed.join(', ') : '(none)'}.`;
    // A package name is never built from what was typed: only a close installed type, or a known plugin, is named.
    const guess = suggest(type, installed);
    if (guess) {
      return new PluginError(`unknown provider type "${type}". Did you mean "${guess}"?${bareFileHints}${listed}`, { kind: 'not_found', type });
    }
    const knownTypes = Object.keys(this.knownPlugins).filter((t) => !installed.includes(t));
    const known = Object.hasOwn(this.knownPlugins, type) ? type : suggest(type, knownTypes);
    const install =
      known === undefined
        ? ` Install the plugin package that provides it (its README names its types), or list a local plugin under "plugins:" in backends.yaml.`
        : known === type
          ? ` It is provided by the plugin package ${this.knownPlugins[known]}: npm install ${this.knownPlugins[known]}`
          : ` Did you mean "${known}"? It is provided by the plugin package ${this.knownPlugins[known]}: npm install ${this.knownPlugins[known]}`;
    return new PluginError(
      `unknown provider type "${type}": no installed plugin provides it.${bareFileHints}${listed}${install}`,
      { kind: 'not_found', type },
    );
  }
}

/** How a source is named in messages: `package "name"@1.2.3 (/path)`. */
function label(source: PluginSource): string {
  const where = source.location && source.origin !== 'code' ? ` (${source.location})` : '';
  const kind = source.origin === 'package' ? 'package' : 'plugin';
  return `${kind} "${source.name}"${source.version ? '@' + source.version : ''}${where}`;
}

function checkApiVersion(version: number | undefined, source: PluginSource): void {
  if (version === undefined || version === PLUGIN_API_VERSION) return;
  throw new PluginError(
    `${label(source)} is written for plugin API version ${version}, but this @aegis/core implements version ${PLUGIN_API_VERSION}; ` +
      `install a release of it made for API ${PLUGIN_API_VERSION}, or a @aegis/core that implements API ${version}`,
    { kind: 'incompatible_api', packages: [source.name] },
  );
}
