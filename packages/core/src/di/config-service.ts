import { tsyringe } from '../cjs.js';

const { inject, injectable } = tsyringe;
import { dirname } from 'node:path';
import { loadConfig, suggest, type LoadedConfig, type RawProfile } from '../config/index.js';
import { ConfigurationError } from '../errors/configuration-error.js';
import { TOKENS } from './tokens.js';
import type { AegisOptions } from '../aegis-options.js';
import type { SecretScrubber } from '../secrets/scrubber.js';

/** Loads backends.yaml and .env once, on first use, and finds profiles by name. */
@injectable()
export class ConfigService {
  private loaded?: LoadedConfig;
  /** Profiles by name: a lookup per profile must not walk the list (100,000 profiles would be quadratic). */
  private byName?: Map<string, RawProfile>;

  constructor(
    @inject(TOKENS.Options) private readonly options: AegisOptions,
    @inject(TOKENS.Secrets) private readonly secrets: SecretScrubber,
  ) {}

  get config(): LoadedConfig {
    if (!this.loaded) {
      this.loaded = loadConfig({
        configPath: this.options.configPath,
        envFile: this.options.envFile,
        cwd: this.options.cwd,
        env: this.options.env,
      });
      this.rememberSecrets(this.loaded);
    }
    return this.loaded;
  }

  /** The configuration, or undefined when it cannot be loaded (for commands that can work without it). */
  tryConfig(): LoadedConfig | undefined {
    try {
      return this.config;
    } catch (error) {
      if (ConfigurationError.isInstance(error)) return undefined;
      throw error;
    }
  }

  /**
   * Values of the .env file, values substituted from the environment and
   * credential-named values of every profile are secrets before any plugin
   * schema is known, so no output of any command shows them. Fields a plugin
   * marks secret are added when its profiles are validated.
   */
  private rememberSecrets(config: LoadedConfig): void {
    // .env is where secrets live: none of its values is ever shown (of a URL, which errors must name, its credentials).
    for (const value of config.envFileValues) this.secrets.addEnvValue(value);
    // A `${VAR}` of the process environment is judged the same way, whatever field it sits in: of
    // `Authorization: Bearer ${TOKEN}` or `?code=${KEY}` the bare value is learnt, not only the whole field.
    for (const value of config.substitutedSecrets) this.secrets.addEnvValue(value);
    for (const profile of config.profiles) this.secrets.addFromValues(profile.values);
  }

  get configDir(): string | undefined {
    const config = this.tryConfig();
    return config && dirname(config.file);
  }

  profileNames(): string[] {
    return this.config.profiles.map((p) => p.name);
  }

  /** The raw profile, or a ConfigurationError naming the file and the profiles there are. */
  profile(name: string): RawProfile {
    this.byName ??= new Map(this.config.profiles.map((p) => [p.name, p]));
    const found = this.byName.get(name);
    if (found) return found;
    const names = this.profileNames();
    const guess = suggest(name, names);
    const hint = guess ? ` Did you mean "${guess}"?` : '';
    throw new ConfigurationError([
      {
        file: this.config.displayFile,
        profile: name,
        message: `no profile named "${name}".${hint} Profiles in this file: ${names.length ? names.join(', ') : '(none)'}`,
      },
    ]);
  }
}
