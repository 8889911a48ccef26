import fs from 'node:fs';
import path from 'node:path';
import { dotenv } from '../cjs.js';
import { ConfigurationError } from '../errors/index.js';
import { displayPath } from './paths.js';
import { MAX_ENV_FILE_BYTES } from './limits.js';
import { readLimitedFile } from './read-limited.js';

export interface LoadEnvFileOptions {
  /** Explicit env file (`--env-file`), relative to `cwd` or absolute. Must exist. */
  envFile?: string;
  /** The config file; a `.env` beside it is used when no explicit file is given. */
  configFile: string;
  /** Directory relative paths are resolved against. */
  cwd: string;
}

export interface EnvFileValues {
  /** Variables defined in the file (empty when there is no file). */
  values: Record<string, string>;
  /** Absolute path of the file read, when one was. */
  file?: string;
}

/**
 * Reads the env file: the explicit one, else `.env` beside the config file,
 * else none. Only parses: it never touches `process.env`. Which value wins
 * (the real environment does) is decided by the caller, see {@link mergeEnv}.
 */
export function loadEnvFile(options: LoadEnvFileOptions): EnvFileValues {
  const cwd = path.resolve(options.cwd);
  if (options.envFile !== undefined && options.envFile !== '') {
    const file = path.resolve(cwd, options.envFile);
    if (!isFile(file)) {
      throw new ConfigurationError(
        `env file not found: ${displayPath(file, cwd)} (from --env-file); check the path or leave the option out to use the .env file beside the config file`,
      );
    }
    return { values: read(file, cwd), file };
  }
  const beside = path.join(path.dirname(path.resolve(cwd, options.configFile)), '.env');
  if (isFile(beside)) return { values: read(beside, cwd), file: beside };
  return { values: {} };
}

/**
 * The environment `${VAR}` references are resolved against: the real
 * environment first, then the env file's values for variables it does not set.
 */
export function mergeEnv(
  processEnv: Record<string, string | undefined>,
  fileValues: Record<string, string>,
): Record<string, string> {
  // No prototype: `${__proto__}` or `${constructor}` is an unset variable, never a member of Object.
  const merged: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, value] of Object.entries(fileValues)) merged[name] = value;
  for (const [name, value] of Object.entries(processEnv)) {
    if (value !== undefined) merged[name] = value;
  }
  return merged;
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

function read(file: string, cwd: string): Record<string, string> {
  const text = readLimitedFile(file, MAX_ENV_FILE_BYTES, `env file ${displayPath(file, cwd)}`);
  // Own entries only, in an object without a prototype: a line `__proto__=x` is just a variable.
  const values: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, value] of Object.entries(dotenv.parse(text))) values[name] = value;
  return values;
}
