import { tsyringe } from '../cjs.js';

const { inject, injectable } = tsyringe;
import { discoverPlugins, findAppRoot, type BlockedSource } from '../plugins/discovery.js';
import { PluginRegistry } from '../plugins/registry.js';
import type { ConfigIssue } from '../errors/configuration-error.js';
import type { AegisOptions } from '../aegis-options.js';
import { ConfigService } from './config-service.js';
import { TOKENS } from './tokens.js';

/** Discovers the installed plugins once, on first use, and holds the registry. */
@injectable()
export class PluginCatalog {
  private state?: { registry: PluginRegistry; blocked: BlockedSource[]; issues: ConfigIssue[] };

  constructor(
    @inject(TOKENS.Options) private readonly options: AegisOptions,
    @inject(ConfigService) private readonly configService: ConfigService,
  ) {}

  get registry(): PluginRegistry {
    return this.discover().registry;
  }

  /** Plugins found but not allowed by `allow_plugins:`. */
  get blocked(): BlockedSource[] {
    return this.discover().blocked;
  }

  /** Problems with the `plugins:` list of backends.yaml. */
  get issues(): ConfigIssue[] {
    return this.discover().issues;
  }

  private discover(): { registry: PluginRegistry; blocked: BlockedSource[]; issues: ConfigIssue[] } {
    if (!this.state) {
      const cwd = this.options.cwd ?? process.cwd();
      // Listing plugins works without a backends.yaml; its `plugins:` entries are added when there is one.
      const config = this.configService.tryConfig();
      const toEntry = (p: { spec: string; file: string; line: number }) => ({ spec: p.spec, file: p.file, line: p.line });
      const { sources, blocked, issues } = discoverPlugins({
        appRoot: this.options.discover === false ? undefined : findAppRoot(cwd),
        configDir: this.configService.configDir,
        configPlugins: (config?.plugins ?? []).map(toEntry),
        allow: config?.allowPlugins?.map(toEntry),
        codePlugins: this.options.plugins,
        importTimeoutMs: importTimeout(this.options),
      });
      this.state = { registry: new PluginRegistry(sources, blocked, this.options.knownPlugins), blocked, issues };
    }
    return this.state;
  }
}

/** Environment variable that sets how long a plugin's import may take, in milliseconds. */
export const PLUGIN_IMPORT_TIMEOUT_VAR = 'AEGIS_PLUGIN_IMPORT_TIMEOUT_MS';

/** `pluginImportTimeoutMs`, else AEGIS_PLUGIN_IMPORT_TIMEOUT_MS, else the default. */
function importTimeout(options: AegisOptions): number | undefined {
  if (options.pluginImportTimeoutMs !== undefined) return options.pluginImportTimeoutMs;
  const fromEnv = (options.env ?? process.env)[PLUGIN_IMPORT_TIMEOUT_VAR];
  const ms = fromEnv === undefined ? NaN : Number(fromEnv);
  return Number.isFinite(ms) && ms > 0 ? ms : undefined;
}
