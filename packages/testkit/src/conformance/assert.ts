/** Small helpers of the checks: plain Errors with clear messages, time limits, request inspection. */
import type { RecordedRequest } from '../types.js';

/** A check failed: the message says what the plugin did wrong. */
export class ConformanceError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConformanceError';
  }
}

export function fail(message: string, cause?: unknown): never {
  throw new ConformanceError(message, cause === undefined ? undefined : { cause });
}

export function check(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) fail(typeof message === 'string' ? message : message());
}

/** `Name: message` of an error, for messages. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return `a thrown ${typeof error} (${String(error)})`;
}

/** A short, readable rendering of a value for messages. */
export function show(value: unknown, max = 120): string {
  let text: string;
  try {
    text = value instanceof Uint8Array ? `<${value.length} bytes>` : (JSON.stringify(value) ?? String(value));
  } catch {
    text = String(value);
  }
  return text.length > max ? text.slice(0, max) + '…' : text;
}

export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Waits for a promise, but no longer than `ms`; then fails saying what did not finish. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  promise.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ConformanceError(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The outcome of a call that should fail, without throwing. */
export async function settle<T>(run: () => Promise<T>): Promise<Settled<T>> {
  try {
    return { ok: true, value: await run() };
  } catch (error) {
    return { ok: false, error };
  }
}

/** Every number found in a request: in its JSON body (at any depth), its multipart fields and its query string. */
export function numbersIn(request: RecordedRequest): number[] {
  const out: number[] = [];
  const walk = (value: unknown): void => {
    if (typeof value === 'number') out.push(value);
    else if (typeof value === 'string') {
      if (/^\s*-?\d+(\.\d+)?([eE][-+]?\d+)?\s*$/.test(value)) out.push(Number(value));
    } else if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') Object.values(value).forEach(walk);
  };
  if (request.json !== undefined) walk(request.json);
  if (request.form) walk(request.form.fields);
  const q = request.url.indexOf('?');
  if (q >= 0) for (const v of new URLSearchParams(request.url.slice(q + 1)).values()) walk(v);
  return out;
}

/** True when `n` equals `target` within float noise (0.75 may arrive as 0.7500000001 after a float32 round trip). */
export function sameNumber(n: number, target: number): boolean {
  return Math.abs(n - target) < 1e-6;
}
