/**
 * Checks an answer that was asked to be JSON: parses it and validates it
 * against the call's schema: with zod itself when the caller gave a zod
 * schema (so the value is zod's typed output, defaults and transforms
 * applied), with Ajv when the caller gave JSON Schema, in the schema's own
 * draft (schema-dialect.ts: draft-07 when it says so or writes a tuple as a
 * list of `items`, else 2020-12), its patterns under a time limit
 * (safe-regexp.ts). Ajv is loaded only by a call that needs it (its own
 * bundle chunk).
 */
import type { ZodType } from 'zod';
import { StructuredOutputError, type StructuredOutputIssue } from '../errors/structured-output-error.js';
import { excerpt } from '../http/error-mapping.js';
import { isZodSchema } from './json-schema.js';
import type { ResponseFormat } from './response-format.js';
import { PatternTimeoutError, patternEngine, type PatternEngine } from './safe-regexp.js';
import { schemaDialect, type SchemaDialect } from './schema-dialect.js';
import type { JsonSchema } from './tools.js';

/** Validates a parsed value: its issues, or the value to return (zod's output). */
type Validator = (value: unknown) => { ok: true; value: unknown } | { ok: false; issues: StructuredOutputIssue[] };

/** The check of one call's answers, made once per call before any request. */
export interface StructuredCheck {
  /** Compiles the schema (a TypeError for one that is not valid), so a bad schema fails before any request. */
  ready(): Promise<void>;
  /** The answer's value, or a StructuredOutputError. */
  check(text: string): Promise<unknown>;
}

/** How much of the answer an error message quotes (the whole stays in `error.text`). */
const QUOTE = 120;

/** The check for a call's response format, or undefined when the call did not ask for JSON. */
export function structuredCheck(format: ResponseFormat | undefined): StructuredCheck | undefined {
  if (!format || format.type !== 'json') return undefined;
  const { schema } = format;
  let validator: Promise<Validator> | undefined;
  const validate = (): Promise<Validator> => (validator ??= validatorFor(schema));
  return {
    async ready() {
      await validate();
    },
    async check(text) {
      const value = parseJson(text);
      const run = await validate();
      let outcome: ReturnType<Validator>;
      try {
        outcome = run(value);
      } catch (error) {
        if (!(error instanceof PatternTimeoutError)) throw error;
        throw new StructuredOutputError(`the answer could not be checked against the response schema: ${error.message}`, {
          text,
          issues: [{ path: '', message: error.message }],
          cause: error,
        });
      }
      if (!outcome.ok) {
        const first = outcome.issues.slice(0, 3).map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ');
        const more = outcome.issues.length > 3 ? ` (+${outcome.issues.length - 3} more)` : '';
        throw new StructuredOutputError(`the answer does not match the response schema: ${first}${more}`, { text, issues: outcome.issues });
      }
      return outcome.value;
    },
  };
}

/**
 * The JSON value of an answer. A model that was not constrained by the backend
 * may wrap the JSON in a Markdown code fence: a single fenced block is taken
 * as the answer. Anything else that is not JSON is a StructuredOutputError,
 * which quotes the start of the answer cut with `…` (where the secret
 * scrubber looks for the start of a secret cut short), and says what is wrong
 * and where, never with V8's own quote of the text (cut with `...`).
 */
export function parseJson(text: string): unknown {
  const trimmed = text.trim();
  const fenced = /^```(?:json)?\s*\n([\s\S]*?)\n?```$/i.exec(trimmed);
  const body = fenced ? fenced[1]! : trimmed;
  try {
    return JSON.parse(body);
  } catch (error) {
    const fault = syntaxError(error as Error, body);
    throw new StructuredOutputError(`the answer is not JSON (${fault}): ${JSON.stringify(excerpt(body, QUOTE))}`, {
      text,
      issues: [{ path: '', message: `not valid JSON: ${fault}` }],
    });
  }
}

/**
 * JSON.parse's message without the piece of the text V8 quotes
 * (`Unexpected token 's', "sk-live-Q7"... is not valid JSON`), with the
 * position of the fault instead when the message has none.
 */
