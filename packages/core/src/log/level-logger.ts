import type { Logger } from '../contract/logger.js';

/** The level of one entry (`silent` is a threshold, never an entry's level). */
export type EntryLevel = keyof Logger;

/** A logger whose four level methods all go to one `log`: what core's loggers share. */
export abstract class LevelLogger implements Logger {
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

  protected abstract log(level: EntryLevel, message: string, fields?: Record<string, unknown>): void;
}
