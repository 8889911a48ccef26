import { z } from '@aegis/core';
import { invalidRequest, unsupportedParameter } from '../errors.js';

/** `messages[0].content`, as OpenAI names a parameter in its errors. */
export function paramPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out === '' ? '' : '.'}${String(p)}`;
  return out;
}

/**
 * Parses a request body with a zod schema; a problem is a 400 naming the
 * parameter. Parameters the gateway cannot honour yet are refused by name
 * (never silently dropped); unknown ones as OpenAI does ("Unrecognized request argument").
 *
 * Each parameter present is parsed with its field's schema, and a parameter
 * absent only when its schema has something to say about that (required, or a
 * default): what `schema.parse` does for a plain object schema (no object-level
 * refinements), without running the schemas of the twenty-odd optional
 * parameters a request leaves out. This sits on every request, before the
 * upstream call starts.
 *
 * `settled` may name, per parameter, a quick check for the values the
 * field's schema would return unchanged (a non-empty string for a `min(1)`
 * string): such a value is taken as it is, without running the schema. Any
 * other value goes through the schema, which says what is wrong with it.
 */
export function parseRequest<S extends z.ZodObject<any>>(
  schema: S,
  body: Record<string, unknown>,
  unsupported: Record<string, { why: string; allowed?: (value: unknown) => boolean }> = {},
  settled: Settled = {},
): z.output<S> {
  const shape = schema.shape as Record<string, z.ZodType>;
  const out: Record<string, unknown> = {};
  for (const param of Object.keys(body)) {
    const value = body[param];
    const rule = Object.hasOwn(unsupported, param) ? unsupported[param] : undefined;
    if (rule && value !== null && value !== undefined && !(rule.allowed?.(value) ?? false)) throw unsupportedParameter(param, rule.why);
    if (!Object.hasOwn(shape, param)) {
      if (!rule) throw invalidRequest(`Unrecognized request argument supplied: ${param}`, param, 'unknown_parameter');
      continue;
    }
    const check = Object.hasOwn(settled, param) ? settled[param] : undefined;
    if (check && check(value)) out[param] = value;
    else parseField(shape[param]!, param, value, out);
  }
  for (const key of absentKeysOf(schema)) if (!Object.hasOwn(body, key)) parseField(shape[key]!, key, undefined, out);
  return out as z.output<S>;
}

/** Per parameter, a check that a value is one its schema returns unchanged (see parseRequest). */
export type Settled = Record<string, (value: unknown) => boolean>;

/** One parameter, parsed with its schema into `out` (not set when its value is undefined), or a 400 naming it. */
function parseField(schema: z.ZodType, param: string, value: unknown, out: Record<string, unknown>): void {
  // Not jitless (unlike config validation): the same schemas parse every request, and zod's compiled path pays off.
  const result = schema.safeParse(value);
  if (result.success) {
    if (result.data !== undefined) out[param] = result.data;
    return;
  }
  const issue = result.error.issues[0]!;
  const path = paramPath([param, ...issue.path]);
  throw invalidRequest(`Invalid value for "${path}": ${issue.message}`, path, 'invalid_value');
}

const absentKeys = new WeakMap<z.ZodObject<any>, string[]>();

/** The keys of a schema whose field says something when the parameter is absent: required (an error) or with a default. */
function absentKeysOf(schema: z.ZodObject<any>): string[] {
  let keys = absentKeys.get(schema);
  if (!keys) {
    keys = Object.entries(schema.shape as Record<string, z.ZodType>)
      .filter(([, field]) => {
        const result = field.safeParse(undefined);
        return !result.success || result.data !== undefined;
      })
      .map(([key]) => key);
    absentKeys.set(schema, keys);
  }
  return keys;
}
