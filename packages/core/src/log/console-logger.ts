import type { Logger, LogLevel } from '../contract/logger.js';
import type { SecretScrubber } from '../secrets/scrubber.js';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

/** Writes one line per entry to a stream (stderr by default), with every known secret scrubbed. */
export class ConsoleLogger implements Logger {
  constructor(
    private readonly level: LogLevel,
    private readonly scrubber: SecretScrubber,
    private readonly write: (line: string) => void = (line) => process.stderr.write(line + '\n'),
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
    this.write(this.scrubber.scrub(`[aegis] ${level}: ${message}${extra}`));
  }
}

export function parseLogLevel(value: string | undefined, fallback: LogLevel = 'warn'): LogLevel {
  return value !== undefined && value in ORDER ? (value as LogLevel) : fallback;
}
