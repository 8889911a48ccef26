/**
 * The JSON Schema draft a response schema is written in, so that it is
 * validated with that draft's meaning. Most keywords a response schema uses
 * mean the same in every draft, but not a tuple's: draft-07 (what
 * zod-to-json-schema, zod 3 and client SDKs' schema helpers write, with
 * `"$schema": "http://json-schema.org/draft-07/schema#"`) writes
 * `items: [a, b]` with `additionalItems`, which draft 2020-12 (`prefixItems`,
 * `items` a single schema) does not even accept.
 */
import type { JsonSchema } from './tools.js';

/** The drafts Ajv has a class for: draft-07 (also used for draft-04 and -06), 2019-09, 2020-12. */
export type SchemaDialect = 'draft-07' | '2019-09' | '2020-12';

/**
 * The schema's draft: the one its top-level `$schema` names; else draft-07
 * when it writes a tuple as a list of `items` (valid in draft-07 only); else
 * draft 2020-12.
 */
export function schemaDialect(schema: JsonSchema): SchemaDialect {
  const declared = declaredDialect(schema.$schema);
  if (declared) return declared;
  return hasListItems(schema) ? 'draft-07' : '2020-12';
}

/** The draft a `$schema` URL names (`http` or `https`, with or without the final `#`), if one Ajv knows. */
function declaredDialect(uri: unknown): SchemaDialect | undefined {
  if (typeof uri !== 'string') return undefined;
  const match = /^https?:\/\/json-schema\.org\/(draft-0[3-7]|draft\/2019-09|draft\/2020-12)\/schema#?$/i.exec(uri.trim());
  if (!match) return undefined;
  const draft = match[1]!.toLowerCase();
  return draft === 'draft/2020-12' ? '2020-12' : draft === 'draft/2019-09' ? '2019-09' : 'draft-07';
}

/** Keywords whose value is data (an instance), never a schema: not looked into. */
const DATA = new Set(['enum', 'const', 'default', 'examples', 'required']);
/** Keywords whose value maps names to schemas (or, for `dependencies`, to lists of names). */
const NAMED = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependencies', 'dependentSchemas']);

/** Whether any subschema has `items` as a list (a draft-07 tuple). Walks with its own stack, each object once. */
function hasListItems(schema: JsonSchema): boolean {
  const stack: unknown[] = [schema];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== 'object' || node === null || Array.isArray(node) || seen.has(node)) continue;
    seen.add(node);
    const record = node as Record<string, unknown>;
    if (Array.isArray(record.items)) return true;
    for (const [key, value] of Object.entries(record)) {
      if (DATA.has(key) || typeof value !== 'object' || value === null) continue;
      // A name map's values are schemas (a `dependencies` list of names is skipped as a non-object); a list's items are.
      const children = NAMED.has(key) || Array.isArray(value) ? Object.values(value) : [value];
      for (const child of children) stack.push(child);
    }
  }
  return false;
}
