import path from 'node:path';
import type { Aegis, AegisOptions } from '@aegis/core';
import { InterruptedError, ReaderGoneError, UsageError } from './errors.js';
import type { RedactingWriter } from './output.js';

/** The global options, as commander parses them. */
export interface GlobalOptions {
  config?: string;
  /** `--dotenv <path>`: the env file to read. */
  dotenv?: string;
  verbose?: boolean;
}

/** What a command gets: the writers, stdin, and the Aegis instance (created on first use). */
export interface CommandContext {
  readonly out: RedactingWriter;
  readonly err: RedactingWriter;
  readonly stdin: NodeJS.ReadableStream;
  readonly cwd: string;
  /** The environment the CLI runs in (`process.env` unless embedded). */
  readonly env: Record<string, string | undefined>;
  readonly verbose: boolean;
  /** The instance (made once; `options` count at the first call). */
  aegis(options?: InstanceOptions): Promise<Aegis>;
  /** A new instance with the same options, reading backends.yaml and .env again (for reloads). */
  freshAegis(options?: InstanceOptions): Promise<Aegis>;
}

/** What a command asks of its instance beyond the CLI's options. */
export interface InstanceOptions {
  /** Connection pool defaults the file's `http:` section may change (aegis serve: no bound per backend). */
  httpDefaults?: AegisOptions['httpDefaults'];
}

/** A path given on the command line, resolved against the working directory. */
export function resolvePath(ctx: CommandContext, file: string): string {
  return path.resolve(ctx.cwd, file);
}

/** Reads all of stdin as UTF-8. Tells a terminal user that it is waiting. */
export async function readStdin(ctx: CommandContext, what: string): Promise<string> {
  if ((ctx.stdin as { isTTY?: boolean }).isTTY) ctx.err.line(`aegis: reading ${what} from stdin (end with Ctrl-D)`);
  const chunks: Buffer[] = [];
  for await (const chunk of ctx.stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
}

/** The words of the command line joined, else all of stdin (without its final newline); never empty. */
export async function textFromArgsOrStdin(ctx: CommandContext, words: readonly string[], what: string): Promise<string> {
  const text = words.length > 0 ? words.join(' ') : (await readStdin(ctx, what)).replace(/\r?\n$/, '');
  if (text.trim() === '') throw new UsageError(`no ${what}: pass it as arguments or on stdin`);
  return text;
}

/**
 * Runs a backend call with an AbortSignal that Ctrl-C (SIGINT) fires. The
 * first Ctrl-C aborts the call; the listener is then gone, so a second one
 * ends the process the usual way. A reader of stdout that goes away (`| head`:
 * the next write fails with EPIPE) aborts it too: nobody reads the rest, and
 * a backend generating it would be paid for nothing.
 */
export async function withInterrupt<T>(call: (signal: AbortSignal) => Promise<T>, out?: RedactingWriter): Promise<T> {
  const controller = new AbortController();
  const onSigint = () => controller.abort(new InterruptedError());
  process.once('SIGINT', onSigint);
  const stopWatching = out?.onReaderGone(() => controller.abort(new ReaderGoneError()));
  try {
    const result = await call(controller.signal);
    // A stream that ended in the same turn as the reader left still says so.
    if (ReaderGoneError.isInstance(controller.signal.reason)) throw controller.signal.reason;
    return result;
  } catch (error) {
    if (ReaderGoneError.isInstance(controller.signal.reason)) throw controller.signal.reason;
    if (controller.signal.aborted) throw InterruptedError.isInstance(error) ? error : new InterruptedError({ cause: error });
    throw error;
  } finally {
    process.removeListener('SIGINT', onSigint);
    stopWatching?.();
  }
}
