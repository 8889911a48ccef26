#!/usr/bin/env node
/**
 * `node bench/src/config-errors.mjs` (after `npm run build`): how reporting the
 * problems of a broken backends.yaml grows with their number. Two shapes a
 * review found quadratic (a 1.7 MB file took minutes):
 *
 * - tabs: N quoted list items, then N lines indented with a tab (a YAML
 *   syntax error per line; each tab line was checked against every quoted value);
 * - unset: one list of N `"${U}"` with U unset (a problem per item; each of
 *   zod's issues was checked against every problem found before).
 *
 * For each size it prints the time to load and validate (median of 3, in
 * this process, as `aegis validate` does) and the time per N: a flat column
 * means linear. Part of the time is the YAML library's own parsing, which is
 * linear. BENCH_ERROR_SIZES=5000,10000 sets the sizes.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError, createAegis } from '@aegis/core';
import ollama from '@aegis/provider-ollama';

const sizes = (process.env.BENCH_ERROR_SIZES ?? '5000,10000,20000,40000').split(',').map(Number);
const dir = mkdtempSync(join(tmpdir(), 'aegis-bench-errors-'));

const SHAPES = {
  tabs(n) {
    let text = 'profiles:\n  - profile_name: a\n    type: ollama\n    model: x\n    stop:\n';
    for (let i = 0; i < n; i++) text += `      - "q${i}"\n`;
    for (let i = 0; i < n; i++) text += `\t- z${i}\n`;
    return text;
  },
  unset(n) {
    return `profiles:\n  - profile_name: a\n    type: ollama\n    model: x\n    stop: [${Array.from({ length: n }, () => '"${U}"').join(',')}]\n`;
  },
};

/** Loads and validates the file; returns the time and how many problems were found. */
async function loadOnce(file) {
  const aegis = createAegis({ configPath: file, cwd: dir, env: {}, discover: false, plugins: [ollama] });
  const started = process.hrtime.bigint();
  let problems;
  try {
    problems = (await aegis.validate()).length;
  } catch (error) {
    if (!ConfigurationError.isInstance(error)) throw error;
    problems = error.issues.length;
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  aegis.close();
  return { ms, problems };
}

try {
  for (const [shape, make] of Object.entries(SHAPES)) {
    const warm = join(dir, `warm-${shape}.yaml`);
    writeFileSync(warm, make(500));
    await loadOnce(warm);
    console.log(`\n${shape}`);
    console.log('       N  file KiB  problems  load+validate ms (median of 3)  µs per N');
    const rows = [];
    for (const n of sizes) {
      const file = join(dir, `${shape}-${n}.yaml`);
      writeFileSync(file, make(n));
      const runs = [];
      for (let run = 0; run < 3; run++) runs.push(await loadOnce(file));
      runs.sort((a, b) => a.ms - b.ms);
      const { ms, problems } = runs[1];
      rows.push({ n, usPerN: (ms * 1000) / n });
      console.log(
        `${String(n).padStart(8)}  ${String(Math.round(statSync(file).size / 1024)).padStart(8)}  ${String(problems).padStart(8)}  ${ms.toFixed(0).padStart(30)}  ${((ms * 1000) / n).toFixed(1).padStart(8)}`,
      );
    }
    const first = rows[0];
    const last = rows[rows.length - 1];
    console.log(`growth of the time per N from ${first.n} to ${last.n}: ×${(last.usPerN / first.usPerN).toFixed(2)} (1.00 = linear; ×${(last.n / first.n).toFixed(0)} = quadratic)`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
