/** Turns plans into bytes on the socket: whole, frame by frame with a pause, or one byte at a time. */
import type { ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Plan } from './plan.js';

export interface Wire {
  status: number;
  headers: Record<string, string>;
  pieces: (string | Buffer)[];
  /** Send Content-Length (whole bodies); otherwise chunked or close-delimited. */
  contentLength: boolean;
  closeDelimited?: boolean;
  /**
   * 'destroy' drops the connection after the pieces (FIN without the end of the chunked body);
   * 'reset' sends a TCP RST instead (needed when the body is close-delimited, where a FIN looks like a clean end).
   */
  end: 'end' | 'destroy' | 'reset';
  /** Wait this long before the status line, then write every piece at once (a stream simulated after generation). */
  holdMs?: number;
}

export interface WriteOptions {
  chunkDelayMs: number;
  /** Send the body one byte at a time with this pause. */
  dripMs?: number;
  signal: AbortSignal;
}

/** The wire of an unmodified plan. */
export function planWire(plan: Plan): Wire {
  if (plan.type === 'body') {
    return { status: plan.status, headers: plan.headers, pieces: [plan.body], contentLength: true, end: 'end' };
  }
  const { format } = plan;
  const pieces = [...plan.frames, ...plan.tail].map(format.frame);
  if (format.done) pieces.push(format.done);
  return {
    status: plan.status,
    headers: { 'content-type': format.contentType, 'cache-control': 'no-cache', ...plan.headers },
    pieces,
    contentLength: false,
    closeDelimited: format.closeDelimited,
    end: 'end',
    ...(plan.holdMs !== undefined ? { holdMs: plan.holdMs } : {}),
  };
}

export function wireBytes(w: Wire): number {
  return w.pieces.reduce((n, p) => n + (typeof p === 'string' ? Buffer.byteLength(p) : p.length), 0);
}

function joined(pieces: (string | Buffer)[]): string | Buffer {
  if (pieces.every((p) => typeof p === 'string')) return (pieces as string[]).join('');
  return Buffer.concat(pieces.map((p) => (typeof p === 'string' ? Buffer.from(p) : p)));
}

/** Write and wait until the data is handed to the kernel (or the response is gone). */
function flushWrite(res: ServerResponse, data: string | Buffer): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('close', done);
      resolve();
    };
    res.once('close', done);
    res.write(data, done);
  });
}

export async function writeWire(res: ServerResponse, wire: Wire, opts: WriteOptions): Promise<void> {
  const stopped = (): boolean => opts.signal.aborted || res.destroyed;
  if (wire.holdMs !== undefined) {
    try {
      await sleep(wire.holdMs, undefined, { signal: opts.signal });
    } catch {
      return; // aborted while "generating"
    }
    if (stopped()) return;
    opts = { ...opts, chunkDelayMs: 0 };
  }
  res.statusCode = wire.status;
  for (const [k, v] of Object.entries(wire.headers)) res.setHeader(k, v);
  if (wire.contentLength) res.setHeader('content-length', wireBytes(wire));
  if (wire.closeDelimited) res.useChunkedEncodingByDefault = false;
  try {
    if (opts.dripMs !== undefined) {
      res.flushHeaders();
      const all = joined(wire.pieces);
      const bytes = typeof all === 'string' ? Buffer.from(all) : all;
      for (let i = 0; i < bytes.length; i++) {
        await sleep(opts.dripMs, undefined, { signal: opts.signal });
        if (stopped()) return;
        res.write(bytes.subarray(i, i + 1));
      }
    } else if (opts.chunkDelayMs > 0 && wire.pieces.length > 1) {
      for (let i = 0; i < wire.pieces.length; i++) {
        if (i > 0) await sleep(opts.chunkDelayMs, undefined, { signal: opts.signal });
        if (stopped()) return;
        await flushWrite(res, wire.pieces[i]!);
      }
    } else if (wire.pieces.length > 0) {
      await flushWrite(res, joined(wire.pieces));
    } else {
      res.flushHeaders();
    }
  } catch {
    return; // aborted: the emulator is closing or the client went away
  }
  if (stopped()) return;
  if (wire.end !== 'end') {
    if (wire.pieces.length === 0) await flushWrite(res, '');
    const socket = res.socket;
    if (wire.end === 'reset' && socket) {
      // let the written bytes reach the peer before the RST discards the send queue
      await sleep(20, undefined, { signal: opts.signal }).catch(() => undefined);
      socket.resetAndDestroy();
    } else {
      socket?.destroy();
    }
  } else {
    res.end();
  }
}
