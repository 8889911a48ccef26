import type { IncomingMessage } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { digestOf, type KeySpec } from './config.js';
import { GatewayError, modelNotFound } from './errors.js';

/** The caller when no keys are configured (loopback only): no limits. */
export const ANONYMOUS: KeySpec = Object.freeze({ name: 'anonymous', digest: Buffer.alloc(32), limits: {} });

/**
 * The key presented: `Authorization: Bearer <key>` (what OpenAI clients send), else `x-api-key` / `api-key`
 * (Azure-style clients; also behind a proxy that puts its own Basic credentials in `Authorization`).
 */
function presentedKey(req: IncomingMessage): string | undefined {
  const authorization = req.headers.authorization;
  const bearer = authorization ? /^Bearer\s+(.+)$/i.exec(authorization.trim()) : null;
  if (bearer) return bearer[1]!.trim();
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

/** A model outside the key's list is answered as one that does not exist (404), so a key cannot find out which others are served. */
export function assertModelAllowed(key: KeySpec, model: string): void {
  if (key.models && !key.models.has(model)) throw modelNotFound(model);
}
