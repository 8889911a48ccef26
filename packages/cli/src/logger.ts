import type { Logger, LogLevel } from '@aegis/core';
import type { RedactingWriter } from './output.js';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export function parseLogLevel(value: string | undefined, fallback: LogLevel): LogLevel {
  return value !== undefined && value in ORDER ? (value as LogLevel) : fallback;
}

/** Core's log lines, on the CLI's stderr writer (so they are scrubbed like everything else). */
export class CliLogger implements Logger {
  constructor(
    private readonly level: LogLevel,
    private readonly err: RedactingWriter,
  ) {}

  debug(message: string, fields?: Record<string, unknown>): void {
    this.log('debug', message, fields);
  }
  info(message: string, fields?: Record<string, unknown>): void {
    this.log('info', message, fields);
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.log('warn', message, fields);
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.log('error', message, fields);
  }

  private log(level: LogLevel, message: string, fields?: Record<string, unknown>): void {
    if (ORDER[level] < ORDER[this.level]) return;
    const extra = fields && Object.keys(fields).length > 0 ? ' ' + JSON.stringify(fields) : '';
    this.err.line(`aegis: ${level}: ${message}${extra}`);
  }
}
