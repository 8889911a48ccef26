import fs from 'node:fs';
import path from 'node:path';
import { ConfigurationError } from '../errors/index.js';
import { displayPath, isRegularFile } from './paths.js';

/** Environment variable naming the config file when no explicit path is given. */
export const CONFIG_ENV_VAR = 'AEGIS_BACKENDS';
/** File looked for in the working directory when nothing else names one. */
export const DEFAULT_CONFIG_FILE = 'backends.yaml';

export interface LocateConfigOptions {
  /** Explicit path (`--config`), relative to `cwd` or absolute. */
  configPath?: string;
  /** Directory relative paths are resolved against. Default: `process.cwd()`. */
  cwd?: string;
  /** Environment to read `AEGIS_BACKENDS` from. Default: `process.env`. */
  env?: Record<string, string | undefined>;
}

/** Where the config file path came from. */
export type ConfigSource = 'explicit' | 'env' | 'default';

export interface ConfigLocation {
  /** Absolute path of the config file. */
  file: string;
  source: ConfigSource;
}

const HOW: Record<ConfigSource, string> = {
  explicit: 'from --config',
  env: `from ${CONFIG_ENV_VAR}`,
  default: `the default: ${DEFAULT_CONFIG_FILE} in the current directory`,
};

/** Like {@link locateConfigFile}, also telling where the path came from. */
export function locateConfig(options: LocateConfigOptions = {}): ConfigLocation {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const env = options.env ?? process.env;
  const fromEnv = env[CONFIG_ENV_VAR];
  let location: ConfigLocation;
  if (options.configPath !== undefined && options.configPath !== '') {
    location = { file: path.resolve(cwd, options.configPath), source: 'explicit' };
  } else if (fromEnv !== undefined && fromEnv.trim() !== '') {
    location = { file: path.resolve(cwd, fromEnv.trim()), source: 'env' };
  } else {
    location = { file: path.join(cwd, DEFAULT_CONFIG_FILE), source: 'default' };
  }

  const shown = displayPath(location.file, cwd);
  const how = HOW[location.source];
  let stat: fs.Stats | undefined;
  try {
    stat = fs.statSync(location.file);
  } catch {
    stat = undefined;
  }
  if (!stat) {
    throw new ConfigurationError(
      `no config file ${location.file} (${how}); pass --config <file> or set ${CONFIG_ENV_VAR}${location.source === 'default' ? earlierLayoutHint(cwd) : ''}`,
    );
  }
  if (!stat.isFile()) {
    throw new ConfigurationError(
      `${shown} (${how}) is not a file; pass --config <file> or set ${CONFIG_ENV_VAR} to a backends.yaml file`,
    );
  }
  return location;
}

/**
 * The absolute path of the config file: the explicit path, else `AEGIS_BACKENDS`,
 * else `<cwd>/backends.yaml`. Throws a {@link ConfigurationError} naming the path
 * and how it was chosen when there is no such file.
 */
export function locateConfigFile(options: LocateConfigOptions = {}): string {
  return locateConfig(options).file;
}

/**
 * The earlier (Python) AEGIS kept `aegis/backends.yaml` and the `.env` at the
 * project's root: said when that is what the current directory holds, since
 * the `.env` is now read beside backends.yaml (or named with --dotenv).
 */
function earlierLayoutHint(cwd: string): string {
  const earlier = path.join(cwd, 'aegis', DEFAULT_CONFIG_FILE);
  if (!isRegularFile(earlier)) return '';
  const env = isRegularFile(path.join(cwd, '.env')) ? ', and --dotenv .env for the .env here (it is read beside backends.yaml otherwise)' : '';
  return ` (found aegis/${DEFAULT_CONFIG_FILE}, where the earlier AEGIS kept it: pass --config aegis/${DEFAULT_CONFIG_FILE}${env})`;
}
