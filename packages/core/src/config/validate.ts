import { z } from 'zod';
import type { ConfigIssue } from '../errors/index.js';
import { isMarkedSecret, looksLikeCredential, secretKeysOf } from '../secrets/index.js';
import { sortIssues } from './sort-issues.js';
import type { RawProfile } from './types.js';
import { formatFieldPath, pathKey, shownKey, type FieldPath } from './yaml-values.js';
import { suggest } from './yaml-source.js';

export type ValidationResult =
  | { ok: true; config: Record<string, unknown> }
  | { ok: false; issues: ConfigIssue[] };

/** Keys every profile has, whether or not the type's schema lists them. */
const PROFILE_KEYS = ['profile_name', 'type'] as const;
const MAX_COERCION_ROUNDS = 10;
/**
 * A profile is validated once or twice per load: zod's compiled fast path (a
 * `new Function` per object schema) costs more to build than it saves here,
 * and is a visible share of the CLI's start (bench/RESULTS.md).
 */
const JITLESS = { jitless: true } as const;
const MAX_SHOWN_VALUE = 60;

type Path = (string | number)[];
type AnySchema = z.ZodType;
interface Def {
  type: string;
  [key: string]: unknown;
}
/** Zod issues as plain records: the fields used here, whatever the issue code. */
interface ZodIssueLike {
  code: string;
  path: PropertyKey[];
  message: string;
  expected?: string;
  values?: unknown[];
  keys?: string[];
  origin?: string;
  minimum?: number | bigint;
  maximum?: number | bigint;
  inclusive?: boolean;
  exact?: boolean;
  format?: string;
  pattern?: string;
  divisor?: number | bigint;
  errors?: ZodIssueLike[][];
}

/**
 * Validates a profile's values against its type's schema.
 *
 * - Unknown fields are errors at any depth (unless the schema itself allows extra
 *   keys), with a did-you-mean when a known field is close.
 * - Strings are coerced where the schema wants a number or a boolean, at any depth
 *   (`"30"` → 30, `"yes"` → true). The schema is not changed.
 * - Every problem names the file:line of the field, the profile, the dotted field path
 *   and what was expected. Secret fields' values (and values from environment
 *   variables) are never shown.
 * - The profile's own issues (missing variables, ...) are returned too: all problems together.
 */
export function validateProfile(profile: RawProfile, schema: z.ZodObject<any>): ValidationResult {
  return validateValues(profile, schema, PROFILE_KEYS);
}

/**
 * {@link validateProfile} for any mapping read from backends.yaml. `implicitKeys`:
 * top-level keys every such mapping has whatever its schema says (a profile's
 * `profile_name` and `type`); none for a section such as `http:`, where they
 * are unknown fields like any other, and never suggested.
 */
