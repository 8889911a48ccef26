/** Test helpers (not part of the published build). */
import { expect } from '@jest/globals';
import type { AegisPlugin, ProviderError } from '@aegis/core';
import { createTestAegis, type TestAegis } from '@aegis/testkit';

export { drain, providerError, rejection } from '@aegis/testkit';

export type Harness = TestAegis;

/** An Aegis instance over a temporary backends.yaml holding these profiles. */
export function harness(plugin: AegisPlugin, profiles: Record<string, unknown>[], env: Record<string, string> = {}): Harness {
  return createTestAegis({ plugins: [plugin], profiles, env });
}

/** Asserts the common parts of an HTTP error mapping. */
export function expectHttpError(e: ProviderError, expected: { status: number; url: string; message: string; retryable: boolean }): void {
  expect(e.reason).toBe('http');
  expect(e.status).toBe(expected.status);
  expect(e.url).toBe(expected.url);
  expect(e.message).toContain(expected.message);
  expect(e.message).toContain(`HTTP ${expected.status}`);
  expect(e.retryable).toBe(expected.retryable);
}
