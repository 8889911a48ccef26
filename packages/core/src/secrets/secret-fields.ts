import { z } from 'zod';
import { isHarmlessHeader, isHeadersMap, looksLikeCredential } from './credential-names.js';
import { redactUrlsIn } from './url-credentials.js';
import { MAX_NESTING } from '../config/limits.js';

export { looksLikeCredential } from './credential-names.js';

/**
 * Secret fields. A plugin marks a config field as secret with `secret(z.string())`;
 * fields whose name looks like a credential are treated as secret too, so a
 * plugin author who forgets the marker still does not leak a key.
 */
const SECRET_META_KEY = 'aegisSecret';

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

/**
 * Values that are credentials whatever field they are in: an `Authorization`
 * value (`Bearer ...`, `Basic ...`), and keys of well-known shapes.
 */
const CREDENTIAL_VALUE = [
  // `Bearer <credential>`, not `Basic settings`: the credential has a digit or punctuation, or is long.
  /^(bearer|basic|token)\s+((?=\S*[0-9._~+/=-])\S{8,}|\S{20,})$/i,
  /^sk-[A-Za-z0-9_-]{16,}$/,
  /^(ghp|gho|ghs|github_pat|glpat|hf|xox[abpr])[-_][A-Za-z0-9_-]{16,}$/,
  /^AKIA[0-9A-Z]{16}$/,
  /^eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+$/,
];

export function looksLikeCredentialValue(value: string): boolean {
  const text = value.trim();
  return CREDENTIAL_VALUE.some((shape) => shape.test(text));
}

/** An env variable that names a model (`CHAT_MODEL`, `LOCAL_MODELS`, `EMBEDDING_MODEL_NAME`). */
const MODEL_VARIABLE = /(?:^|_)MODELS?(?:_NAME)?$/i;

/**
 * Whether an env file variable is a setting rather than a secret: one that
 * names a model, unless its value looks like a key. Its value (`llama3`) is
 * shown, where hiding it would hide every model name in every output (and an
 * answer that mentions it). A value used in a secret field is learnt there.
 */
export function isModelSetting(name: string, value: string): boolean {
  return MODEL_VARIABLE.test(name) && !looksLikeCredential(name) && !looksLikeCredentialValue(value);
}

/**
 * Where a backend is, not a secret: a host name (`localhost`, `llm.internal.lan`,
 * its last label letters), an IPv4 address or a bracketed IPv6 one, with an optional port.
 */
const PLAIN_HOST = /^(?:localhost|(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}|\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

/**
 * Whether a `${VAR}` substituted into backends.yaml is clearly a setting
 * rather than a secret: the variable or the field it goes into names a model
 * (`${CHAT_MODEL}`, `model: ${LLM}`), or its value is a plain host
 * (`http://${HOST}:8080/v1`); never when the variable or the field has a
 * credential-like name or the value looks like a key. Every other substituted
 * value is a secret, as every value of `.env` is: hiding a model's name or a
 * host would hide it in every output (and in every answer that mentions it).
 */
export function isPlainSubstitution(variable: string, value: string, field: string): boolean {
  if (looksLikeCredential(variable) || looksLikeCredential(field) || looksLikeCredentialValue(value)) return false;
  return MODEL_VARIABLE.test(variable) || MODEL_VARIABLE.test(field) || PLAIN_HOST.test(value.trim());
}

/**
 * A copy of a profile's values fit to show: at any depth, a field whose name
 * looks like a credential (or, at the top, is in `secretKeys`), every header
 * of a `headers` map but a few harmless ones, and any value shaped like a key
 * become `***`; URLs lose their user, password and credential query values.
 * A list or mapping nested deeper than the loader allows (MAX_NESTING, values
 * passed in code can be) is `***` whole: what is not looked at is not shown.
 */
export function redactValues<T extends Record<string, unknown>>(values: T, secretKeys: ReadonlySet<string> = new Set()): T {
  return redactMapping(values, (key) => secretKeys.has(key), 0) as T;
}

/** The same depth as the loader's (config/limits.ts), so everything a profile can hold is looked at. */
const MAX_DEPTH = MAX_NESTING;

function redactMapping(values: Record<string, unknown>, isSecret: (key: string) => boolean, depth: number): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    const hidden = isSecret(key) || looksLikeCredential(key);
    out[key] = hidden && hasValue(value) ? REDACTED : redactValue(value, key, depth + 1);
  }
  return out;
}

function redactValue(value: unknown, key: string, depth: number): unknown {
  if (typeof value === 'string') return looksLikeCredentialValue(value) ? REDACTED : redactUrlsIn(value, REDACTED);
  if (typeof value !== 'object' || value === null) return value;
  if (depth > MAX_DEPTH) return REDACTED;
  if (Array.isArray(value)) return value.map((item) => redactValue(item, key, depth + 1));
  const headers = isHeadersMap(key);
  return redactMapping(value as Record<string, unknown>, (name) => headers && !isHarmlessHeader(name), depth);
}

/** A value worth hiding: not absent, empty or a plain on/off switch. */
function hasValue(value: unknown): boolean {
  return value !== undefined && value !== null && value !== '' && typeof value !== 'boolean';
}
