/** The generic loopback server: listens on 127.0.0.1, records requests, tracks sockets, applies queued faults. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BackendDef, HandlerCtx } from './backend.js';
import { customStatusWire, faultWire } from './faults.js';
import { multipartBoundary, parseMultipart } from './multipart.js';
import { PlanError, type Plan } from './plan.js';
import { replyFor } from './tools.js';
import type { Emulator, EmulatorOptions, Fault, RecordedRequest, ScriptedReply } from './types.js';
import { planWire, writeWire, type Wire } from './wire.js';

function record(req: IncomingMessage, body: Buffer): RecordedRequest {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  const rec: RecordedRequest = {
    method: req.method ?? 'GET',
    path: q >= 0 ? url.slice(0, q) : url,
    url,
    headers: { ...req.headers },
    body,
  };
  const type = req.headers['content-type'];
  const boundary = multipartBoundary(type);
  if (boundary) {
    rec.form = parseMultipart(body, boundary);
  } else if (body.length > 0 && (/json/i.test(type ?? '') || /^\s*[{[]/.test(body.subarray(0, 64).toString()))) {
    try {
      rec.json = JSON.parse(body.toString('utf8'));
    } catch {
      /* not JSON: handlers answer with the backend's bad-input error */
    }
  }
  return rec;
}

class EmulatorServer implements Emulator {
  readonly requests: RecordedRequest[] = [];
  private readonly faults: { fault: Fault; match?: (request: RecordedRequest) => boolean }[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly inflight = new Set<AbortController>();
  private connections = 0;
  private reply: ScriptedReply;
  private closing: Promise<void> | undefined;
  url = '';

  constructor(
    readonly def: BackendDef,
    readonly options: EmulatorOptions,
    readonly server: Server,
  ) {
    this.reply = { ...options.reply };
    server.on('connection', (socket) => {
      this.connections++;
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.on('request', (req, res) => this.onRequest(req, res));
  }

  get toolWire() {
    return this.def.toolWire;
  }

  get kind() {
    return this.def.kind;
  }
  get baseUrl(): string {
    return this.url + this.def.baseSuffix;
  }
  get lastRequest(): RecordedRequest | undefined {
    return this.requests[this.requests.length - 1];
  }
  get connectionCount(): number {
    return this.connections;
  }
  setReply(reply: ScriptedReply): void {
    this.reply = { ...reply };
  }
  failNext(fault: Fault, times = 1, match?: (request: RecordedRequest) => boolean): void {
    for (let i = 0; i < times; i++) this.faults.push({ fault, match });
  }
  reset(): void {
    this.requests.length = 0;
    this.faults.length = 0;
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      for (const c of this.inflight) c.abort();
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
    return this.closing;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('error', () => undefined);
    req.on('end', () => {
      const rec = record(req, Buffer.concat(parts));
      this.requests.push(rec);
      const ctl = new AbortController();
      this.inflight.add(ctl);
      res.on('close', () => {
        ctl.abort();
        this.inflight.delete(ctl);
      });
      this.respond(rec, res, ctl.signal).catch(() => res.socket?.destroy());
    });
  }

  private plan(ctx: HandlerCtx): Plan {
    const { def } = this;
    const route = def.routes.find((r) => r.method === ctx.req.method && r.path === ctx.req.path);
    try {
      const denied = def.authorize(ctx, route);
      if (denied) return denied;
      if (!route) return def.notFound(ctx, def.routes.some((r) => r.path === ctx.req.path));
      if ((route.body ?? (route.method === 'POST' ? 'json' : 'any')) === 'json' && ctx.req.json === undefined) {
        return def.invalidBody(ctx);
      }
      return route.handler(ctx);
    } catch (e) {
      if (e instanceof PlanError) return e.plan;
      return def.errorPlan(500, ctx, e instanceof Error ? e.message : String(e));
    }
  }

  private async respond(req: RecordedRequest, res: ServerResponse, signal: AbortSignal): Promise<void> {
    // The first queued fault meant for this request (one without `match` is meant for any).
    const at = this.faults.findIndex((queued) => !queued.match || queued.match(req));
    const fault = at < 0 ? undefined : this.faults.splice(at, 1)[0]!.fault;
    const ctx: HandlerCtx = { req, reply: replyFor(req, this.reply, this.def.toolWire), options: this.options };
    const opts = { chunkDelayMs: this.options.chunkDelayMs ?? 0, signal };
    if (!fault) return writeWire(res, planWire(this.plan(ctx)), opts);
    switch (fault.kind) {
      case 'reset': {
        const s = res.socket;
        if (s && typeof s.resetAndDestroy === 'function') s.resetAndDestroy();
        else s?.destroy();
        return;
      }
      case 'hang':
        return; // released by close() or by the client
      case 'status':
        return writeWire(res, customStatusWire(fault, this.def.errorPlan(fault.status, ctx)), opts);
      case 'delay':
        try {
          await sleep(fault.ms, undefined, { signal });
        } catch {
          return;
        }
        return writeWire(res, planWire(this.plan(ctx)), opts);
      case 'drip':
        return writeWire(res, planWire(this.plan(ctx)), { ...opts, dripMs: fault.intervalMs ?? 10 });
      case 'invalid-tool-arguments': {
        const calls = ctx.reply.toolCalls ?? [];
        const broken = calls.map((c, i) => (i === 0 ? { ...c, arguments: halfArguments(c.arguments) } : c));
        return writeWire(res, planWire(this.plan({ ...ctx, reply: { ...ctx.reply, toolCalls: broken } })), opts);
      }
      case 'oversized': {
        const big: HandlerCtx = { ...ctx, reply: { ...ctx.reply, text: 'x'.repeat(fault.bytes), chunks: undefined } };
        return writeWire(res, faultWire(fault, this.plan(big)), opts);
      }
      default: {
        const plan = this.plan(ctx);
        let wire: Wire = faultWire(fault, plan);
        if (fault.kind === 'stream-error' && plan.type === 'body') {
          wire = planWire(this.def.errorPlan(500, ctx, fault.message));
        }
        return writeWire(res, wire, opts);
      }
    }
  }
}

export async function startServer(def: BackendDef, options: EmulatorOptions = {}): Promise<Emulator> {
  const server = createServer();
  // Idle kept-alive connections stay open until the client or close() ends them. Node's default
  // closes one after 5 s of quiet, and a request the client sends on it at that very moment meets
  // a reset: a race real backends have too (a retrying call rides it out), but one that made a
  // test with retries off fail now and then when an earlier test left the emulator idle ~5 s.
  server.keepAliveTimeout = 0;
  const emu = new EmulatorServer(def, options, server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  emu.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return emu;
}

/** Half of a call's arguments as JSON text: never valid JSON (an object's text cut before its closing brace). */
function halfArguments(args: Record<string, unknown> | string): string {
  const text = typeof args === 'string' ? args : JSON.stringify(args);
  return text.slice(0, Math.max(1, Math.floor(text.length / 2)));
}
