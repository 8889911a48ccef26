/**
 * The benchmark is not part of `npm test`, but a quick run of it is, so it cannot
 * rot: every benchmark runs with very few iterations (BENCH_QUICK=1) against the
 * built packages, and must produce numbers. No target is judged here.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from '@jest/globals';

const run = promisify(execFile);
const BENCH = join(dirname(fileURLToPath(import.meta.url)), 'run.mjs');
const dir = mkdtempSync(join(tmpdir(), 'aegis-bench-smoke-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Row {
  id: string;
  measure: string;
  aegis: string;
  baseline: string;
  comparison: string;
  result: string;
}

describe('npm run bench (quick)', () => {
  it('runs every benchmark and reports numbers for each measure', async () => {
    const json = join(dir, 'results.json');
    const out = join(dir, 'RESULTS.md');
    const env: Record<string, string | undefined> = { ...process.env, BENCH_QUICK: '1', BENCH_JSON: json, BENCH_OUT: out };
    delete env.BENCH_ONLY;
    delete env.NODE_OPTIONS;
    const { stdout } = await run(process.execPath, [BENCH], { env, maxBuffer: 16 * 1024 * 1024 });

    const report = JSON.parse(readFileSync(json, 'utf8')) as { quick: boolean; rows: Row[]; results: Record<string, unknown> };
    expect(report.quick).toBe(true);
    expect(Object.keys(report.results)).toEqual(['completion', 'streaming', 'concurrency', 'coldStart', 'discovery', 'memory', 'parsing']);
    // Every one of the nine measures has rows, each with a number in it.
    expect([...new Set(report.rows.map((r) => r.id.replace(/[a-z]$/, '')))]).toEqual(['1', '2', '3', '4', '5', '6', '7', '8', '9']);
    for (const row of report.rows) {
      expect(`${row.id} ${row.measure}: ${row.aegis}`).toMatch(/\d/);
      expect(`${row.aegis} ${row.baseline} ${row.comparison}`).not.toMatch(/NaN|undefined|Infinity/);
    }
    // Targets are not judged on a handful of iterations.
    expect(report.rows.some((r) => r.result === 'PASS' || r.result === 'MISS')).toBe(false);
    expect(stdout).toContain('| 1 ');
    const markdown = readFileSync(out, 'utf8');
    expect(markdown).toContain(`Node ${process.version}`);
    expect(markdown).toContain('## Findings');
  }, 600_000);
});
