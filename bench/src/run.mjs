#!/usr/bin/env node
/**
 * `npm run bench`: runs every benchmark, prints the table and writes
 * bench/RESULTS.md. BENCH_QUICK=1 runs each with very few iterations (the
 * smoke test); BENCH_ONLY=completion,streaming,... runs some of them;
 * BENCH_OUT=<file> writes the Markdown elsewhere ("-" for nowhere; quick
 * runs write nowhere unless told); BENCH_JSON=<file> also writes the raw results.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR, checkSameLibraries, removeRunDir, versionOf } from './lib/clients.mjs';
import { startBackends } from './lib/emulators.mjs';
import { machine, resultsMarkdown, rows, table } from './lib/report.mjs';
import { completionBench } from './benches/completion.mjs';
import { streamingBench } from './benches/streaming.mjs';
import { concurrencyBench } from './benches/concurrency.mjs';
import { coldStartBench } from './benches/cold-start.mjs';
import { discoveryBench } from './benches/discovery.mjs';
import { memoryBench } from './benches/memory.mjs';
import { parsingBench } from './benches/parsing.mjs';

const quick = process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true';

export const TARGETS = { completion: 1.05, stream: 1.1, throughput: 0.9, coldStartMs: 150, discoveryFlat: 1.1, linePerMbGrowth: 2 };

const SETTINGS = quick
  ? {
      completion: { iterations: 6, warmup: 2 },
      clients: { iterations: 4, warmup: 2 },
      deltas: 2000,
      streaming: { iterations: 2, warmup: 1 },
      concurrency: { requests: 200, inFlight: 100, rounds: 1, warmup: 0 },
      coldStart: { runs: 1, warmup: 0 },
      firstCompletion: { runs: 1 },
      discovery: { sizes: [0, 100, 1000], iterations: 3, warmup: 1 },
      memory: { profiles: 100, requests: 200, inFlight: 100 },
      parsing: { decode: { iterations: 4, warmup: 1 }, lineRuns: 1 },
    }
  : {
      completion: { iterations: 3000, warmup: 300 },
      clients: { iterations: 1200, warmup: 120 },
      deltas: 2000,
      streaming: { iterations: 240, warmup: 12 },
      concurrency: { requests: 1000, inFlight: 100, rounds: 20, warmup: 2 },
      coldStart: { runs: 48, warmup: 2 },
      firstCompletion: { runs: 15 },
      discovery: { sizes: [0, 100, 1000], iterations: 300, warmup: 20 },
      memory: { profiles: 100, requests: 1000, inFlight: 100 },
      parsing: { decode: { iterations: 400, warmup: 40 }, lineRuns: 5 },
    };

const BENCHES = {
  completion: completionBench,
  streaming: streamingBench,
  concurrency: concurrencyBench,
  coldStart: coldStartBench,
  discovery: discoveryBench,
  memory: memoryBench,
  parsing: parsingBench,
};

async function main() {
  const only = process.env.BENCH_ONLY ? process.env.BENCH_ONLY.split(',').map((s) => s.trim()) : Object.keys(BENCHES);
  for (const name of only) if (!BENCHES[name]) throw new Error(`unknown benchmark "${name}"; known: ${Object.keys(BENCHES).join(', ')}`);
  const env = machine();
  const libraries = checkSameLibraries();
  const versions = Object.fromEntries(['openai', 'ai', '@ai-sdk/openai'].map((n) => [n, versionOf(n)]));
  process.stderr.write(`AEGIS bench${quick ? ' (quick)' : ''}: Node ${env.node}, ${env.cpu} × ${env.cores}\n`);

  const backends = await startBackends();
  const results = {};
  try {
    for (const name of only) {
      const started = Date.now();
      process.stderr.write(`  ${name} ...`);
      results[name] = await BENCHES[name]({ backends, settings: SETTINGS, quick });
      process.stderr.write(` ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    }
  } finally {
    await backends.close();
    removeRunDir();
  }

  const list = rows(results, TARGETS, { judge: !quick });
  const findings = readFileSync(new URL('./findings.md', import.meta.url), 'utf8');
  process.stdout.write(`\n${table(list)}\n\n`);
  const misses = list.filter((r) => r.result === 'MISS');
  if (quick) process.stdout.write('Quick run: targets not judged.\n');
  else process.stdout.write(misses.length === 0 ? 'All targets met.\n' : `Targets missed: ${[...new Set(misses.map((r) => r.id))].join(', ')} (see bench/RESULTS.md, Findings)\n`);

  const out = process.env.BENCH_OUT ?? (quick ? '-' : join(BENCH_DIR, 'RESULTS.md'));
  if (out !== '-') {
    // The gateway's section (npm run bench:gateway) is written by its own script: keep it.
    const previous = (() => { try { return readFileSync(out, 'utf8'); } catch { return ''; } })();
    const kept = /<!-- gateway-bench:start -->[\s\S]*<!-- gateway-bench:end -->/.exec(previous)?.[0];
    writeFileSync(out, resultsMarkdown({ env, list, settings: SETTINGS, libraries, versions, findings, quick }) + (kept ? `\n${kept}\n` : ''));
    process.stderr.write(`wrote ${out}\n`);
  }
  if (process.env.BENCH_JSON) {
    writeFileSync(process.env.BENCH_JSON, JSON.stringify({ quick, env, settings: SETTINGS, targets: TARGETS, results, rows: list }, null, 2));
  }
}

main().catch((error) => {
  process.stderr.write(`\nbench failed: ${error?.stack ?? error}\n`);
  process.exitCode = 1;
});
