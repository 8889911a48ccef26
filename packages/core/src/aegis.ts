import type { DependencyContainer } from 'tsyringe';
import { tsyringe } from './cjs.js';
import type { AegisOptions } from './aegis-options.js';
import type { ChatMessage } from './contract/messages.js';
import type { BackendProvider } from './contract/provider.js';
import type { CompletionResult } from './contract/results.js';
import type { RuntimeExecutionConfig } from './contract/runtime.js';
import type { Logger } from './contract/logger.js';
import type { Capability } from './contract/capabilities.js';
import { ConfigService } from './di/config-service.js';
import { PluginCatalog } from './di/plugin-catalog.js';
import { ProviderFactory, type ResolvedConfig } from './di/provider-factory.js';
import { TOKENS } from './di/tokens.js';
import { CooldownRelay } from './di/cooldown-relay.js';
import type { SharedCooldowns } from './contract/shared-cooldowns.js';
import type { ConfigIssue } from './errors/configuration-error.js';
import type { RawSection } from './config/sections.js';
import { ConfigurationError } from './errors/configuration-error.js';
import { HttpClient } from './http/client.js';
import { ConsoleLogger, parseLogLevel } from './log/console-logger.js';
import { ScrubbingLogger } from './log/scrubbing-logger.js';
import { looksLikeCredential, redactValues, secretKeysOf } from './secrets/secret-fields.js';
import { SecretScrubber } from './secrets/scrubber.js';
import type { PluginSource } from './plugins/source.js';
import type { AegisPlugin } from './plugins/define-plugin.js';
import { backendsJsonSchema } from './plugins/json-schema.js';

export interface ProfileSummary {
  name: string;
  type: string;
  file: string;
  line: number;
  description?: string;
  usable: boolean;
  /** Why it is not usable. */
  issues: ConfigIssue[];
  /** The profile's values with every secret replaced by `***`. */
  values: Record<string, unknown>;
  /** The fields that hold secrets: those the plugin marks secret, and credential-named ones. */
  secretFields: string[];
}

export interface PluginSummary {
  name: string;
  version?: string;
  origin: PluginSource['origin'];
  location?: string;
  types: string[];
  capabilities: Partial<Record<string, readonly Capability[]>>;
  description?: string;
  /** Why it cannot be used, when it cannot. */
  error?: string;
}

/**
 * One AEGIS instance: its own configuration, plugins, HTTP agents and
 * providers, held in its own tsyringe child container.
 */
export class Aegis {
  readonly container: DependencyContainer;
  /** The instance's HTTP client, once made (see the constructor). */
  private http?: HttpClient;

  constructor(options: AegisOptions = {}) {
    const env = options.env ?? process.env;
    const secrets = new SecretScrubber();
    // Whatever logger is used, everything handed to it is scrubbed first.
    const logger = new ScrubbingLogger(options.logger ?? new ConsoleLogger(options.logLevel ?? parseLogLevel(env.AEGIS_LOG_LEVEL)), secrets);
    this.container = tsyringe.container.createChildContainer();
    this.container.register(TOKENS.Options, { useValue: { ...options, env } });
    this.container.register(TOKENS.Secrets, { useValue: secrets });
    this.container.register(TOKENS.Logger, { useValue: logger });
    // Made when a provider is first built, once backends.yaml is read: its `http:` section sets the
    // pool over the application's defaults; options given in code come first.
    this.container.register(TOKENS.Http, {
      useFactory: tsyringe.instanceCachingFactory(
        () => (this.http = new HttpClient({ ...options.httpDefaults, ...this.configService.tryConfig()?.http?.options, ...options.http })),
      ),
    });
    const cooldowns = new CooldownRelay(logger);
    if (options.sharedCooldowns) cooldowns.attach(options.sharedCooldowns);
    this.container.register(TOKENS.Cooldowns, { useValue: cooldowns });
    this.container.registerSingleton(ConfigService);
    this.container.registerSingleton(PluginCatalog);
    this.container.registerSingleton(ProviderFactory);
  }

  private get factory(): ProviderFactory {
    return this.container.resolve(ProviderFactory);
  }

  private get configService(): ConfigService {
    return this.container.resolve(ConfigService);
  }

