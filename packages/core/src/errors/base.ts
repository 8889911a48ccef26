/**
 * One error hierarchy for everything AEGIS throws. Errors are recognised by a
 * marker property (a global symbol) and a `code`, never by `instanceof`, so two
 * installed copies of `@aegis/core` (say, one hoisted and one nested under a
 * plugin) still recognise each other's errors.
 */
const MARKER = Symbol.for('aegis.error');

export type AegisErrorCode =
  | 'configuration'
  | 'plugin'
  | 'provider'
  | 'capability_not_supported';

export interface AegisErrorOptions {
  cause?: unknown;
}

export abstract class AegisError extends Error {
  readonly [MARKER] = true;
  abstract readonly code: AegisErrorCode;

  constructor(message: string, options: AegisErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
  }

  /** True for any AEGIS error, from any installed copy of core. */
  static isAegisError(value: unknown): value is AegisError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[MARKER] === true;
  }
}

/** Builds the `isInstance` check of one error class: marker plus code. */
export function hasCode<T extends AegisError>(value: unknown, code: AegisErrorCode): value is T {
  return AegisError.isAegisError(value) && value.code === code;
}
