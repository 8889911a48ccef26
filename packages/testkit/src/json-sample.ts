/**
 * What a backend constrained to JSON answers when the test scripted no text:
 * a small instance of the requested JSON Schema (any JSON object without one),
 * as a grammar-constrained model would produce.
 */

/** A minimal instance of a JSON Schema: required properties filled, the first enum/const value, `$ref` into `$defs` followed. */
export function sampleOf(schema: unknown, root: unknown = schema, depth = 0): unknown {
  if (depth > 32 || typeof schema !== 'object' || schema === null) return null;
  const s = schema as Record<string, any>;
  if (typeof s.$ref === 'string') {
    const target = s.$ref.replace(/^#\//, '').split('/').reduce((node: any, key: string) => node?.[key], root);
    return sampleOf(target, root, depth + 1);
  }
  if ('const' in s) return s.const;
  if (Array.isArray(s.enum) && s.enum.length > 0) return s.enum[0];
  for (const key of ['anyOf', 'oneOf', 'allOf']) if (Array.isArray(s[key]) && s[key].length > 0) return sampleOf(s[key][0], root, depth + 1);
  const type = Array.isArray(s.type) ? s.type.find((t: unknown) => t !== 'null') : s.type;
  switch (type ?? (s.properties ? 'object' : undefined)) {
    case 'object': {
      const out: Record<string, unknown> = {};
      const required: string[] = Array.isArray(s.required) ? s.required : Object.keys(s.properties ?? {});
      for (const key of required) out[key] = sampleOf(s.properties?.[key] ?? {}, root, depth + 1);
      return out;
    }
    case 'array': {
      // A tuple: 2020-12's `prefixItems`, or draft-07's list form of `items`; one item per position.
      const tuple = Array.isArray(s.prefixItems) ? s.prefixItems : Array.isArray(s.items) ? s.items : undefined;
      if (tuple) return tuple.map((item: unknown) => sampleOf(item, root, depth + 1));
      return Array.from({ length: Math.max(1, s.minItems ?? 1) }, () => sampleOf(s.items ?? {}, root, depth + 1));
    }
    case 'string':
      return 'x'.repeat(Math.max(1, s.minLength ?? 1));
    case 'integer':
    case 'number':
      return typeof s.minimum === 'number' ? s.minimum : typeof s.exclusiveMinimum === 'number' ? s.exclusiveMinimum + 1 : 1;
    case 'boolean':
      return true;
    case 'null':
      return null;
    default:
      return {};
  }
}

/** The reply text of a JSON-constrained request: an instance of `schema`, or `{}` when the request asked for any JSON. */
export function jsonReplyText(schema: unknown): string {
  return JSON.stringify(schema === undefined ? {} : sampleOf(schema));
}
