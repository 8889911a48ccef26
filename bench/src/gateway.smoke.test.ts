/**
 * A quick run of the gateway benchmark (BENCH_QUICK=1), so it cannot rot: it
 * must produce a number for every measure and complete every stream. No
 * target is judged on a handful of iterations.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from '@jest/globals';

const run = promisify(execFile);
const BENCH = join(dirname(fileURLToPath(import.meta.url)), 'gateway.mjs');
const FLOOR = join(dirname(fileURLToPath(import.meta.url)), 'gateway-floor.mjs');
const dir = mkdtempSync(join(tmpdir(), 'aegis-gateway-bench-'));

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('npm run bench:gateway (quick)', () => {
  it('measures every row beside its floors and loses no stream', async () => {
    const json = join(dir, 'results.json');
    const env: Record<string, string | undefined> = { ...process.env, BENCH_QUICK: '1', BENCH_JSON: json, BENCH_OUT: '-' };
    delete env.NODE_OPTIONS;
    const { stdout } = await run(process.execPath, [BENCH], { env, maxBuffer: 16 * 1024 * 1024 });
    const report = JSON.parse(readFileSync(json, 'utf8')) as { rows: { measure: string; gateway: string; baseline: string; result: string }[]; profile: { areas: unknown[] } };
    expect(report.rows.length).toBeGreaterThanOrEqual(7);
    for (const row of report.rows) expect(`${row.gateway} ${row.baseline}`).toMatch(/\d/);
    expect(report.rows.find((r) => r.measure.includes('complete and intact'))!.gateway).toBe('100 / 100');
    expect(report.rows.every((r) => r.result === 'info')).toBe(true);
    expect(report.profile.areas.length).toBeGreaterThan(0);
    expect(stdout).toContain('Quick run: targets not judged.');
  }, 120_000);

  it('splits the time to first delta between the protocol, core and the gateway (gateway-floor.mjs)', async () => {
    const env: Record<string, string | undefined> = { ...process.env };
    delete env.NODE_OPTIONS;
    const { stdout } = await run(process.execPath, [FLOOR, '6'], { env });
    for (const side of ['raw', 'minimal', 'minimal-fat', 'core', 'gateway']) expect(stdout).toMatch(new RegExp(`^${side} +\\d+ µs  ×\\d+\\.\\d+ of raw$`, 'm'));
    expect(stdout.match(/gateway's own layer: ×\d+\.\d+ of core alone/g)).toHaveLength(2);
    expect(stdout).toMatch(/interleaved call by call/);
    expect(stdout).toMatch(/in blocks of 6 calls per side/);
  }, 60_000);

  it('--pin puts the proxies on a CPU of their own (or says why it cannot)', async () => {
    const env: Record<string, string | undefined> = { ...process.env };
    delete env.NODE_OPTIONS;
    const pinned = run(process.execPath, [FLOOR, '2', '--pin'], { env });
    if (availableParallelism() < 2) {
      await expect(pinned).rejects.toMatchObject({ stderr: expect.stringContaining('--pin needs 2 CPUs or more') });
      return;
    }
    const { stdout } = await pinned;
    expect(stdout).toContain(`pinned: the proxies on CPU ${availableParallelism() - 1}, the client and the emulator on CPU 0`);
    expect(stdout).toMatch(/^gateway +\d+ µs/m);
  }, 60_000);
});
