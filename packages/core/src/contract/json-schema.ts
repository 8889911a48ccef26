/** Schemas a caller may give as JSON Schema or as a zod schema, turned into JSON Schema for the wire. */
import { z, type ZodType } from 'zod';
import type { JsonSchema } from './tools.js';

/** True for a zod (v4) schema: it carries zod's `_zod` internals. */
export function isZodSchema(value: unknown): value is ZodType {
  return typeof value === 'object' && value !== null && '_zod' in value;
}

/**
 * The JSON Schema of a schema given as JSON Schema (returned as is) or as a
 * zod schema (converted with zod's own `z.toJSONSchema`, in its input form:
 * fields with defaults are optional, as the model may leave them out; no
 * `$schema` key, which some backends refuse). A plain `z.object` is closed
 * (`additionalProperties: false`): zod drops keys it does not list, so none
 * are wanted, and backends' strict modes require it; `z.looseObject` and a
 * catchall keep what they say. `what` names the schema in the TypeError
 * thrown for anything else.
 */
export function toJsonSchema(schema: unknown, what: string): JsonSchema {
  if (isZodSchema(schema)) {
    let converted: JsonSchema;
    try {
      converted = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', override: closeObjects }) as JsonSchema;
    } catch (error) {
      throw new TypeError(`${what}: the zod schema cannot be converted to JSON Schema: ${(error as Error).message}`);
    }
    delete converted.$schema;
    return converted;
  }
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    throw new TypeError(`${what} must be a JSON Schema object or a zod schema`);
  }
  return schema as JsonSchema;
}

/** `z.toJSONSchema`'s override: a plain `z.object` (no catchall) forbids other keys, as its parse drops them. */
function closeObjects(ctx: { zodSchema: unknown; jsonSchema: Record<string, unknown> }): void {
  const def = (ctx.zodSchema as { _zod?: { def?: { type?: string; catchall?: unknown } } })._zod?.def;
  if (def?.type === 'object' && def.catchall === undefined && ctx.jsonSchema.additionalProperties === undefined) {
    ctx.jsonSchema.additionalProperties = false;
  }
}
