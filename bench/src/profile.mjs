#!/usr/bin/env node
/**
 * One side of one comparison, alone, many times: for `node --cpu-prof bench/src/profile.mjs <case>`.
 * Cases: aegis-complete, got-complete, aegis-sse, got-sse, gotIterable-sse, aegis-ndjson, got-ndjson, gotIterable-ndjson,
 * aegis-concurrency, got-concurrency. BENCH_PROFILE_N sets the iterations.
 */
import { performance } from 'node:perf_hooks';
import { aegisComplete, aegisStream, makeAegis, rawGot, removeRunDir, writeBackendsYaml } from './lib/clients.mjs';
import { startBackends } from './lib/emulators.mjs';
import { pool } from './lib/stats.mjs';
import { deltas } from './benches/streaming.mjs';

const which = process.argv[2] ?? 'aegis-complete';
const [side, kind] = which.split('-');
const streaming = kind === 'sse' || kind === 'ndjson';
const n = Number(process.env.BENCH_PROFILE_N ?? (streaming ? 300 : kind === 'concurrency' ? 20 : 20000));
const backends = await startBackends();
const count = 2000;
if (streaming) await backends.setReply(kind === 'sse' ? 'openai' : 'ollama', { chunks: deltas(count) });
const aegis = makeAegis(writeBackendsYaml('profile', backends));
const raw = rawGot();
const profile = kind === 'ndjson' ? 'ollama' : 'openai';
const provider = await aegis.getProviderForProfile(profile);
// one AEGIS call to learn the body it sends
if (streaming) await aegisStream(provider, performance.now(), count);
else await aegisComplete(provider);
const body = await backends.lastRequest(profile);
const url = kind === 'ndjson' ? `${backends.ollama.baseUrl}/api/chat` : `${backends.openai.baseUrl}/chat/completions`;
const once = {
  aegis: () => (streaming ? aegisStream(provider, performance.now(), count) : aegisComplete(provider)),
  got: () => (kind === 'sse' ? raw.sse(url, body, performance.now(), count) : kind === 'ndjson' ? raw.ndjson(url, body, performance.now(), count) : raw.complete(url, body)),
  gotIterable: () => (kind === 'sse' ? raw.sseIterable(url, body, performance.now(), count) : raw.ndjsonIterable(url, body, performance.now(), count)),
}[side];
const start = performance.now();
if (kind === 'concurrency') for (let i = 0; i < n; i++) await pool(1000, 100, once);
else for (let i = 0; i < n; i++) await once();
const elapsed = performance.now() - start;
process.stderr.write(`${which}: ${n} × in ${elapsed.toFixed(0)} ms (${((elapsed / n) * 1000).toFixed(1)} µs each)\n`);
raw.destroy();
aegis.close();
await backends.close();
removeRunDir();
