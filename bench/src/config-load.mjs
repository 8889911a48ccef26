#!/usr/bin/env node
/**
 * `node bench/src/config-load.mjs` (after `npm run build`): how loading and
 * validating backends.yaml grows with the number of profiles (issue "Security
 * hardening", low item: 100,000 profiles used to take minutes, 20,000 took
 * 11.5 s). For each size it writes a file of N Ollama profiles, then, in this
 * process, times `createAegis(...).validate()` (read, parse, expand,
 * validate every profile: what `aegis validate` does) and prints the time per
 * profile: a flat column means linear. The largest size is near the 2 MiB
 * file limit (docs/security.md). BENCH_CONFIG_SIZES=1000,2000 sets the sizes.
 */
import { mkdtempSync, rmSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAegis } from '@aegis/core';
import ollama from '@aegis/provider-ollama';

const sizes = (process.env.BENCH_CONFIG_SIZES ?? '2500,5000,10000,20000').split(',').map(Number);
const dir = mkdtempSync(join(tmpdir(), 'aegis-bench-config-'));

function yamlOf(n) {
  let text = 'profiles:\n';
  for (let i = 0; i < n; i++) text += `  - profile_name: p${i}\n    type: ollama\n    model: llama3.2\n    temperature: 0.5\n`;
  return text;
}

async function loadOnce(file) {
  const aegis = createAegis({ configPath: file, cwd: dir, env: {}, discover: false, plugins: [ollama] });
  const started = process.hrtime.bigint();
  const issues = await aegis.validate();
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  aegis.close();
  if (issues.length > 0) throw new Error(`unexpected issues: ${issues[0].message}`);
  return ms;
}

try {
  // Warm-up: the first load compiles the code paths.
  const warm = join(dir, 'warm.yaml');
  writeFileSync(warm, yamlOf(500));
  await loadOnce(warm);

  const rows = [];
  for (const n of sizes) {
    const file = join(dir, `backends-${n}.yaml`);
    writeFileSync(file, yamlOf(n));
    const times = [];
    for (let run = 0; run < 3; run++) times.push(await loadOnce(file));
    const median = times.sort((a, b) => a - b)[1];
    rows.push({ profiles: n, kib: Math.round(statSync(file).size / 1024), ms: median, usPerProfile: (median * 1000) / n });
  }
  console.log('profiles  file KiB  validate ms (median of 3)  µs per profile');
  for (const r of rows) {
    console.log(`${String(r.profiles).padStart(8)}  ${String(r.kib).padStart(8)}  ${r.ms.toFixed(0).padStart(25)}  ${r.usPerProfile.toFixed(1).padStart(14)}`);
  }
  const first = rows[0];
  const last = rows[rows.length - 1];
  console.log(`growth of the time per profile from ${first.profiles} to ${last.profiles} profiles: ×${(last.usPerProfile / first.usPerProfile).toFixed(2)} (1.00 = linear)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
