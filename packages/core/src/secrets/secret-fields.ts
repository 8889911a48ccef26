import { z } from 'zod';

/**
 * Secret fields. A plugin marks a config field as secret with `secret(z.string())`;
 * fields whose name looks like a credential are treated as secret too, so a
 * plugin author who forgets the marker still does not leak a key.
 */
const SECRET_META_KEY = 'aegisSecret';
const CREDENTIAL_NAME = /(^|_)(api_?key|key|password|passwd|secret|token|auth|authorization|credentials?)($|_)/i;

export function secret<T extends z.ZodType>(schema: T): T {
  return schema.meta({ [SECRET_META_KEY]: true }) as T;
}

/** True when the schema (or the schema it wraps: optional, default, nullable, pipe) is marked secret. */
export function isMarkedSecret(schema: z.ZodType | undefined): boolean {
  let current: z.ZodType | undefined = schema;
  for (let depth = 0; current && depth < 10; depth++) {
    const meta = z.globalRegistry.get(current) as Record<string, unknown> | undefined;
    if (meta?.[SECRET_META_KEY] === true) return true;
    const def = (current as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
    current = (def.innerType ?? def.in ?? undefined) as z.ZodType | undefined;
  }
  return false;
}

export function looksLikeCredential(fieldName: string): boolean {
  return CREDENTIAL_NAME.test(fieldName);
}

/** Names of the top-level fields of an object schema that hold secrets. */
export function secretKeysOf(schema: z.ZodType): Set<string> {
  const keys = new Set<string>();
  const shape = (schema as unknown as { shape?: Record<string, z.ZodType> }).shape;
  if (!shape) return keys;
  for (const [key, field] of Object.entries(shape)) {
    if (isMarkedSecret(field) || looksLikeCredential(key)) keys.add(key);
  }
  return keys;
}

export const REDACTED = '***';

/** A copy of a profile's values with every secret field replaced by `***`. */
export function redactValues<T extends Record<string, unknown>>(values: T, secretKeys: ReadonlySet<string>): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    out[key] = (secretKeys.has(key) || looksLikeCredential(key)) && value !== undefined && value !== null && value !== '' ? REDACTED : value;
  }
  return out as T;
}
