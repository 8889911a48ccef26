import { describe, expect, it } from '@jest/globals';
import { ProviderError } from '../errors/provider-error.js';
import { withRetries } from './retry.js';

const refused = () => new ProviderError('connection refused', { reason: 'connection', retryable: true });
const unavailable = () => new ProviderError('HTTP 503', { status: 503, retryable: true, retryAfterMs: 0 });

describe('withRetries and retryIf', () => {
  it('a veto stops retrying that failure at once', async () => {
    let attempts = 0;
    const vetoed: number[] = [];
    const error = await withRetries(
      async () => {
        attempts++;
        throw refused();
      },
      { maxRetries: 5, retryIf: (e, attempt) => (vetoed.push(attempt), e.reason !== 'connection') },
    ).catch((e: unknown) => e);
    expect((error as ProviderError).reason).toBe('connection');
    expect(attempts).toBe(1);
    expect(vetoed).toEqual([0]);
  });

  it('failures it allows are retried as before', async () => {
    let attempts = 0;
    const result = await withRetries(
      async () => {
        if (++attempts < 3) throw unavailable();
        return 'ok';
      },
      { maxRetries: 5, retryIf: (e) => e.reason !== 'connection' },
    );
    expect([result, attempts]).toEqual(['ok', 3]);
  });

  it('never makes a non-retryable failure retried', async () => {
    let attempts = 0;
    await withRetries(
      async () => {
        attempts++;
        throw new ProviderError('HTTP 400', { status: 400 });
      },
      { maxRetries: 5, retryIf: () => true },
    ).catch(() => undefined);
    expect(attempts).toBe(1);
  });
});