function syntaxError(error: Error, body: string): string {
  const message = error.message.replace(/,\s*(?:\.\.\.)?"[\s\S]*"(?:\.\.\.)?\s*is not valid JSON\s*$/, '');
  // Another engine's wording that still quotes the text: only what is wrong, and where.
  const bare = message.includes('"') ? 'Unexpected token' : message;
  if (/\bposition \d+/.test(bare) || /end of JSON input/.test(bare)) return bare;
  const at = faultPosition(body);
  return at === undefined ? bare : `${bare} at position ${at}`;
}

/**
 * Where JSON text stops being JSON: the index of the first character that
 * cannot continue it (the text's length when it ends too soon), or undefined
 * when it is JSON. A scan with its own stack, for error messages only.
 */
export function faultPosition(text: string): number | undefined {
  const closers: string[] = [];
  let state: 'value' | 'first-value' | 'key' | 'first-key' | 'colon' | 'after' = 'value';
  let i = 0;
  for (;;) {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
    if (i >= text.length) return state === 'after' && closers.length === 0 ? undefined : i;
    const c = text[i]!;
    if (state === 'first-value' && c === ']') {
      closers.pop();
      i++;
      state = 'after';
    } else if (state === 'value' || state === 'first-value') {
      if (c === '{' || c === '[') {
        closers.push(c === '{' ? '}' : ']');
        i++;
        state = c === '{' ? 'first-key' : 'first-value';
        continue;
      }
      const end = scalarEnd(text, i);
      if (end < 0) return -end - 1;
      i = end;
      state = 'after';
    } else if (state === 'first-key' && c === '}') {
      closers.pop();
      i++;
      state = 'after';
    } else if (state === 'key' || state === 'first-key') {
      if (c !== '"') return i;
      const end = stringEnd(text, i);
      if (end < 0) return -end - 1;
      i = end;
      state = 'colon';
    } else if (state === 'colon') {
      if (c !== ':') return i;
      i++;
      state = 'value';
    } else {
      if (c === ',' && closers.length > 0) state = closers.at(-1) === '}' ? 'key' : 'value';
      else if (c === closers.at(-1)) closers.pop();
      else return i;
      i++;
    }
  }
}

/** The end of the string, number or literal at `start`, or -(fault + 1). */
function scalarEnd(text: string, start: number): number {
  const c = text[start]!;
  if (c === '"') return stringEnd(text, start);
  for (const word of ['true', 'false', 'null']) {
    if (c !== word[0]) continue;
    for (let k = 1; k < word.length; k++) if (text[start + k] !== word[k]) return -(start + k) - 1;
    return start + word.length;
  }
  const number = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  number.lastIndex = start;
  const match = number.exec(text);
  return match && match[0] !== '-' ? start + match[0].length : -start - 1;
}

/** The end of the string that opens at `start` (after its closing quote), or -(fault + 1). */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x22) return i + 1;
    if (code < 0x20) return -i - 1;
    if (code === 0x5c) {
      const next = text[i + 1];
      if (next === 'u') {
        if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return -(i + 1) - 1;
        i += 5;
      } else if (next !== undefined && '"\\/bfnrt'.includes(next)) i++;
      else return -(i + 1) - 1;
    }
  }
  return -text.length - 1;
}

async function validatorFor(schema: JsonSchema | ZodType | undefined): Promise<Validator> {
  if (schema === undefined) return (value) => ({ ok: true, value });
  if (isZodSchema(schema)) {
    return (value) => {
      const parsed = schema.safeParse(value);
      if (parsed.success) return { ok: true, value: parsed.data };
      return { ok: false, issues: parsed.error.issues.map((i) => ({ path: pointer(i.path), message: i.message })) };
    };
  }
  const { validate, engine } = await compileJsonSchema(schema);
  return (value) => {
    // A schema with patterns is checked under their time limit (a PatternTimeoutError past it).
    const valid = engine ? engine.bounded(() => validate(value)) : validate(value);
    if (valid) return { ok: true, value };
    return {
      ok: false,
      issues: (validate.errors ?? []).map((e) => ({ path: e.instancePath, message: e.message ?? e.keyword })),
    };
  };
}

