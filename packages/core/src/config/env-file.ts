import fs from 'node:fs';
import path from 'node:path';
import { dotenv } from '../cjs.js';
import { ConfigurationError } from '../errors/index.js';
import { displayPath, isRegularFile } from './paths.js';
import { MAX_ENV_FILE_BYTES } from './limits.js';
import { readLimitedFile } from './read-limited.js';
import { envFileIssues } from './env-syntax.js';

/** Environment variable naming the env file when no explicit one is given (the CLI's `--dotenv`). */
export const ENV_FILE_ENV_VAR = 'AEGIS_ENV_FILE';

export interface LoadEnvFileOptions {
  /** Explicit env file (`createAegis({ envFile })`, the CLI's `--dotenv`), relative to `cwd` or absolute. Must exist. */
  envFile?: string;
  /** The config file; a `.env` beside it is used when no explicit file is given. */
  configFile: string;
  /** Directory relative paths are resolved against. */
  cwd: string;
  /** Environment to read `AEGIS_ENV_FILE` from, when no explicit file is given (none: it is not read). */
  env?: Record<string, string | undefined>;
}

export interface EnvFileValues {
  /** Variables defined in the file (empty when there is no file). */
  values: Record<string, string>;
  /** Absolute path of the file read, when one was. */
  file?: string;
}

/**
 * Reads the env file: the explicit one, else the one `AEGIS_ENV_FILE` names,
 * else `.env` beside the config file, else none. Only parses: it never
 * touches `process.env`. Which value wins (the real environment does) is
 * decided by the caller, see {@link mergeEnv}.
 *
 * The CLI's option is `--dotenv`, not `--env-file`: Node reads a file named
 * after `--env-file` anywhere on its command line before any of our code runs
 * (docs/security.md), so that name can never reach this reader safely.
 */
export function loadEnvFile(options: LoadEnvFileOptions): EnvFileValues {
  const cwd = path.resolve(options.cwd);
  const fromEnv = options.env?.[ENV_FILE_ENV_VAR]?.trim();
  const explicit =
    options.envFile !== undefined && options.envFile !== ''
      ? { path: options.envFile, how: 'from --dotenv or the envFile option' }
      : fromEnv
        ? { path: fromEnv, how: `from ${ENV_FILE_ENV_VAR}` }
        : undefined;
  if (explicit) {
    const file = path.resolve(cwd, explicit.path);
    if (!exists(file)) {
      throw new ConfigurationError(
        `env file not found: ${displayPath(file, cwd)} (${explicit.how}); check the path, or leave it out to use the .env file beside the config file`,
      );
    }
    return { values: read(file, cwd), file };
  }
  const beside = path.join(path.dirname(path.resolve(cwd, options.configFile)), '.env');
  // Only a regular file: a `.env` directory beside it (a Python virtualenv) is not an env file.
  if (isRegularFile(beside)) return { values: read(beside, cwd), file: beside };
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

/** Something is there; whether it is a regular file is checked by the reader, on what it opens. */
function exists(file: string): boolean {
  try {
    fs.statSync(file);
    return true;
  } catch {
    return false;
  }
}

function read(file: string, cwd: string): Record<string, string> {
  const shown = displayPath(file, cwd);
  // A UTF-8 byte order mark (editors on Windows write one) is not part of the first name.
  const text = readLimitedFile(file, MAX_ENV_FILE_BYTES, `env file ${shown}`, shown).replace(/^\uFEFF/, '');
  // A line the parser would skip or misread is an error at its line, not a variable quietly unset or mangled.
  const issues = envFileIssues(text, shown);
  if (issues.length > 0) throw new ConfigurationError(issues);
  // Own entries only, in an object without a prototype: a line `__proto__=x` is just a variable.
  const values: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, value] of Object.entries(dotenv.parse(text))) values[name] = value;
  return values;
}
