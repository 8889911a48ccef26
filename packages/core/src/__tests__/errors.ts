/** Test helpers for errors of core's own tests. */
import { ConfigurationError } from '../errors/index.js';

/** The ConfigurationError `fn` throws (rethrows anything else; fails when it throws nothing). */
export function configErrorOf(fn: () => unknown): ConfigurationError {
  try {
    fn();
  } catch (error) {
    if (ConfigurationError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a ConfigurationError');
}
