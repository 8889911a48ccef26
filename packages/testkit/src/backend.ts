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
  const h = req.headers['authorization'];
  const v = Array.isArray(h) ? h[0] : h;
  const m = v ? /^Bearer\s+(.+)$/i.exec(v.trim()) : null;
  return m ? m[1] : undefined;
}

/** True when no key is configured or the request carries `Authorization: Bearer <key>`. */
export function authorized(ctx: HandlerCtx): boolean {
  return ctx.options.apiKey === undefined || bearerToken(ctx.req) === ctx.options.apiKey;
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
