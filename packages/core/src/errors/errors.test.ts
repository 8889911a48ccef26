/**
 * AEGIS errors are recognised by their marker (a global symbol) and their
 * code, never by `instanceof` (two installed copies of core must know each
 * other's errors), nor by a `code` alone (any error may carry one: Node's
 * own do).
 */
import { describe, expect, it } from '@jest/globals';
import { AegisError, ConfigurationError, PluginError, ProviderError } from './index.js';

describe('recognising AEGIS errors', () => {
  it('an error with an AEGIS code but without the marker is not one', () => {
    const lookalike = Object.assign(new Error('x'), { code: 'provider' });
    expect(ProviderError.isInstance(lookalike)).toBe(false);
    expect(AegisError.isAegisError(lookalike)).toBe(false);
    expect(AegisError.isAegisError({})).toBe(false);
    expect(AegisError.isAegisError(null)).toBe(false);
  });

  it('a real one is, and one from another copy of core (the marker and the code, another class)', () => {
    const error = new ProviderError('backend down', { status: 503 });
    expect(ProviderError.isInstance(error)).toBe(true);
    expect(AegisError.isAegisError(error)).toBe(true);
    const fromAnotherCopy = Object.assign(new Error('x'), { [Symbol.for('aegis.error')]: true, code: 'provider' });
    expect(ProviderError.isInstance(fromAnotherCopy)).toBe(true);
  });

  it('each class knows only its own code', () => {
    const provider = new ProviderError('backend down');
    expect(ConfigurationError.isInstance(provider)).toBe(false);
    expect(PluginError.isInstance(provider)).toBe(false);
    const config = new ConfigurationError('bad field');
    expect(ConfigurationError.isInstance(config)).toBe(true);
    expect(ProviderError.isInstance(config)).toBe(false);
  });
});
