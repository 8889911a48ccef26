import { z } from '@aegis/core';
import { invalidRequest, unsupportedParameter } from '../errors.js';

/** `messages[0].content`, as OpenAI names a parameter in its errors. */
export function paramPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out === '' ? '' : '.'}${String(p)}`;
  return out;
}

/**
 * Parses a request body with a zod schema; a problem is a 400 naming the
 * parameter. Parameters the gateway cannot honour yet are refused by name
 * (never silently dropped); unknown ones as OpenAI does ("Unrecognized request argument").
 */
export function parseRequest<S extends z.ZodObject<any>>(
  schema: S,
  body: Record<string, unknown>,
  unsupported: Record<string, { why: string; allowed?: (value: unknown) => boolean }> = {},
): z.output<S> {
  for (const [param, value] of Object.entries(body)) {
    const rule = unsupported[param];
    if (rule && value !== null && value !== undefined && !(rule.allowed?.(value) ?? false)) throw unsupportedParameter(param, rule.why);
    if (!rule && !(param in schema.shape)) throw invalidRequest(`Unrecognized request argument supplied: ${param}`, param, 'unknown_parameter');
  }
  const known = Object.fromEntries(Object.entries(body).filter(([key]) => key in schema.shape));
  // Not jitless (unlike config validation): the same schema parses every request, and zod's compiled path pays off.
  const result = schema.safeParse(known);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const param = paramPath(issue.path);
  throw invalidRequest(`Invalid value for "${param || 'body'}": ${issue.message}`, param || undefined, 'invalid_value');
}
