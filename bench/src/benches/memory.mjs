/**
 * 8: resident memory, each in a fresh process: after building 100 profiles'
 * providers, and after 1,000 requests with 100 in flight; the same requests
 * with got alone for reference.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { API_KEY } from '../lib/emulators.mjs';
import { MODEL, tmpDir } from '../lib/clients.mjs';
import { cleanEnv, spawnTimed } from './cold-start.mjs';

const CHILD = fileURLToPath(new URL('../children/memory.mjs', import.meta.url));

export async function memoryBench({ backends, settings }) {
  const { profiles, requests, inFlight } = settings.memory;
  await backends.setReply('openai', {});
  const dir = join(tmpDir(), 'memory');
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'backends.yaml');
  const lines = ['profiles:'];
  for (let i = 0; i < profiles; i++) {
    lines.push(`  - profile_name: p${i}`, '    type: openai', `    base_url: ${backends.openai.baseUrl}`, `    model: ${MODEL}`, `    api_key: ${API_KEY}`);
  }
  writeFileSync(config, lines.join('\n') + '\n');
  const run = async (mode) => {
    const env = cleanEnv({
      BENCH_MODE: mode,
      BENCH_CONFIG: config,
      BENCH_URL: backends.openai.baseUrl,
      BENCH_API_KEY: API_KEY,
      BENCH_PROFILES: String(profiles),
      BENCH_REQUESTS: String(requests),
      BENCH_IN_FLIGHT: String(inFlight),
    });
    return JSON.parse((await spawnTimed(['--expose-gc', CHILD], { env })).stdout);
  };
  return { profiles, requests, inFlight, aegis: await run('aegis'), got: await run('got') };
}
