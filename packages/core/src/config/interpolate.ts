/**
 * `${VAR}` and `${VAR:-default}` substitution inside strings.
 *
 * - `${VAR}`: the variable's value; an unset variable is reported as missing.
 * - `${VAR:-default}`: the variable's value, or `default` when it is unset or empty.
 * - `$${`: a literal `${`.
 *
 * Messages built here never contain a variable's value.
 */

export type EnvLookup = Record<string, string | undefined>;

export interface InterpolationResult {
  /** The string with every reference replaced (missing variables become ``). */
  value: string;
  /** Values that came from variables (not defaults), for secret scrubbing. */
  substituted: string[];
  /** Names of referenced variables that are not set and have no default. */
  missing: string[];
  /** True when the string has a `${` that is not a well-formed reference. */
  malformed: boolean;
}

const REFERENCE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;

/** True when the string contains anything interpolation would change. */
export function hasReferences(input: string): boolean {
  return input.includes('${');
}

export function interpolateString(input: string, env: EnvLookup): InterpolationResult {
  const result: InterpolationResult = { value: input, substituted: [], missing: [], malformed: false };
  if (!hasReferences(input)) return result;

  let out = '';
  let i = 0;
  while (i < input.length) {
    if (input.startsWith('$${', i)) {
      out += '${';
      i += 3;
      continue;
    }
    if (!input.startsWith('${', i)) {
      out += input[i];
      i += 1;
      continue;
    }
    const close = input.indexOf('}', i + 2);
    if (close === -1) {
      result.malformed = true;
      out += input.slice(i);
      break;
    }
    const match = REFERENCE.exec(input.slice(i + 2, close));
    if (!match) {
      result.malformed = true;
      out += input.slice(i, close + 1);
      i = close + 1;
      continue;
    }
    const name = match[1]!;
    const fallback = match[2];
    const value = env[name];
    if (fallback !== undefined) {
      if (value === undefined || value === '') {
        out += fallback;
      } else {
        out += value;
        result.substituted.push(value);
      }
    } else if (value === undefined) {
      result.missing.push(name);
    } else {
      out += value;
      result.substituted.push(value);
    }
    i = close + 1;
  }
  result.value = out;
  return result;
}

/** What an unset variable is reported as. `envFileLabel` names where else it could be set. */
export function missingVariableMessage(name: string, envFileLabel: string): string {
  return `environment variable "${name}" is not set (set it in the environment or in ${envFileLabel})`;
}

export const MALFORMED_REFERENCE_MESSAGE =
  'malformed variable reference: write ${NAME} or ${NAME:-default} (NAME: letters, digits, _), or $${ for a literal "${"';

/** The default `envFileLabel` when no env file was read. */
export function defaultEnvFileLabel(configFileName = 'backends.yaml'): string {
  return `a .env file beside ${configFileName}`;
}
