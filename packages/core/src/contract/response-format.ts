/** Structured output: ask the backend for JSON, optionally following a schema. */
import type { ZodType } from 'zod';
import type { JsonSchema } from './tools.js';

/** What a caller asks for: any JSON, or JSON following a schema (JSON Schema or zod). */
export type ResponseFormat = { type: 'text' } | { type: 'json'; schema?: JsonSchema | ZodType; name?: string; description?: string };

/** The same as a provider receives it: the schema always a JSON Schema. */
export type ResponseFormatSpec = { type: 'text' } | { type: 'json'; schema?: JsonSchema; name?: string; description?: string };
