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
 * Whether a schema meets strict mode's rules (every object lists all its
 * properties as required and forbids others), so asking for `strict: true`
 * does not make the API refuse it. A schema with optional fields is sent
 * non-strict: the answer is still validated against it by core.
 */
export function isStrictCompatible(schema: unknown, depth = 0): boolean {
  if (depth > 64) return false;
  if (Array.isArray(schema)) return schema.every((s) => isStrictCompatible(s, depth + 1));
  if (typeof schema !== 'object' || schema === null) return true;
  const s = schema as Record<string, unknown>;
  const properties = s.properties;
  if (typeof properties === 'object' && properties !== null) {
    const keys = Object.keys(properties);
    const required = Array.isArray(s.required) ? s.required : [];
    if (s.additionalProperties !== false || !keys.every((k) => required.includes(k))) return false;
  } else if (s.type === 'object' && s.additionalProperties !== false) {
    return false;
  }
  return Object.entries(s).every(([key, value]) => key === 'enum' || key === 'const' || key === 'default' || isStrictCompatible(value, depth + 1));
}
