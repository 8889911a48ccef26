import type { IncomingMessage } from 'node:http';
import { GatewayError, invalidRequest } from '../errors.js';

/**
 * Reads a request body up to `limit` bytes; a larger one is a 413 without
 * reading the rest. With stream events rather than `for await` (an async
 * iterator, its listeners and a promise per chunk, on every request).
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.reject(tooLarge(limit));
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (error?: unknown): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', settle);
      req.off('close', onClose);
      if (error !== undefined) reject(error);
      else resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        // The rest is read and dropped (no listener keeps it) while the 413 goes out; its
        // `Connection: close` then ends the connection. (Destroying the request here would
        // cut the socket before the answer could be written.)
        settle(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => settle();
    // Closed before its end: the client went away mid-body.
    const onClose = (): void => (req.complete ? settle() : settle(Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' })));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', settle);
    req.on('close', onClose);
  });
}

/** Answered at once, the body left unread: the connection closes after the answer. */
function tooLarge(limit: number): GatewayError {
  return new GatewayError(413, 'invalid_request_error', `request body larger than ${limit} bytes (gateway.max_body_bytes)`, {
    code: 'request_too_large',
    headers: { connection: 'close' },
  });
}

/** The body as JSON: a 400 naming the problem when it is not a JSON object. */
export function parseJsonBody(body: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw invalidRequest(`the request body is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidRequest('the request body must be a JSON object');
  return value as Record<string, unknown>;
}
