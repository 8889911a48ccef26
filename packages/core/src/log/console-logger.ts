import type { LogLevel } from '../contract/logger.js';
import { LevelLogger, type EntryLevel } from './level-logger.js';
import { safeForTerminal } from './terminal-text.js';

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

export interface ConsoleLoggerOptions {
  /** Where a finished line goes (default: stderr). */
  write?: (line: string) => void;
  /** Applied to every line before it is written (the instance's secret scrubber). */
  scrub?: (text: string) => string;
  /** Start of every line (default `[aegis]`). */
  prefix?: string;
}

/**
 * Writes one line per entry at or above a level, with every known secret
 * scrubbed and control characters made visible (the default goes to a terminal).
 */
export class ConsoleLogger extends LevelLogger {
  private readonly write: (line: string) => void;
  private readonly scrub: (text: string) => string;
  private readonly prefix: string;

  constructor(
    private readonly level: LogLevel,
    options: ConsoleLoggerOptions = {},
  ) {
    super();
    this.write = options.write ?? ((line) => process.stderr.write(line + '\n'));
    this.scrub = options.scrub ?? ((text) => text);
    this.prefix = options.prefix ?? '[aegis]';
  }

  protected log(level: EntryLevel, message: string, fields?: Record<string, unknown>): void {
    if (ORDER[level] < ORDER[this.level]) return;
    const extra = fields && Object.keys(fields).length > 0 ? ' ' + JSON.stringify(fields) : '';
    this.write(safeForTerminal(this.scrub(`${this.prefix} ${level}: ${message}${extra}`)));
  }
}

export function parseLogLevel(value: string | undefined, fallback: LogLevel = 'warn'): LogLevel {
  return value !== undefined && value in ORDER ? (value as LogLevel) : fallback;
}
