import type { ServerResponse } from 'node:http';

/** Writes a whole JSON answer. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/**
 * Writes a piece of a streamed answer, waiting while the client's socket is
 * full (so a slow reader holds the upstream back instead of filling the
 * gateway's memory). Resolves false when the client is gone.
 */
export function write(res: ServerResponse, data: string): boolean | Promise<boolean> {
  if (res.destroyed) return false;
  if (res.write(data)) return true;
  return new Promise<boolean>((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve(!res.destroyed);
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