export function validateValues(profile: RawProfile, schema: z.ZodObject<any>, implicitKeys: readonly string[]): ValidationResult {
  const shape = shapeOf(schema) ?? {};
  const input = deepClone(profile.values) as Record<string, unknown>;
  for (const key of implicitKeys) if (!(key in shape)) delete input[key];

  const issues: ConfigIssue[] = [...profile.issues];
  const isBroken = brokenFieldTest(profile.issues.map((i) => i.field).filter((f): f is string => f !== undefined));

  const secretKeys = secretKeysOf(schema);
  const ctx: Context = { profile, schema, secretKeys, substituted: profile.substitutedValues.filter((v) => v !== ''), implicitKeys };

  // Unknown fields, reported by us (with positions and suggestions) rather than by zod.
  const reportedUnknown = new Set<string>();
  checkUnknownKeys(input, schema, [], ctx, (path, key, allowed) => {
    const fieldPath = [...path, key];
    reportedUnknown.add(pathKey(fieldPath));
    const suggestion = suggest(shownKey(key).replace(/…$/, ''), allowed);
    const message = suggestion
      ? `unknown field "${shownKey(key)}"; did you mean "${suggestion}"?`
      : `unknown field "${shownKey(key)}"; allowed fields: ${allowed.length > 0 ? allowed.join(', ') : '(none)'}`;
    issues.push(issueAt(ctx, fieldPath, message));
  });

  let result = schema.safeParse(input, JITLESS);
  for (let round = 0; !result.success && round < MAX_COERCION_ROUNDS; round++) {
    const changed = coerce(input, result.error.issues as unknown as ZodIssueLike[], []);
    if (!changed) break;
    result = schema.safeParse(input, JITLESS);
  }

  if (!result.success) {
    for (const zodIssue of result.error.issues as unknown as ZodIssueLike[]) {
      const path = zodIssue.path.filter((p): p is string | number => typeof p !== 'symbol');
      if (zodIssue.code === 'unrecognized_keys') {
        for (const key of zodIssue.keys ?? []) {
          if (reportedUnknown.has(pathKey([...path, key]))) continue;
          issues.push(issueAt(ctx, [...path, key], `unknown field "${shownKey(key)}"`));
        }
        continue;
      }
      if (path.length > 0 && isBroken(formatFieldPath(path))) continue;
      issues.push(issueAt(ctx, path, describeIssue(zodIssue, path, input, ctx)));
    }
  }

  if (issues.length > 0) return { ok: false, issues: sortIssues(issues) };
  if (!result.success) {
    // Unreachable in practice: a failed parse always yields at least one issue.
    return { ok: false, issues: [{ file: profile.file, line: profile.line, profile: profile.name, message: 'invalid profile' }] };
  }
  return { ok: true, config: result.data as Record<string, unknown> };
}

interface Context {
  profile: RawProfile;
  schema: AnySchema;
  secretKeys: Set<string>;
  substituted: string[];
  /** Top-level keys allowed whatever the schema says (see validateValues). */
  implicitKeys: readonly string[];
}

/**
 * Whether a field (as `formatFieldPath` writes it: `options.stop[3]`) is one
 * that already has a problem, lies inside one, or holds one: zod's complaint
 * about it would repeat that problem. Every broken field and each of its
 * ancestors go in sets once; a question then looks up the field's own
 * ancestors, never walks the broken fields, so a profile with many problems
 * (thousands of unset variables in one list) is checked in linear time.
 */
export function brokenFieldTest(brokenFields: Iterable<string>): (field: string) => boolean {
  const broken = new Set<string>();
  const holdsBroken = new Set<string>();
  for (const field of brokenFields) {
    broken.add(field);
    for (const ancestor of ancestorsOf(field)) holdsBroken.add(ancestor);
  }
  return (field) => holdsBroken.has(field) || broken.has(field) || ancestorsOf(field).some((a) => broken.has(a));
}

/** `options.stop[3].x` → `options`, `options.stop`, `options.stop[3]` (shown keys hold no "." nor "["). */
function ancestorsOf(field: string): string[] {
  const out: string[] = [];
  for (let i = 1; i < field.length; i++) {
    const c = field[i];
    if (c === '.' || c === '[') out.push(field.slice(0, i));
  }
  return out;
}

function issueAt(ctx: Context, path: FieldPath, message: string): ConfigIssue {
  const { profile } = ctx;
  const issue: ConfigIssue = { file: profile.file, line: profile.line, profile: profile.name, message };
  for (let len = path.length; len >= 0; len--) {
    const pos = profile.locate(path.slice(0, len));
    if (pos) {
      issue.line = pos.line;
      issue.column = pos.column;
      break;
    }
  }
  if (path.length > 0) issue.field = formatFieldPath(path);
  return issue;
}

// ---------------------------------------------------------------------------
// Schema inspection (read-only)

function defOf(schema: unknown): Def | undefined {
  return (schema as { _zod?: { def?: Def } } | undefined)?._zod?.def;
}

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional', 'success']);

