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
  return untilDrained(res);
}

/** Resolves once the client's socket can take more (true), or is gone (false). */
function untilDrained(res: ServerResponse): Promise<boolean> {
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

/**
 * The pieces of a streamed answer (SSE events), written as few, large
 * writes: what is sent during one run of promise jobs (the deltas of one
 * upstream read) is joined into one string and written once, on the next
 * tick. One `res.write` per piece, even corked, costs a chunk header, the
 * piece and a CRLF each in one `writev` (three buffers a delta), which was
 * the largest single cost of a stream in the gateway's profile. `flush()`
 * writes at once (the first delta, so it is not kept waiting for the rest of
 * its batch). Backpressure as `write`: when the client's socket is full,
 * `send` resolves once it has drained (false when the client is gone), so a
 * slow reader holds the upstream back.
 */
export class StreamWriter {
  private pending = '';
  private scheduled = false;
  private full = false;

  constructor(private readonly res: ServerResponse) {}

  send(data: string): boolean | Promise<boolean> {
    const { res } = this;
    if (res.destroyed) return false;
    this.pending += data;
    if (!this.scheduled) {
      this.scheduled = true;
      process.nextTick(this.flushTick);
    }
    return this.full ? this.drained() : true;
  }

  /**
   * Writes what is pending now, and puts it on the wire now: node corks the
   * socket for a chunked write and uncorks it on the next tick, which comes
   * only once the promise jobs queued behind this one have run (the rest of
   * an upstream read's deltas, mapped and encoded), so without the uncork the
   * first delta would wait for all of them.
   */
  flush(): boolean | Promise<boolean> {
    this.write();
    this.res.uncork();
    if (this.res.destroyed) return false;
    return this.full ? this.drained() : true;
  }

  /** Ends the answer with what is pending and `tail`. */
  end(tail: string): void {
    const data = this.pending + tail;
    this.pending = '';
    if (!this.res.destroyed) this.res.end(data);
  }

  private readonly flushTick = (): void => {
    this.scheduled = false;
    this.write();
  };

  private write(): void {
    if (this.pending === '') return;
    const data = this.pending;
    this.pending = '';
    if (this.res.destroyed || this.res.writableEnded) return;
    if (!this.res.write(data) && !this.full) {
      this.full = true;
      this.res.once('drain', this.onDrain);
    }
  }

  private readonly onDrain = (): void => {
    this.full = false;
  };

  private drained(): Promise<boolean> {
    return untilDrained(this.res);
  }
}
