/** Test setup shared by the Ollama plugin's tests: emulators, a temp backends.yaml, and an Aegis built with the plugin. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAegis, ProviderError, type Aegis } from '@aegis/core';
import { startOllamaEmulator, type Emulator } from '@aegis/testkit';
import plugin from '../index.js';

export const API_KEY = 'ollama-cloud-test-key-8c1f';

export interface Harness {
  /** Local Ollama: knows llama3.2 and nomic-embed-text, no auth. */
  local: Emulator;
  /** "Cloud" Ollama: requires `Authorization: Bearer API_KEY`. */
  cloud: Emulator;
  aegis: Aegis;
  close(): Promise<void>;
}

/** `profiles` is YAML text of the profile list; `${LOCAL}` and `${CLOUD}` are the emulators' URLs; `env` adds variables. */
export async function startHarness(profiles: string, env: Record<string, string> = {}): Promise<Harness> {
  const local = await startOllamaEmulator({ models: ['llama3.2', 'nomic-embed-text'] });
  const cloud = await startOllamaEmulator({ apiKey: API_KEY });
  const dir = mkdtempSync(join(tmpdir(), 'aegis-ollama-'));
  const configPath = join(dir, 'backends.yaml');
  writeFileSync(configPath, profiles);
  const aegis = createAegis({
    plugins: [plugin],
    configPath,
    env: { LOCAL: local.url, CLOUD: cloud.url, OLLAMA_API_KEY: API_KEY, ...env },
    discover: false,
  });
  return {
    local,
    cloud,
    aegis,
    async close() {
      aegis.close();
      await Promise.all([local.close(), cloud.close()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The ProviderError a promise rejects with (fails the test if it resolves or throws something else). */
export async function providerError(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (error) {
    if (ProviderError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a ProviderError');
}

/** Drains a stream, returning the deltas it yielded before it ended or failed. */
export async function collect(stream: AsyncIterable<string>): Promise<{ deltas: string[]; error?: unknown }> {
  const deltas: string[] = [];
  try {
    for await (const delta of stream) deltas.push(delta);
  } catch (error) {
    return { deltas, error };
  }
  return { deltas };
}
