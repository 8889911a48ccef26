/**
 * CORS, so that browser apps can call the gateway (`gateway.cors`). Off by
 * default: without it no answer carries a CORS header and a browser blocks
 * every cross-origin call. A preflight is answered before authentication (a
 * browser never sends the key on one); the answers to an allowed origin carry
 * `Access-Control-Allow-Origin`, errors and streams included (a browser app
 * must be able to read a 401 or a 429). Never `Access-Control-Allow-Credentials`:
 * keys travel in a header the page sets, not in cookies, so no answer needs it
 * (and with `*` it would let any site ride on the user's credentials).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface CorsSettings {
  /** The origins allowed, in lower case (as browsers send them); `*`: any. */
  origins: '*' | ReadonlySet<string>;
  /** How long a browser may keep a preflight's answer (Access-Control-Max-Age). */
  maxAgeSeconds: number;
}

/**
 * Request headers a preflight may ask for: the key's (auth.ts), the request id,
 * and what the official openai client sends from a browser (its organization
 * and project, `User-Agent` where the browser lets a page set it; its
 * `x-stainless-*` headers are matched by STAINLESS below).
 */
const ALLOWED_HEADERS = ['accept', 'authorization', 'content-type', 'x-api-key', 'api-key', 'x-request-id', 'openai-organization', 'openai-project', 'user-agent'];

/** The openai client's (and other Stainless clients') telemetry headers: `x-stainless-os`, `x-stainless-retry-count`... */
const STAINLESS = /^x-stainless-[a-z0-9-]{1,64}$/;

/** Answer headers a browser app may read: the id to quote in a report, and how long to wait after a 429. */
const EXPOSED_HEADERS = 'x-request-id, retry-after';

/** A browser's preflight: OPTIONS with an Origin and the method it asks about. */
export function isPreflight(req: IncomingMessage): boolean {
  return req.method === 'OPTIONS' && req.headers.origin !== undefined && req.headers['access-control-request-method'] !== undefined;
}

/** Access-Control-Allow-Origin for the request: its origin when listed, `*` when any is, undefined otherwise (or without an Origin). */
export function allowedOrigin(cors: CorsSettings, req: IncomingMessage): string | undefined {
  const origin = req.headers.origin;
  if (origin === undefined) return undefined;
  if (cors.origins === '*') return '*';
  return cors.origins.has(origin.toLowerCase()) ? origin : undefined;
}

/**
 * Sets the CORS headers of a normal answer (merged into whatever status and
 * headers it is written with later). `Vary: Origin` on every answer: whether
 * it carries the header depends on the Origin, which a cache must know.
 */
export function applyCors(cors: CorsSettings, req: IncomingMessage, res: ServerResponse): void {
  res.setHeader('vary', 'Origin');
  const origin = allowedOrigin(cors, req);
  if (origin === undefined) return;
  res.setHeader('access-control-allow-origin', origin);
  res.setHeader('access-control-expose-headers', EXPOSED_HEADERS);
}

/** The headers of a preflight's 204 for a route taking `method`; undefined when the origin is not allowed. */
export function preflightHeaders(cors: CorsSettings, req: IncomingMessage, method: string): Record<string, string> | undefined {
  const origin = allowedOrigin(cors, req);
  if (origin === undefined) return undefined;
  return {
    'access-control-allow-origin': origin,
    'access-control-allow-methods': method,
    'access-control-allow-headers': allowedHeaders(req.headers['access-control-request-headers']),
    'access-control-max-age': String(cors.maxAgeSeconds),
    vary: 'Origin, Access-Control-Request-Headers',
  };
}

/**
 * The allowed list, with the `x-stainless-*` headers the preflight asks for
 * (the client adds new ones from version to version). A header outside the
 * list is left out, and the browser then refuses to send the request.
 */
function allowedHeaders(requested: string | undefined): string {
  const names = new Set(ALLOWED_HEADERS);
  for (const name of (requested ?? '').split(',')) {
    const header = name.trim().toLowerCase();
    if (STAINLESS.test(header)) names.add(header);
  }
  return [...names].join(', ');
}
