/** Test setup shared by the Ollama plugin's tests: emulators, a temp backends.yaml, and an Aegis built with the plugin. */
import type { Aegis } from '@aegis/core';
import { createTestAegis, startOllamaEmulator, type Emulator } from '@aegis/testkit';
import plugin from '../index.js';

export { providerError, drain as collect } from '@aegis/testkit';

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
  const test = createTestAegis({
    plugins: [plugin],
    profiles,
    env: { LOCAL: local.url, CLOUD: cloud.url, OLLAMA_API_KEY: API_KEY, ...env },
    logLevel: 'warn',
  });
  return {
    local,
    cloud,
    aegis: test.aegis,
    async close() {
      test.close();
      await Promise.all([local.close(), cloud.close()]);
    },
  };
}
