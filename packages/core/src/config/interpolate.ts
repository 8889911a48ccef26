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
  /** Values that came from variables (not defaults), for secret scrubbing; each once. */
  substituted: string[];
  /** Names of referenced variables that are not set and have no default; each once. */
  missing: string[];
  /** True when the string has a `${` that is not a well-formed reference. */
  malformed: boolean;
  /** True when the result would pass `maxChars`: `value` is then cut there and must not be used. */
  tooLong: boolean;
}

const REFERENCE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-([\s\S]*))?$/;

/** True when the string contains anything interpolation would change. */
export function hasReferences(input: string): boolean {
  return input.includes('${');
}

/**
 * The value of a variable: only the environment's own entries are variables,
 * so `${__proto__}` or `${constructor}` is an unset variable, not a member of Object.
 */
export function lookupVariable(env: EnvLookup, name: string): string | undefined {
  if (!Object.prototype.hasOwnProperty.call(env, name)) return undefined;
  const value = env[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Substitutes the references of `input`. Linear in the input and the output;
 * it stops as soon as the output passes `maxChars` (then `tooLong` is set), so
 * 200,000 references to a long variable never build a string of gigabytes.
 */
export function interpolateString(input: string, env: EnvLookup, maxChars = Number.MAX_SAFE_INTEGER): InterpolationResult {
  const result: InterpolationResult = { value: input, substituted: [], missing: [], malformed: false, tooLong: false };
  if (!hasReferences(input)) return result;

  const parts: string[] = [];
  let length = 0;
  const emit = (text: string): boolean => {
    parts.push(text);
    length += text.length;
    return length <= maxChars;
  };
  const substituted = new Set<string>();
  const missing = new Set<string>();
  let i = 0;
  while (i < input.length) {
    const dollar = input.indexOf('$', i);
    if (dollar === -1) {
      emit(input.slice(i));
      break;
    }
    if (dollar > i && !emit(input.slice(i, dollar))) break;
    i = dollar;
    if (input.startsWith('$${', i)) {
      if (!emit('${')) break;
      i += 3;
      continue;
    }
    if (!input.startsWith('${', i)) {
      if (!emit('$')) break;
      i += 1;
      continue;
    }
    const close = input.indexOf('}', i + 2);
    if (close === -1) {
      result.malformed = true;
      emit(input.slice(i));
      break;
    }
    const match = REFERENCE.exec(input.slice(i + 2, close));
    i = close + 1;
    if (!match) {
      result.malformed = true;
      if (!emit(input.slice(dollar, close + 1))) break;
      continue;
    }
    const name = match[1]!;
    const fallback = match[2];
    const value = lookupVariable(env, name);
    let ok = true;
    if (fallback !== undefined && (value === undefined || value === '')) {
      ok = emit(fallback);
    } else if (value === undefined) {
      missing.add(name);
    } else {
      ok = emit(value);
      substituted.add(value);
    }
    if (!ok) break;
  }
  result.tooLong = length > maxChars;
  result.value = result.tooLong ? '' : parts.join('');
  result.substituted = [...substituted];
  result.missing = [...missing];
  return result;
}

/** What a value that expands past the limit is reported as. */
export function tooLongValueMessage(maxChars: number): string {
  return `this value is longer than ${maxChars} characters once its \${VAR} references are substituted; shorten it or the variables it uses`;
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
