import { AegisError, CapabilityNotSupportedError, ConfigurationError, ProviderError, formatIssue, type ConfigIssue } from '@aegis/core';
import { oneLine } from './output.js';

/** Exit codes of the `aegis` command. Config and plugin errors (PluginError) exit with `usage`. */
export const EXIT = {
  ok: 0,
  /** Configuration, plugin and usage errors (and anything unexpected). */
  usage: 1,
  /** The backend failed. */
  provider: 2,
  /** The profile's provider cannot do what was asked. */
  capability: 3,
  /** Interrupted with Ctrl-C. */
  interrupted: 130,
  /** Stopped because the reader of stdout went away (`| head`): 128 + SIGPIPE, as other tools end then. */
  readerGone: 141,
} as const;

/** A mistake in how the command was called, found by the CLI itself (commander reports its own). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }

  static isInstance(value: unknown): value is UsageError {
    return value instanceof Error && value.name === 'UsageError';
  }
}

/** The call was aborted with Ctrl-C. */
export class InterruptedError extends Error {
  constructor(options?: { cause?: unknown }) {
    super('interrupted', options);
    this.name = 'InterruptedError';
  }

  static isInstance(value: unknown): value is InterruptedError {
    return value instanceof Error && value.name === 'InterruptedError';
  }
}

/** The reader of stdout went away (a closed pipe, `aegis complete --stream ... | head -2`): the call was stopped. */
export class ReaderGoneError extends Error {
  constructor() {
    super('stdout was closed by its reader; the call was stopped');
    this.name = 'ReaderGoneError';
  }

  static isInstance(value: unknown): value is ReaderGoneError {
    return value instanceof Error && value.name === 'ReaderGoneError';
  }
}

export interface ErrorReport {
  /** What to print on stderr, one entry per line, each already prefixed with `aegis: ` where it starts a message. */
  lines: string[];
  exitCode: number;
}

/** Turns an error into the lines to print and the exit code. Stacks (and causes) only with `verbose`. */
export function describeError(error: unknown, verbose: boolean): ErrorReport {
  // A reader that stopped reading (`| head`) is no failure to tell of: the exit code says it.
  const report: ErrorReport = { lines: ReaderGoneError.isInstance(error) && !verbose ? [] : summary(error), exitCode: exitCodeOf(error) };
  if (verbose) report.lines.push(...stackOf(error));
  return report;
}

export function exitCodeOf(error: unknown): number {
  if (InterruptedError.isInstance(error)) return EXIT.interrupted;
  if (ReaderGoneError.isInstance(error)) return EXIT.readerGone;
  if (CapabilityNotSupportedError.isInstance(error)) return EXIT.capability;
  if (ProviderError.isInstance(error)) return EXIT.provider;
  return EXIT.usage;
}

/** An issue on one line, as core's formatIssue writes it, with the message of {@link issueMessage}. */
export function formatIssueLine(issue: ConfigIssue): string {
  return oneLine(formatIssue({ ...issue, message: issueMessage(issue) }));
}

/** An issue's message on one line. */
export function issueMessage(issue: ConfigIssue): string {
  return oneLine(issue.message);
}

function summary(error: unknown): string[] {
  if (ConfigurationError.isInstance(error) && error.issues.length > 1) {
    return [`aegis: ${error.issues.length} configuration problems:`, ...error.issues.map((issue) => `  ${formatIssueLine(issue)}`)];
  }
  if (ConfigurationError.isInstance(error) && error.issues.length === 1) {
    return [`aegis: ${formatIssueLine(error.issues[0]!)}`];
  }
  if (ProviderError.isInstance(error) && error.partialText) {
    return [`aegis: ${oneLine(error.message)} (after ${error.partialText.length} characters of the answer)`];
  }
  if (AegisError.isAegisError(error) || error instanceof Error) return [`aegis: ${oneLine(error.message) || error.name}`];
  return [`aegis: ${oneLine(String(error))}`];
}

function stackOf(error: unknown): string[] {
  const lines: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 5; depth++) {
    const text = current instanceof Error ? (current.stack ?? `${current.name}: ${current.message}`) : String(current);
    lines.push(...(depth === 0 ? text : `caused by: ${text}`).split('\n'));
    current = current instanceof Error ? current.cause : undefined;
  }
  return lines;
}
