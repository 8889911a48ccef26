/**
 * Test HTTP servers of core's own tests, on 127.0.0.1: one way to listen,
 * track the sockets (closed at the end, so no test leaves one open) and keep
 * idle kept-alive connections open (a request reusing one just as Node's 5 s
 * keep-alive timeout closed it would meet a reset: suites/README.md, "Timing").
 */
import http, { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { ProviderError } from '../errors/provider-error.js';

export interface Loopback {
  /** `http://127.0.0.1:<port>`. */
  base: string;
  /** The server's open sockets. */
  sockets: ReadonlySet<Socket>;
  /** Destroys every open socket and closes the server. */
  close(): Promise<void>;
}

/** Listens on a free loopback port; `onConnection` sees each new socket (to count connections, say). */
export async function listenOnLoopback(server: http.Server, onConnection?: (socket: Socket) => void): Promise<Loopback> {
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    onConnection?.(s);
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.keepAliveTimeout = 0;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sockets,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** A handler of a routed test server, by request path. */
export type RouteHandler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/**
 * A loopback server answering by path from `routes` (which a test fills as it
 * goes) once the request's body has been read; 404 for a path without one.
 * `onRequest` sees every request as it comes.
 */
export function listenWithRoutes(routes: ReadonlyMap<string, RouteHandler>, onRequest?: (req: http.IncomingMessage) => void): Promise<Loopback> {
  const server = createServer((req, res) => {
    onRequest?.(req);
    req.resume();
    req.on('end', () => (routes.get(req.url ?? '') ?? ((_q, r) => r.writeHead(404).end()))(req, res));
  });
  return listenOnLoopback(server);
}

/** The ProviderError a promise rejects with (rethrows anything else; fails when it resolves). */
export async function providerFailure(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (error) {
    if (!ProviderError.isInstance(error)) throw error;
    return error;
  }
  throw new Error('expected a ProviderError');
}