/** The schema under optional/nullable/default/pipe/lazy wrappers. */
function unwrap(schema: unknown): AnySchema | undefined {
  let current = schema;
  for (let i = 0; i < 20; i++) {
    const def = defOf(current);
    if (!def) return undefined;
    if (WRAPPERS.has(def.type)) current = def.innerType;
    else if (def.type === 'pipe') current = def.in;
    else if (def.type === 'lazy') current = (def.getter as () => unknown)();
    else return current as AnySchema;
  }
  return undefined;
}

function shapeOf(schema: unknown): Record<string, AnySchema> | undefined {
  const def = defOf(schema);
  if (!def || def.type !== 'object') return undefined;
  return ((schema as { shape?: Record<string, AnySchema> }).shape ?? def.shape) as Record<string, AnySchema>;
}

/** The schema of the value at `segment` inside `schema`, when it can be told. */
function childSchema(schema: unknown, segment: string | number): AnySchema | undefined {
  const inner = unwrap(schema);
  const def = defOf(inner);
  if (!def) return undefined;
  switch (def.type) {
    case 'object': {
      const shape = shapeOf(inner)!;
      if (typeof segment === 'string' && Object.prototype.hasOwnProperty.call(shape, segment)) return shape[segment];
      return isOpenCatchall(def.catchall) ? (def.catchall as AnySchema) : undefined;
    }
    case 'array':
      return def.element as AnySchema;
    case 'record':
      return def.valueType as AnySchema;
    case 'tuple':
      return typeof segment === 'number' ? ((def.items as AnySchema[])[segment] ?? (def.rest as AnySchema | undefined)) : undefined;
    default:
      return undefined;
  }
}

function isOpenCatchall(catchall: unknown): boolean {
  const def = defOf(catchall);
  return def !== undefined && def.type !== 'never';
}

function checkUnknownKeys(
  value: unknown,
  schema: unknown,
  path: Path,
  ctx: Context,
  report: (path: Path, key: string, allowed: string[]) => void,
): void {
  const inner = unwrap(schema);
  const def = defOf(inner);
  if (!def) return;
  if (def.type === 'object' && isPlainObject(value)) {
    const shape = shapeOf(inner)!;
    const open = isOpenCatchall(def.catchall);
    const allowed = Object.keys(shape);
    if (path.length === 0) for (const k of ctx.implicitKeys) if (!allowed.includes(k)) allowed.unshift(k);
    for (const key of Object.keys(value)) {
      if (Object.prototype.hasOwnProperty.call(shape, key)) checkUnknownKeys(value[key], shape[key], [...path, key], ctx, report);
      else if (path.length === 0 && ctx.implicitKeys.includes(key)) continue;
      else if (open) checkUnknownKeys(value[key], def.catchall, [...path, key], ctx, report);
      else report(path, key, allowed);
    }
  } else if (def.type === 'array' && Array.isArray(value)) {
    value.forEach((item, index) => checkUnknownKeys(item, def.element, [...path, index], ctx, report));
  } else if (def.type === 'record' && isPlainObject(value)) {
    for (const key of Object.keys(value)) checkUnknownKeys(value[key], def.valueType, [...path, key], ctx, report);
  } else if (def.type === 'tuple' && Array.isArray(value)) {
    value.forEach((item, index) => checkUnknownKeys(item, childSchema(inner, index), [...path, index], ctx, report));
  }
}

