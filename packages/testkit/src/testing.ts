/**
 * Helpers for plugin tests: an AEGIS instance over a temporary backends.yaml,
 * built the way an application builds it, and small promise/stream probes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAegis, ProviderError, type Aegis, type AegisPlugin, type BackendProvider, type LogLevel } from '@aegis/core';

export interface TestAegisOptions {
  plugins: AegisPlugin[];
  /** backends.yaml text, or the list of profiles (written as JSON, which is YAML). */
  profiles: string | Record<string, unknown>[];
  /** Environment for `${VAR}` (the process environment is not used). */
  env?: Record<string, string | undefined>;
  logLevel?: LogLevel;
}

export interface TestAegis {
  readonly aegis: Aegis;
  readonly configPath: string;
  provider(profile: string): Promise<BackendProvider>;
  /** Closes the instance's connections and removes the temporary directory. */
  close(): void;
}

export function createTestAegis(options: TestAegisOptions): TestAegis {
  const dir = mkdtempSync(join(tmpdir(), 'aegis-test-'));
  const configPath = join(dir, 'backends.yaml');
  writeFileSync(configPath, typeof options.profiles === 'string' ? options.profiles : JSON.stringify({ profiles: options.profiles }, null, 2));
  const aegis = createAegis({ plugins: options.plugins, configPath, env: options.env ?? {}, discover: false, logLevel: options.logLevel ?? 'error' });
  return {
    aegis,
    configPath,
    provider: (profile) => aegis.getProviderForProfile(profile),
    close() {
      aegis.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The error a promise rejects with, whatever it is (fails when it resolves). */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** The ProviderError a promise rejects with (fails when it resolves or rejects with something else). */
export async function providerError(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await rejection(promise);
  if (ProviderError.isInstance(error)) return error;
  throw error;
}

/** Everything an async iterable yields (a stream's events, say), in order; its error is thrown. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
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

/**
 * Aborts `controller` once `backend` has received one more request than it
 * had when this was called: a test of an abort in flight must abort a request
 * that has left, where a fixed delay could fire before it does on a loaded
 * machine (and pass through the "aborted before sending" path instead).
 */
export function abortOnArrival(backend: { readonly requests: readonly unknown[] }, controller: AbortController): void {
  const before = backend.requests.length;
  const poll = (): void => {
    if (controller.signal.aborted) return;
    if (backend.requests.length > before) controller.abort();
    else setTimeout(poll, 5);
  };
  poll();
}
