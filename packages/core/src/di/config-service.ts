import { inject, injectable } from 'tsyringe';
import { dirname } from 'node:path';
import { loadConfig, type LoadedConfig, type RawProfile } from '../config/index.js';
import { ConfigurationError } from '../errors/configuration-error.js';
import { closest, distance } from 'fastest-levenshtein';
import { TOKENS } from './tokens.js';
import type { AegisOptions } from '../aegis-options.js';

/** Loads backends.yaml and .env once, on first use, and finds profiles by name. */
@injectable()
export class ConfigService {
  private loaded?: LoadedConfig;

  constructor(@inject(TOKENS.Options) private readonly options: AegisOptions) {}

  get config(): LoadedConfig {
    this.loaded ??= loadConfig({
      configPath: this.options.configPath,
      envFile: this.options.envFile,
      cwd: this.options.cwd,
      env: this.options.env,
    });
    return this.loaded;
  }

  get configDir(): string {
    return dirname(this.config.file);
  }

  profileNames(): string[] {
    return this.config.profiles.map((p) => p.name);
  }

  /** The raw profile, or a ConfigurationError naming the file and the profiles there are. */
  profile(name: string): RawProfile {
    const found = this.config.profiles.find((p) => p.name === name);
    if (found) return found;
    const names = this.profileNames();
    const guess = names.length > 0 ? closest(name, names) : undefined;
    const hint = guess !== undefined && distance(name, guess) <= Math.max(2, Math.floor(name.length / 3)) ? ` Did you mean "${guess}"?` : '';
    throw new ConfigurationError([
      {
        file: this.config.displayFile,
        profile: name,
        message: `no profile named "${name}".${hint} Profiles in this file: ${names.length ? names.join(', ') : '(none)'}`,
      },
    ]);
  }
}