/** True when the field at `path` holds a secret: by marker, by schema key, or by a credential-like name. */
function isSecretPath(ctx: Context, path: FieldPath): boolean {
  if (path.length > 0 && typeof path[0] === 'string' && ctx.secretKeys.has(path[0])) return true;
  if (path.some((segment) => typeof segment === 'string' && looksLikeCredential(segment))) return true;
  let current: unknown = ctx.schema;
  for (const segment of path) {
    current = childSchema(current, segment);
    if (current === undefined) break;
    if (isMarkedSecret(current as AnySchema)) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------
// Coercion of YAML/env strings to numbers and booleans

const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;
const TRUE_WORDS = new Set(['true', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', 'no', 'off']);

function coerceString(value: string, expected: string | undefined): number | boolean | undefined {
  const text = value.trim();
  if (expected === 'number' || expected === 'int') {
    if (!NUMBER.test(text)) return undefined;
    const n = Number(text);
    return Number.isFinite(n) ? n : undefined;
  }
  if (expected === 'boolean') {
    const word = text.toLowerCase();
    if (TRUE_WORDS.has(word)) return true;
    if (FALSE_WORDS.has(word)) return false;
  }
  return undefined;
}

/** Converts, in `input`, every string zod wanted as a number or boolean. True when something changed. */
function coerce(input: unknown, issues: readonly ZodIssueLike[], base: Path): boolean {
  let changed = false;
  for (const issue of issues) {
    const path = [...base, ...issue.path.filter((p): p is string | number => typeof p !== 'symbol')];
    if (issue.code === 'invalid_type') {
      const current = getAt(input, path);
      if (typeof current !== 'string') continue;
      const converted = coerceString(current, issue.expected);
      if (converted !== undefined && setAt(input, path, converted)) changed = true;
    } else if (issue.code === 'invalid_union' && issue.errors) {
      for (const branch of issue.errors) {
        if (coerce(input, branch, path)) {
          changed = true;
          break;
        }
      }
    }
  }
  return changed;
}

function getAt(root: unknown, path: FieldPath): unknown {
  let current = root;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    if (!Object.prototype.hasOwnProperty.call(current, segment)) return undefined;
    current = (current as Record<string | number, unknown>)[segment];
  }
  return current;
}

function setAt(root: unknown, path: FieldPath, value: unknown): boolean {
  if (path.length === 0) return false;
  const parent = getAt(root, path.slice(0, -1));
  if (parent === null || typeof parent !== 'object') return false;
  (parent as Record<string | number, unknown>)[path[path.length - 1]!] = value;
  return true;
}

// ---------------------------------------------------------------------------
// Messages

const EXPECTED_WORDS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'a boolean (true or false)',
  bigint: 'an integer',
  object: 'a mapping (key: value entries)',
  record: 'a mapping (key: value entries)',
  map: 'a mapping (key: value entries)',
  array: 'a list',
  tuple: 'a list',
  set: 'a list',
  null: 'an empty value (null)',
  undefined: 'nothing (leave the field out)',
  never: 'nothing (leave the field out)',
  date: 'a date',
};

function expectedWords(expected: string | undefined): string {
  if (!expected) return 'a different value';
  return EXPECTED_WORDS[expected] ?? `a value of type ${expected}`;
}

/** The value in plain words: `a string "abc"`, `the number 5`, `a list`; never a secret's text. */
function describeValue(value: unknown, path: FieldPath, ctx: Context): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'an empty value';
  if (typeof value === 'string') {
    if (isSecretPath(ctx, path)) return 'a string';
    if (ctx.substituted.some((s) => value.includes(s))) return 'a string (from an environment variable; value not shown)';
    return `a string ${quote(value)}`;
  }
  if (typeof value === 'number' || typeof value === 'bigint') return isSecretPath(ctx, path) ? 'a number' : `the number ${String(value)}`;
  if (typeof value === 'boolean') return isSecretPath(ctx, path) ? 'a boolean' : `the boolean ${String(value)}`;
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `a ${typeof value}`;
}

function quote(text: string): string {
  const shown = text.length > MAX_SHOWN_VALUE ? `${text.slice(0, MAX_SHOWN_VALUE)}…` : text;
  return JSON.stringify(shown);
}

function formatAllowed(values: readonly unknown[]): string {
  return values.map((v) => (typeof v === 'string' ? JSON.stringify(v) : String(v))).join(', ');
}

function describeIssue(issue: ZodIssueLike, path: Path, input: unknown, ctx: Context): string {
  const value = getAt(input, path);
  const got = () => describeValue(value, path, ctx);
  if (value === undefined && (issue.code === 'invalid_value' || issue.code === 'invalid_union')) {
    const expected = issue.code === 'invalid_value' ? allowedValuesMessage(issue) : unionMessage(issue, '');
    return `missing required field; ${expected.replace(/, got $/, '')}`;
  }
  // The schema's own words for what it wants (`.regex(re, 'a duration such as "5m"')`) beat ours.
  const custom = value === undefined ? undefined : customMessage(issue, value, path, ctx);
  if (custom !== undefined) return withGot(custom, got());
  switch (issue.code) {
    case 'invalid_type':
      if (value === undefined) return `missing required field; expected ${expectedWords(issue.expected)}`;
      return `expected ${expectedWords(issue.expected)}, got ${got()}`;
    case 'invalid_value':
      return `${allowedValuesMessage(issue)}, got ${got()}`;
    case 'too_small':
    case 'too_big':
      return `${boundMessage(issue)}, got ${sizeOf(value, path, ctx)}`;
    case 'invalid_format':
      return `expected ${formatWords(issue)}, got ${got()}`;
    case 'not_multiple_of':
      return `expected a multiple of ${String(issue.divisor)}, got ${got()}`;
    case 'invalid_union':
      return unionMessage(issue, got());
    default:
      // A refinement's message (code "custom") is the plugin's own words, which may quote the value.
      return quotesHidden(issue.message, value, path, ctx) ? `${issue.code === 'custom' ? "failed the plugin's check" : 'invalid value'} (its message would show a secret)` : issue.message;
  }
}

/** Issue codes whose message we write ourselves, unless the schema brings its own. */
const DESCRIBED_CODES = new Set(['invalid_type', 'invalid_value', 'too_small', 'too_big', 'invalid_format', 'not_multiple_of']);

/**
 * The message the schema set for this issue (`{ message }`, `{ error }` or a
 * string argument), or undefined when zod's default error map wrote it: a
 * message is the schema's own when it differs from what the default English map
 * (or the configured one) says for the same issue. Also undefined when it would
 * show a value that must not be shown (a secret, or one from an environment variable).
 */
function customMessage(issue: ZodIssueLike, value: unknown, path: FieldPath, ctx: Context): string | undefined {
  if (!DESCRIBED_CODES.has(issue.code)) return undefined;
  const message = typeof issue.message === 'string' ? issue.message.trim() : '';
  if (message === '') return undefined;
  if (defaultMessages(issue, value).includes(message)) return undefined;
  return quotesHidden(message, value, path, ctx) ? undefined : message;
}

/** Whether a schema's message would show a value that must not be shown: a secret field's, or one from an environment variable. */
function quotesHidden(message: string, value: unknown, path: FieldPath, ctx: Context): boolean {
  if (typeof value === 'string' && value.length >= 3 && message.includes(value)) {
    if (isSecretPath(ctx, path) || ctx.substituted.some((s) => value.includes(s))) return true;
  }
  return ctx.substituted.some((s) => s.length >= 3 && message.includes(s));
}

type LocaleErrorMap = (issue: unknown) => unknown;

/** What zod's default error maps say for `issue` (its `input` being `value`). */
function defaultMessages(issue: ZodIssueLike, value: unknown): string[] {
  const raw = { ...issue, input: value };
  const maps: (LocaleErrorMap | undefined)[] = [];
  try {
    maps.push(z.locales.en().localeError as LocaleErrorMap);
  } catch {
    /* no English locale: rely on the configured map */
  }
  try {
    maps.push(z.config().localeError as LocaleErrorMap | undefined);
  } catch {
    /* no global config */
  }
  const out: string[] = ['Invalid input'];
  for (const map of maps) {
    if (typeof map !== 'function') continue;
    try {
      const result = map(raw);
      const text = typeof result === 'string' ? result : (result as { message?: unknown } | undefined)?.message;
      if (typeof text === 'string') out.push(text.trim());
    } catch {
      /* a map that cannot describe this issue */
    }
  }
  return out;
}

/**
 * A schema's message with what was found: a description of the value wanted
 * ("a duration such as ...") reads as "expected <it>, got ..."; a sentence as "<it>, got ...".
 */
function withGot(message: string, got: string): string {
  const text = message.replace(/[.;,\s]+$/, '');
  if (/^(a|an|the|one of|some|any|at least|at most|more than|less than|exactly)\b/i.test(text)) return `expected ${text}, got ${got}`;
  return `${text}, got ${got}`;
}

function allowedValuesMessage(issue: ZodIssueLike): string {
  const values = issue.values ?? [];
  return values.length === 1 ? `expected ${formatAllowed(values)}` : `expected one of ${formatAllowed(values)}`;
}

function boundMessage(issue: ZodIssueLike): string {
  const small = issue.code === 'too_small';
  const bound = String(small ? issue.minimum : issue.maximum);
  const op = issue.exact ? 'exactly' : small ? (issue.inclusive ? 'at least' : 'more than') : issue.inclusive ? 'at most' : 'less than';
  switch (issue.origin) {
    case 'string':
      return `expected ${op} ${bound} character${bound === '1' ? '' : 's'}`;
    case 'array':
    case 'set':
      return `expected ${op} ${bound} item${bound === '1' ? '' : 's'}`;
    default:
      return `expected a number ${op} ${bound}`;
  }
}

function sizeOf(value: unknown, path: FieldPath, ctx: Context): string {
  if (isSecretPath(ctx, path)) return describeValue(value, path, ctx);
  if (typeof value === 'string') return `${value.length} character${value.length === 1 ? '' : 's'}`;
  if (Array.isArray(value)) return `${value.length} item${value.length === 1 ? '' : 's'}`;
  return describeValue(value, path, ctx);
}

function formatWords(issue: ZodIssueLike): string {
  switch (issue.format) {
    case 'url':
      return 'a valid URL';
    case 'email':
      return 'a valid email address';
    case 'regex':
      return issue.pattern ? `a string matching ${issue.pattern}` : 'a string in the expected format';
    case 'starts_with':
    case 'ends_with':
    case 'includes':
      return `a string that ${issue.format.replace('_', ' ')} ${JSON.stringify((issue as { prefix?: string; suffix?: string; includes?: string }).prefix ?? (issue as { suffix?: string }).suffix ?? (issue as { includes?: string }).includes ?? '')}`;
    default:
      return issue.format ? `a valid ${issue.format}` : 'a string in the expected format';
  }
}

function unionMessage(issue: ZodIssueLike, got: string): string {
  const options: string[] = [];
  for (const branch of issue.errors ?? []) {
    const rootIssues = branch.filter((i) => i.path.length === 0);
    if (rootIssues.length !== branch.length || rootIssues.length !== 1) return `does not match any allowed form, got ${got}`;
    const only = rootIssues[0]!;
    if (only.code === 'invalid_type') options.push(expectedWords(only.expected));
    else if (only.code === 'invalid_value') options.push(formatAllowed(only.values ?? []));
    else return `does not match any allowed form, got ${got}`;
  }
  if (options.length === 0) return `does not match any allowed form, got ${got}`;
  const unique = [...new Set(options)];
  return `expected ${unique.length === 1 ? unique[0] : `${unique.slice(0, -1).join(', ')} or ${unique[unique.length - 1]}`}, got ${got}`;
}

// ---------------------------------------------------------------------------

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function deepClone(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(deepClone);
  if (isPlainObject(value) && (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      Object.defineProperty(out, key, { value: deepClone(value[key]), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return value;
}
