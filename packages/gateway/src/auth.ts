import type { IncomingMessage } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { digestOf, type KeySpec } from './config.js';
import { GatewayError } from './errors.js';

/** The caller when no keys are configured (loopback only): no limits. */
export const ANONYMOUS: KeySpec = Object.freeze({ name: 'anonymous', digest: Buffer.alloc(32), limits: {} });

/** The key presented: `Authorization: Bearer <key>` (what OpenAI clients send), else `x-api-key` / `api-key`. */
function presentedKey(req: IncomingMessage): string | undefined {
  const authorization = req.headers.authorization;
  if (authorization) {
    const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    return match ? match[1]!.trim() : undefined;
  }
  const header = req.headers['x-api-key'] ?? req.headers['api-key'];
  return typeof header === 'string' && header !== '' ? header.trim() : undefined;
}

/**
 * Finds the key a request presents. Digests of equal length are compared in
 * constant time, against every key (no early exit), so neither the time nor
 * the key list's order tells anything about the keys.
 */
export function authenticate(req: IncomingMessage, keys: readonly KeySpec[]): KeySpec {
  if (keys.length === 0) return ANONYMOUS;
  const key = presentedKey(req);
  if (key === undefined) {
    throw new GatewayError(401, 'invalid_request_error', 'You didn\'t provide an API key. Send it as "Authorization: Bearer <key>".', { code: 'missing_api_key' });
  }
  const digest = digestOf(key);
  let found: KeySpec | undefined;
  for (const candidate of keys) {
    if (timingSafeEqual(candidate.digest, digest) && found === undefined) found = candidate;
  }
  if (!found) throw new GatewayError(401, 'invalid_request_error', 'Incorrect API key provided.', { code: 'invalid_api_key' });
  return found;
}

export function assertModelAllowed(key: KeySpec, model: string): void {
  if (key.models && !key.models.has(model)) {
    throw new GatewayError(403, 'permission_error', `key "${key.name}" may not use model "${model}"`, { param: 'model', code: 'model_not_allowed' });
  }
}
