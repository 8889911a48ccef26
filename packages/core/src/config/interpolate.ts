/**
 * `${VAR}` and `${VAR:-default}` substitution inside strings.
 *
 * - `${VAR}`: the variable's value; an unset variable is reported as missing.
 * - `${VAR:-default}`: the variable's value, or `default` when it is unset or empty.
 * - A default may itself hold references, one level deep, as in a shell or
 *   Docker Compose: `${BASE_URL:-http://${HOST:-localhost}:8080/v1}`.
 *   They are resolved only when the default is used. A reference inside the
 *   default of a nested one (`${A:-${B:-${C}}}`) is malformed, reported at the
 *   value's file:line, never left in the value as text.
 * - `$${`: a literal `${` (in a default too).
 *
 * Messages built here never contain a variable's value.
 */

export type EnvLookup = Record<string, string | undefined>;

export interface InterpolationResult {
  /** The string with every reference replaced (missing variables become ``). */
  value: string;
  /** Values that came from variables (not defaults), for secret scrubbing; each once. */
  substituted: string[];
  /** The variables those values came from, each once: their names judge whether a value is a secret (`isPlainSubstitution`). */
  variables: { name: string; value: string }[];
  /** Names of referenced variables that are not set and have no default; each once. */
  missing: string[];
  /** True when the string has a `${` that is not a well-formed reference. */
  malformed: boolean;
  /** True when the result would pass `maxChars`: `value` is then cut there and must not be used. */
  tooLong: boolean;
}

const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;

/** A reference inside a default: a variable, and its own default (plain text). */
interface InnerReference {
  name: string;
  fallback?: string;
}

interface Reference {
  name: string;
  /** The default's pieces, in order: text, and references to resolve when it is used. */
  fallback?: (string | InnerReference)[];
  /** Offset just after its closing `}`. */
  end: number;
}

/**
 * The reference whose `${` is at `start`, or undefined when it is malformed.
 * `nested`: inside a default, where a default is plain text (no third level).
 * Reads no further than the reference's closing `}` (or, malformed, the first
 * `}` or `${` that ends it), so a string of many references is read in one pass.
 */
function parseReference(input: string, start: number, nested: boolean): Reference | undefined {
  NAME.lastIndex = start + 2;
  const name = NAME.exec(input)?.[0];
  if (name === undefined) return undefined;
  let i = start + 2 + name.length;
  if (input[i] === '}') return { name, end: i + 1 };
  if (!input.startsWith(':-', i)) return undefined;
  i += 2;
  if (nested) {
    const close = input.indexOf('}', i);
    if (close === -1) return undefined;
    const text = input.slice(i, close);
    // `${A:-${B:-${C}}}`: one level of nesting is the most a reader can follow.
    if (text.includes('${')) return undefined;
    return { name, fallback: [text], end: close + 1 };
  }
  const fallback: (string | InnerReference)[] = [];
  let textStart = i;
  while (i < input.length) {
    const c = input[i];
    if (c === '}') {
      if (i > textStart) fallback.push(input.slice(textStart, i));
      return { name, fallback, end: i + 1 };
    }
    if (c === '$' && input.startsWith('$${', i)) {
      fallback.push(input.slice(textStart, i) + '${');
      i += 3;
      textStart = i;
      continue;
    }
    if (c === '$' && input[i + 1] === '{') {
      if (i > textStart) fallback.push(input.slice(textStart, i));
      const inner = parseReference(input, i, true);
      if (!inner) return undefined;
      fallback.push({ name: inner.name, fallback: inner.fallback?.[0] as string | undefined });
      i = inner.end;
      textStart = i;
      continue;
    }
    i++;
  }
  return undefined;
}

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
  const result: InterpolationResult = { value: input, substituted: [], variables: [], missing: [], malformed: false, tooLong: false };
  if (!hasReferences(input)) return result;

  const parts: string[] = [];
  let length = 0;
  const emit = (text: string): boolean => {
    parts.push(text);
    length += text.length;
    return length <= maxChars;
  };
  const substituted = new Set<string>();
  const variables = new Map<string, string>();
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
    const reference = parseReference(input, i, false);
    if (!reference) {
      // Malformed: kept as written up to the first `}`, and reported (the value is then not used).
      result.malformed = true;
      const close = input.indexOf('}', i + 2);
      if (close === -1) {
        emit(input.slice(i));
        break;
      }
      i = close + 1;
      if (!emit(input.slice(dollar, close + 1))) break;
      continue;
    }
    i = reference.end;
    /** A variable's value, its default when unset or empty, or nothing and it is missing. */
    const resolve = (name: string, fallback: string | undefined): string | undefined => {
      const value = lookupVariable(env, name);
      if (fallback !== undefined && (value === undefined || value === '')) return fallback;
      if (value === undefined) {
        missing.add(name);
        return undefined;
      }
      substituted.add(value);
      variables.set(name, value);
      return value;
    };
    let ok = true;
    const value = lookupVariable(env, reference.name);
    if (reference.fallback !== undefined && (value === undefined || value === '')) {
      for (const piece of reference.fallback) {
        const text = typeof piece === 'string' ? piece : resolve(piece.name, piece.fallback);
        if (text !== undefined && !(ok = emit(text))) break;
      }
    } else {
      const text = resolve(reference.name, undefined);
      if (text !== undefined) ok = emit(text);
    }
    if (!ok) break;
  }
  result.tooLong = length > maxChars;
  result.value = result.tooLong ? '' : parts.join('');
  result.substituted = [...substituted];
  result.variables = [...variables].map(([name, value]) => ({ name, value }));
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
  'malformed variable reference: write ${NAME} or ${NAME:-default} (NAME: letters, digits, _; a default may hold ${NAME} or ' +
  '${NAME:-text}, one level deep), or $${ for a literal "${"';

/** The default `envFileLabel` when no env file was read. */
export function defaultEnvFileLabel(configFileName = 'backends.yaml'): string {
  return `a .env file beside ${configFileName}`;
}
