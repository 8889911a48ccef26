/**
 * Structured output and image input in the chat API's own form:
 * `response_format` (`json_schema` or `json_object`) and user content parts
 * (`text`, `image_url` with an https or `data:` URL).
 */
import { imageUrl, type ResponseFormatSpec, type UserContent } from '@aegis/core';

/** A user content part on the wire. */
export type WireContentPart = { type: 'text'; text: string } | { type: 'image_url'; image_url: { url: string } };

/** `response_format` on the wire. */
export type WireResponseFormat =
  | { type: 'json_object' }
  | { type: 'json_schema'; json_schema: { name: string; description?: string; schema: Record<string, unknown>; strict?: boolean } };

/** A user message's content: the string as is, parts as `text` / `image_url` parts. */
export function toWireContent(content: UserContent): string | WireContentPart[] {
  if (typeof content === 'string') return content;
  return content.map((part) => (part.type === 'text' ? { type: 'text', text: part.text } : { type: 'image_url', image_url: { url: imageUrl(part) } }));
}

/**
 * The call's response format as `response_format`: `json_schema` with the
 * schema (named `response` unless the caller named it; names may hold only
 * letters, digits, `_` and `-`), strict when the schema allows it, else
 * `json_object`. Nothing for text.
 */
export function toWireResponseFormat(format: ResponseFormatSpec | undefined): WireResponseFormat | undefined {
  if (!format || format.type !== 'json') return undefined;
  if (!format.schema) return { type: 'json_object' };
  const name = (format.name ?? 'response').replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 64) || 'response';
  return {
    type: 'json_schema',
    json_schema: {
      name,
      ...(format.description ? { description: format.description } : {}),
      schema: format.schema,
      strict: isStrictCompatible(format.schema),
    },
  };
}

/**
 * The keywords OpenAI's strict mode takes (its Structured Outputs guide:
 * `type`, objects' `properties`/`required`/`additionalProperties`, `items`,
 * `enum`, `const`, `anyOf`, `$ref`/`$defs`, the annotations, and the listed
 * constraints: `pattern` and `format` for strings, the bounds and
 * `multipleOf` for numbers, `minItems`/`maxItems` for arrays). Anything else
 * (`minLength`, `default`, `allOf`, a tuple's list of `items`, ...) is refused
 * in strict mode.
 */
const STRICT_KEYWORDS = new Set([
  'type', 'properties', 'required', 'additionalProperties', 'items', 'enum', 'const', 'anyOf', '$ref', '$defs', 'definitions',
  'description', 'title', '$schema', '$id', 'pattern', 'format', 'multipleOf', 'maximum', 'exclusiveMaximum', 'minimum',
  'exclusiveMinimum', 'minItems', 'maxItems',
]);

/**
 * Whether a schema meets strict mode's rules (an object at the root; every
 * object lists all its properties as required and forbids others; only the
 * keywords strict mode takes), so asking for `strict: true` does not make the
 * API refuse it. Any other schema is sent non-strict: the answer is still
 * validated against it by core.
 */
export function isStrictCompatible(schema: unknown): boolean {
  return isRecord(schema) && schema.type === 'object' && strictSubschema(schema, 0);
}

function strictSubschema(schema: unknown, depth: number): boolean {
  if (depth > 64 || !isRecord(schema)) return false;
  if (!Object.keys(schema).every((key) => STRICT_KEYWORDS.has(key))) return false;
  // Strict mode wants every subschema typed (`{}`, as `z.any()` gives, is refused), or a choice or a reference.
  if (schema.type === undefined && schema.anyOf === undefined && schema.$ref === undefined) return false;
  const { properties, items, anyOf, $defs, definitions } = schema;
  if (properties !== undefined) {
    if (!isRecord(properties)) return false;
    const required = Array.isArray(schema.required) ? schema.required : [];
    if (schema.additionalProperties !== false || !Object.keys(properties).every((k) => required.includes(k))) return false;
    if (!Object.values(properties).every((p) => strictSubschema(p, depth + 1))) return false;
  } else if ((schema.type === 'object' || (Array.isArray(schema.type) && schema.type.includes('object'))) && schema.additionalProperties !== false) {
    return false;
  }
  if (items !== undefined && !strictSubschema(items, depth + 1)) return false;
  if (anyOf !== undefined && !(Array.isArray(anyOf) && anyOf.every((s) => strictSubschema(s, depth + 1)))) return false;
  for (const defs of [$defs, definitions]) {
    if (defs !== undefined && !(isRecord(defs) && Object.values(defs).every((s) => strictSubschema(s, depth + 1)))) return false;
  }
  return true;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