  get logger(): Logger {
    return this.container.resolve<Logger>(TOKENS.Logger);
  }

  /** Path of the backends.yaml in use. */
  get configFile(): string {
    return this.configService.config.file;
  }

  /** The names of the profiles in backends.yaml, in file order. */
  profileNames(): string[] {
    return this.configService.profileNames();
  }

  /**
   * A top-level section of backends.yaml that another package owns (the
   * gateway's `gateway:`): located and interpolated, not validated (see
   * `validateSection`); undefined when the file has none. Values from the
   * environment may be secrets: never print them.
   */
  configSection(name: string): RawSection | undefined {
    return this.configService.config.sections?.[name];
  }

  /** The validated configuration of a profile (defaults applied, `${VAR}` resolved). Contains secrets: do not print it; use `profiles()`. */
  getBackendConfig(profileName: string): Promise<ResolvedConfig> {
    return this.factory.getBackendConfig(profileName);
  }

  /** The provider of a profile, built once and reused. */
  getProviderForProfile(profileName: string): Promise<BackendProvider> {
    return this.factory.getProvider(profileName);
  }

  /** Shortcut: a completion from a profile, from a prompt or a message list. */
  async getCompletion(
    profileName: string,
    messages: ChatMessage[] | string,
    runtimeConfig?: RuntimeExecutionConfig,
  ): Promise<CompletionResult> {
    const provider = await this.getProviderForProfile(profileName);
    return provider.getCompletion(typeof messages === 'string' ? [{ role: 'user', content: messages }] : messages, runtimeConfig);
  }

  /** Every profile of backends.yaml, whether it is usable, and its values with secrets redacted. */
  async profiles(): Promise<ProfileSummary[]> {
    const config = this.configService.config;
    return Promise.all(
      config.profiles.map(async (profile) => {
        const { plugin, issues } = await this.factory.check(profile.name);
        const secretKeys = plugin ? secretKeysOf(plugin.configSchema) : new Set<string>();
        const values = redactValues(profile.values, secretKeys);
        return {
          name: profile.name,
          type: profile.type,
          file: profile.file,
          line: profile.line,
          description: typeof values.description === 'string' ? values.description : undefined,
          usable: issues.length === 0,
          issues,
          values,
          secretFields: Object.keys(profile.values).filter((key) => secretKeys.has(key) || looksLikeCredential(key)),
        };
      }),
    );
  }

  /**
   * Every problem of the configuration: file-level ones, `plugins:` entries and
   * each profile's. With `importPlugins: false`, profiles are checked against
   * the descriptions plugins ship (config JSON Schemas) and no plugin code runs;
   * what only code can find (references between profiles) is then not checked.
   */
  async validate(options: { importPlugins?: boolean } = {}): Promise<ConfigIssue[]> {
    const config = this.configService.config;
    const catalog = this.container.resolve(PluginCatalog);
    const issues: ConfigIssue[] = [...config.issues, ...catalog.issues];
    if (options.importPlugins === false) {
      for (const profile of config.profiles) issues.push(...(await this.factory.checkWithoutImport(profile.name)));
      return issues;
    }
    // A local plugin file named under `plugins:` has no manifest: it must load to tell its types.
    for (const source of catalog.registry.sources.filter((s) => s.declaredAt && s.types.length === 0)) {
      await source.load().catch((error: Error) => issues.push({ ...source.declaredAt, field: 'plugins', message: error.message }));
    }
    for (const profile of await this.profiles()) issues.push(...profile.issues);
    return withoutRepeats(issues);
  }

  /** Throws one ConfigurationError with every problem, if there is any. */
  async assertValid(): Promise<void> {
    const issues = await this.validate();
    if (issues.length > 0) throw new ConfigurationError(issues);
  }

  /** Problems with the `plugins:` list of backends.yaml (an entry not found, not a plugin, not allowed), each at its line. */
  pluginIssues(): ConfigIssue[] {
    return [...this.container.resolve(PluginCatalog).issues];
  }

