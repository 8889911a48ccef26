import type { HttpClientOptions } from '../http/client.js';
import type { ConfigIssue } from '../errors/index.js';
import type { RawSection } from './sections.js';

export interface LoadConfigOptions {
  /** Explicit config file (`--config`). Else `AEGIS_BACKENDS`, else `<cwd>/backends.yaml`. */
  configPath?: string;
  /** Explicit env file (the CLI's `--dotenv`); must exist. Else `$AEGIS_ENV_FILE`, else `.env` beside the config file, if any. */
  envFile?: string;
  /** Directory relative paths are resolved against, and shown relative to. Default: `process.cwd()`. */
  cwd?: string;
  /** The real environment; it wins over the env file. Default: `process.env`. */
  env?: Record<string, string | undefined>;
}

/** One profile as written, after `${VAR}` interpolation and before validation. */
export interface RawProfile {
  name: string;
  /** The provider type; `''` when missing or not a string (then `issues` says so). */
  type: string;
  /** All keys incl. `profile_name` and `type`, after interpolation, as plain JS values. */
  values: Record<string, unknown>;
  /** The config file as shown in messages, and the line where the profile's mapping starts. */
  file: string;
  line: number;
  /** Position of a field (path relative to the profile), e.g. `['options', 'num_ctx']`. */
  locate(path: readonly (string | number)[]): { line: number; column: number } | undefined;
  /** Problems confined to this profile (missing variables, duplicate keys, missing type...). A profile with issues is unusable. */
  issues: ConfigIssue[];
  /** Values that came from environment variables, for secret scrubbing. */
  substitutedValues: string[];
}

export interface PluginSpec {
  /** Package name or path as written (relative paths are relative to the config file's directory). */
  spec: string;
  /** The config file as shown in messages, and the line of the entry. */
  file: string;
  line: number;
  /** Absolute directory relative `spec`s resolve against: the config file's directory. */
  baseDir: string;
}

export interface LoadedConfig {
  /** Absolute path of the config file. */
  file: string;
  /** The config file as shown in messages: relative to cwd when under it, else absolute. */
  displayFile: string;
  /** Absolute path of the env file read, when one was. */
  envFile?: string;
  /**
   * The values (not the names) defined in that env file, without empty ones and
   * duplicates; empty when no file was read. For secret scrubbing: an env file
   * mostly holds keys, so core treats all of them as secrets, but the names of
   * models (`CHAT_MODEL=llama3`: `isModelSetting`). Never log them.
   */
  envFileValues: string[];
  /**
   * The values of the variables the file substitutes (`${VAR}`), from the
   * process environment as from the env file, without empty ones and
   * duplicates, but those that are clearly settings (`isPlainSubstitution`: a
   * model's name, a host; `addEnvValue` leaves out `true` and port numbers). For
   * secret scrubbing, like `envFileValues`: a key in the environment is as
   * secret as one in `.env`, whatever field it is written into
   * (`Authorization: Bearer ${TOKEN}`, `?code=${KEY}`). Never log them.
   */
  substitutedSecrets: string[];
  plugins: PluginSpec[];
  /** The `allow_plugins:` list, when present: only these plugin packages and paths may be loaded. */
  allowPlugins?: PluginSpec[];
  /** Profiles that have a usable, unique name, in file order; each may still carry `issues`. */
  profiles: RawProfile[];
  /** Top-level sections read whole (`http:`, the gateway's `gateway:`), by key, when present. */
  sections?: Record<string, RawSection>;
  /**
   * The `http:` section, when there is one: its connection pool settings when
   * they are valid, else its problems (also among `issues`).
   */
  http?: { options?: HttpClientOptions; issues: ConfigIssue[] };
  /** File-level problems: bad root, bad plugins list, unknown top-level keys, entries without a usable name, duplicate names. */
  issues: ConfigIssue[];
}
