/**
 * Checks an answer that was asked to be JSON: parses it and validates it
 * against the call's schema: with zod itself when the caller gave a zod
 * schema (so the value is zod's typed output, defaults and transforms
 * applied), with Ajv (JSON Schema draft 2020-12) when the caller gave JSON
 * Schema. Ajv is loaded only by a call that needs it (its own bundle chunk).
 */
import type { ZodType } from 'zod';
import { StructuredOutputError, type StructuredOutputIssue } from '../errors/structured-output-error.js';
import { isZodSchema } from './json-schema.js';
import type { ResponseFormat } from './response-format.js';
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
      const outcome = run(value);
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
 * as the answer. Anything else that is not JSON is a StructuredOutputError.
 */
export function parseJson(text: string): unknown {
  const trimmed = text.trim();
  const fenced = /^```(?:json)?\s*\n([\s\S]*?)\n?```$/i.exec(trimmed);
  const body = fenced ? fenced[1]! : trimmed;
  try {
    return JSON.parse(body);
  } catch (error) {
    const quote = body.length > QUOTE ? `${body.slice(0, QUOTE)}...` : body;
    throw new StructuredOutputError(`the answer is not JSON (${(error as Error).message}): ${JSON.stringify(quote)}`, {
      text,
      issues: [{ path: '', message: `not valid JSON: ${(error as Error).message}` }],
    });
  }
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
  const validate = await compileJsonSchema(schema);
  return (value) => {
    if (validate(value)) return { ok: true, value };
    return {
      ok: false,
      issues: (validate.errors ?? []).map((e) => ({ path: e.instancePath, message: e.message ?? e.keyword })),
    };
  };
}

type AjvValidate = ((value: unknown) => boolean) & { errors?: { instancePath: string; message?: string; keyword: string }[] | null };

/** Compiled schemas, by their JSON text (a schema reused call after call is compiled once). */
const compiled = new Map<string, AjvValidate>();
const MAX_COMPILED = 100;
let ajv: Promise<{ compile(schema: object): AjvValidate }> | undefined;

async function compileJsonSchema(schema: JsonSchema): Promise<AjvValidate> {
  const key = JSON.stringify(schema);
  const hit = compiled.get(key);
  if (hit) return hit;
  ajv ??= import('ajv/dist/2020.js').then((m) => {
    const Ajv = (m.default ?? m) as unknown as new (options: object) => { compile(schema: object): AjvValidate };
    // strict: false, as backends' schemas carry keywords Ajv does not know (`title`, vendor extensions).
    return new Ajv({ allErrors: true, strict: false, validateFormats: false });
  });
  // Schemas written by other tools often name their draft (`$schema`: draft-07, from zod-to-json-schema and
  // client SDKs' helpers); the keywords a response schema uses mean the same in 2020-12, which validates them all.
  const { $schema: _draft, ...body } = schema;
  let validate: AjvValidate;
  try {
    validate = (await ajv).compile(body);
  } catch (error) {
    throw new TypeError(`responseFormat.schema is not a valid JSON Schema: ${(error as Error).message}`);
  }
  if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value!);
  compiled.set(key, validate);
  return validate;
}

/** A zod issue path as a JSON pointer (`/items/0/name`). */
function pointer(path: readonly PropertyKey[]): string {
  return path.map((p) => '/' + String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}