type AjvValidate = ((value: unknown) => boolean) & { errors?: { instancePath: string; message?: string; keyword: string }[] | null };
type Ajv = {
  compile(schema: object): AjvValidate;
  removeSchema(schema: object | string): unknown;
  /** The schemas Ajv knows by id (its meta-schemas, and what a compile adds): public fields of Ajv's class. */
  readonly schemas: Record<string, unknown>;
  readonly refs: Record<string, unknown>;
};

/** The ids Ajv has registered now. */
const registeredIds = (ajv: Ajv): string[] => [...Object.keys(ajv.schemas), ...Object.keys(ajv.refs)];
/** A compiled schema, with the engine that bounds its patterns when it has any. */
type Compiled = { validate: AjvValidate; engine?: PatternEngine };

/** Compiled schemas, by their JSON text (a schema reused call after call is compiled once). */
const compiled = new Map<string, Compiled>();
const MAX_COMPILED = 100;

/** Ajv's class for each draft (draft-07 is its default class). */
const AJV_MODULES: Record<SchemaDialect, () => Promise<unknown>> = {
  'draft-07': () => import('ajv/dist/ajv.js'),
  '2019-09': () => import('ajv/dist/2019.js'),
  '2020-12': () => import('ajv/dist/2020.js'),
};
/** One Ajv per draft, made on first use, each with its own pattern engine. */
const instances = new Map<SchemaDialect, Promise<{ ajv: Ajv; engine: PatternEngine }>>();

function ajvFor(dialect: SchemaDialect): Promise<{ ajv: Ajv; engine: PatternEngine }> {
  let instance = instances.get(dialect);
  if (!instance) {
    instance = AJV_MODULES[dialect]().then((m) => {
      const Class = ((m as { default?: unknown }).default ?? m) as new (options: object) => Ajv;
      const engine = patternEngine();
      // strict: false, as backends' schemas carry keywords Ajv does not know (`title`, vendor extensions).
      // Formats are not validated: no format regex runs on the answer.
      return { ajv: new Class({ allErrors: true, strict: false, validateFormats: false, code: { regExp: engine.regExp } }), engine };
    });
    instances.set(dialect, instance);
  }
  return instance;
}

async function compileJsonSchema(schema: JsonSchema): Promise<Compiled> {
  const key = JSON.stringify(schema);
  const hit = compiled.get(key);
  if (hit) return hit;
  // Validated in the draft the schema is written in; `$schema` itself is left out, as the class is chosen by it.
  const { ajv, engine } = await ajvFor(schemaDialect(schema));
  const { $schema: _draft, ...body } = schema;
  const made = engine.made;
  // An `$id` Ajv already holds (its meta-schema's URL) is refused: compiling it fails, and removing it afterwards
  // would take the meta-schema away from every later caller of this draft.
  const before = new Set(registeredIds(ajv));
  const id = typeof body.$id === 'string' ? body.$id.replace(/#$/, '') : undefined;
  if (id !== undefined && before.has(id)) throw new TypeError(`responseFormat.schema is not a valid JSON Schema: its $id "${id.slice(0, 200)}" is reserved`);
  let validate: AjvValidate;
  try {
    validate = ajv.compile(body);
  } catch (error) {
    throw new TypeError(`responseFormat.schema is not a valid JSON Schema: ${(error as Error).message}`);
  } finally {
    // The compiled function is kept here (and bounded in number), not in Ajv's own cache, which never forgets;
    // so a later schema with the same `$id` is not refused either. Only what this compile added (the schema,
    // and the `$id`s nested in it) is removed: never a schema Ajv held before.
    for (const added of registeredIds(ajv)) if (!before.has(added)) ajv.removeSchema(added);
    ajv.removeSchema(body);
  }
  const entry: Compiled = engine.made > made ? { validate, engine } : { validate };
  if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value!);
  compiled.set(key, entry);
  return entry;
}

/** A zod issue path as a JSON pointer (`/items/0/name`). */
function pointer(path: readonly PropertyKey[]): string {
  return path.map((p) => '/' + String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}
