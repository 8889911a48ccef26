/** Test helpers (not part of the published build): an Aegis instance over a temporary backends.yaml. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from '@jest/globals';
import { createAegis, ProviderError, type AegisPlugin, type Aegis, type BackendProvider } from '@aegis/core';

export interface Harness {
  aegis: Aegis;
  provider(profile: string): Promise<BackendProvider>;
  close(): void;
}

/** Writes the profiles into a temporary backends.yaml (JSON is valid YAML) and builds an Aegis on it. */
export function harness(plugin: AegisPlugin, profiles: Record<string, unknown>[], env: Record<string, string> = {}): Harness {
  const dir = mkdtempSync(join(tmpdir(), 'aegis-plugin-test-'));
  const configPath = join(dir, 'backends.yaml');
  writeFileSync(configPath, JSON.stringify({ profiles }, null, 2));
  const aegis = createAegis({ plugins: [plugin], configPath, env, discover: false, logLevel: 'error' });
  return {
    aegis,
    provider: (profile) => aegis.getProviderForProfile(profile),
    close() {
      aegis.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The ProviderError a promise rejects with. */
export async function providerError(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (error) {
    if (ProviderError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a ProviderError, but the call succeeded');
}

/** The error a promise rejects with, whatever it is. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail');
}

/** Iterates a stream to its end or its error; returns the deltas and the error. */
export async function drain(stream: AsyncIterable<string>): Promise<{ deltas: string[]; error?: unknown }> {
  const deltas: string[] = [];
  try {
    for await (const delta of stream) deltas.push(delta);
  } catch (error) {
    return { deltas, error };
  }
  return { deltas };
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