  /**
   * The plugins this application can use, with their types and capabilities:
   * from the description a plugin ships, else by importing it.
   */
  async plugins(): Promise<PluginSummary[]> {
    const catalog = this.container.resolve(PluginCatalog);
    const registry = catalog.registry;
    const conflicts = registry.conflicts();
    const listed = await Promise.all(
      registry.sources.map(async (source): Promise<PluginSummary> => {
        const { providers = [], error } = await registry.inspect(source);
        const conflict = conflicts.find((c) => c.sources.includes(source));
        const others = conflict?.sources.filter((s) => s !== source).map((s) => s.name);
        return {
          ...where(source),
          types: error ? [...source.types] : providers.map((p) => p.type),
          capabilities: Object.fromEntries(providers.map((p) => [p.type, p.capabilities])),
          description: providers.map((p) => p.description).filter(Boolean).join('; ') || undefined,
          error: error?.message ?? source.problem ?? (conflict ? `type "${conflict.type}" is also claimed by ${others!.join(', ')}` : undefined),
        };
      }),
    );
    const blocked = catalog.blocked.map(({ source, reason }): PluginSummary => ({
      ...where(source),
      types: [...source.types],
      capabilities: {},
      error: `not loaded: ${reason}`,
    }));
    return [...listed, ...blocked];
  }

  /**
   * A JSON Schema for backends.yaml built from every usable plugin's config
   * schema, for editors (`# yaml-language-server: $schema=...`).
   */
  async jsonSchema(): Promise<Record<string, unknown>> {
    const installed = await this.container.resolve(PluginCatalog).registry.loadAll();
    const byType = new Map<string, AegisPlugin>();
    for (const { plugins } of installed) for (const plugin of plugins ?? []) if (!byType.has(plugin.type)) byType.set(plugin.type, plugin);
    return backendsJsonSchema([...byType.values()].sort((a, b) => a.type.localeCompare(b.type)));
  }

  /** Removes every secret this instance knows from a text. */
  redact(text: string): string {
    return this.secrets.scrub(text);
  }

  /**
   * The instance's secret scrubber: every secret of its configuration. Use
   * `secrets.createStreamScrubber()` to scrub text sent on in pieces (SSE, a terminal).
   */
  get secrets(): SecretScrubber {
    return this.container.resolve<SecretScrubber>(TOKENS.Secrets);
  }

  /**
   * Shares cooldowns with other processes from now on (instead of the board
   * given before, if any): the providers already built are connected to it
   * too. For an application that learns where the shared state lives only
   * from the configuration (the gateway's `redis_url`). Returns the function
   * that detaches it; closing the instance does too.
   */
  shareCooldowns(board: SharedCooldowns): () => void {
    return this.container.resolve<CooldownRelay>(TOKENS.Cooldowns).attach(board);
  }

  /** Closes kept-alive connections and ends the providers' subscriptions to shared cooldowns. */
  close(): void {
    this.container.resolve<CooldownRelay>(TOKENS.Cooldowns).close();
    this.http?.destroy();
  }
}

/** Each problem once: a file-level one (the `http:` section's) also stops every profile's provider, which reports it again. */
function withoutRepeats(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = JSON.stringify([issue.file, issue.line, issue.column, issue.field, issue.message]);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function createAegis(options: AegisOptions = {}): Aegis {
  return new Aegis(options);
}

// ---- the seed's module-level API, on a default instance ---------------------------

let defaultInstance: Aegis | undefined;

/** The default instance, created on first use from the environment and `./backends.yaml`. */
export function getDefaultAegis(): Aegis {
  defaultInstance ??= new Aegis();
  return defaultInstance;
}

/** Replaces the default instance (e.g. to point it at another backends.yaml). */
export function configureAegis(options: AegisOptions = {}): Aegis {
  defaultInstance?.close();
  defaultInstance = new Aegis(options);
  return defaultInstance;
}

export function getBackendConfig(profileName: string): Promise<ResolvedConfig> {
  return getDefaultAegis().getBackendConfig(profileName);
}

export function getProviderForProfile(profileName: string): Promise<BackendProvider> {
  return getDefaultAegis().getProviderForProfile(profileName);
}

function where(source: PluginSource): Pick<PluginSummary, 'name' | 'version' | 'origin' | 'location'> {
  return { name: source.name, version: source.version, origin: source.origin, location: source.location };
}
