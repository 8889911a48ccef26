import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { StreamWriter } from './respond.js';

let server: http.Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r));
  server = undefined;
});

/** Serves one streamed answer written by `write`; resolves with what `write` observed and the body the client got. */
async function serve<T>(write: (res: http.ServerResponse) => T): Promise<{ seen: T; body: string }> {
  let seen!: T;
  server = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    seen = write(res);
  });
  server.keepAliveTimeout = 0;
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  const body = await new Promise<string>((resolve, reject) => {
    http.get(`http://127.0.0.1:${(server!.address() as AddressInfo).port}/`, { agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve(text));
    }).on('error', reject);
  });
  return { seen, body };
}

describe('StreamWriter', () => {
  it('puts what `flush` writes on the wire at once: the socket is not left corked until the next tick', async () => {
    const { seen, body } = await serve((res) => {
      const out = new StreamWriter(res);
      out.send('data: first\n\n');
      out.flush();
      const afterFlush = res.socket!.writableCorked;
      out.send('data: second\n\n');
      out.send('data: third\n\n');
      const pending = res.socket!.writableLength;
      setImmediate(() => out.end('data: [DONE]\n\n'));
      return { afterFlush, pending };
    });
    // node corks a chunked write and uncorks on the next tick; `flush` uncorks now.
    expect(seen.afterFlush).toBe(0);
    // `send` only gathers: nothing more was handed to the socket in the same turn.
    expect(seen.pending).toBe(0);
    expect(body).toBe('data: first\n\ndata: second\n\ndata: third\n\ndata: [DONE]\n\n');
  });
});
