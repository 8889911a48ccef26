/** The contract between the generic server and one emulated backend. */
import type { Plan } from './plan.js';
import type { BackendKind, EmulatorOptions, RecordedRequest, ScriptedReply, ToolWireReader } from './types.js';

export interface HandlerCtx {
  req: RecordedRequest;
  reply: ScriptedReply;
  options: EmulatorOptions;
}

export type Handler = (ctx: HandlerCtx) => Plan;

export interface Route {
  method: 'GET' | 'POST';
  path: string;
  handler: Handler;
  /** What the body must be. POST routes default to 'json'. */
  body?: 'json' | 'any';
}

export interface BackendDef {
  /** A name for the backend (shown as `Emulator.kind`). */
  kind: BackendKind;
  /** Appended to the server URL to form `baseUrl` ('/v1' or ''). */
  baseSuffix: string;
  routes: Route[];
  /** The backend's 401 plan when the request is not authorized, else undefined. `route` is undefined for unknown paths. */
  authorize(ctx: HandlerCtx, route: Route | undefined): Plan | undefined;
  /** The backend's own error body for a status. */
  errorPlan(status: number, ctx: HandlerCtx, message?: string): Plan;
  /** Unknown path (or known path with another method). */
  notFound(ctx: HandlerCtx, methodMismatch: boolean): Plan;
  /** Body that should be JSON but is not. */
  invalidBody(ctx: HandlerCtx): Plan;
  /** How the backend's requests carry tools, when its emulator answers tool calls (`ScriptedReply.toolCalls`). */
  toolWire?: ToolWireReader;
}

export function bearerToken(req: RecordedRequest): string | undefined {
  return credentialOf(req, BEARER);
}

/**
 * Where a backend expects its key: a header (`x-api-key`, `api-key`), with an
 * optional scheme word before the key (`Bearer`, `Token`, `Basic`), or a
 * query parameter (`?key=`).
 */
export type AuthPlacement = { header: string; scheme?: string } | { query: string };

/** `Authorization: Bearer <key>`, the default. */
export const BEARER: AuthPlacement = { header: 'authorization', scheme: 'Bearer' };

/** The key a request carries where `auth` says (undefined when absent or in another form). */
export function credentialOf(req: RecordedRequest, auth: AuthPlacement = BEARER): string | undefined {
  if ('query' in auth) {
    const value = new URL(req.url, 'http://emulator.invalid').searchParams.get(auth.query);
    return value ?? undefined;
  }
  const h = req.headers[auth.header.toLowerCase()];
  const value = (Array.isArray(h) ? h[0] : h)?.trim();
  if (!value) return undefined;
  if (!auth.scheme) return value;
  const m = /^(\S+)\s+(.+)$/.exec(value);
  return m && m[1]!.toLowerCase() === auth.scheme.toLowerCase() ? m[2] : undefined;
}

/**
 * True when no key is configured or the request carries it where `auth` says
 * (default `Authorization: Bearer <key>`): `authorized(ctx, { header: 'x-api-key' })`.
 */
export function authorized(ctx: HandlerCtx, auth: AuthPlacement = BEARER): boolean {
  return ctx.options.apiKey === undefined || credentialOf(ctx.req, auth) === ctx.options.apiKey;
}

/** The request JSON body as an object (empty object if absent). */
export function body(ctx: HandlerCtx): Record<string, any> {
  const j = ctx.req.json;
  return j && typeof j === 'object' && !Array.isArray(j) ? j : {};
}

/** True when the emulator has a `models` list and `model` is not on it. */
export function unknownModel(ctx: HandlerCtx, model: unknown, normalize: (m: string) => string = (m) => m): boolean {
  const list = ctx.options.models;
  if (!list || list.length === 0) return false;
  return typeof model !== 'string' || !list.map(normalize).includes(normalize(model));
}
