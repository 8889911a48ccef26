/**
 * Test HTTP servers of core's own tests, on 127.0.0.1: one way to listen,
 * track the sockets (closed at the end, so no test leaves one open) and keep
 * idle kept-alive connections open (a request reusing one just as Node's 5 s
 * keep-alive timeout closed it would meet a reset: suites/README.md, "Timing").
 */
import type http from 'node:http';
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
