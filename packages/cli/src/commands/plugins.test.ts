/**
 * `aegis plugins` with nothing found reads the application's package.json for
 * its hint: as discovery reads it, bounded and a regular file only. A
 * package.json is project content (it can be a symlink to /dev/zero or a FIFO,
 * stored in git) and must not cost the CLI its memory or hang it. (A symlink
 * to /dev/zero is refused as the FIFO is, not being a regular file; it is not
 * tried here, where a reader that accepted it would exhaust the machine.)
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { MAX_PACKAGE_JSON_BYTES } from '@aegis/core';
import { BACKENDS, run, tempProject } from '../__tests__/harness.js';

const dirs: string[] = [];
const writers: ChildProcess[] = [];
function project(extra: Record<string, string> = {}): string {
  const dir = tempProject(BACKENDS, extra);
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const writer of writers.splice(0)) writer.kill('SIGKILL');
});
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** A package.json of a plugin package without a manifest: the hint names the keyword when it reads it. */
const KEYWORD_ONLY = { name: 'aegis-provider-acme', version: '0.1.0', keywords: ['aegis-provider'] };

describe('aegis plugins, nothing found: the package.json it reads for its hint', () => {
  it('is read when it is an ordinary one', async () => {
    const result = await run(['plugins'], { cwd: project({ 'package.json': JSON.stringify(KEYWORD_ONLY) }), plugins: [] });
    expect(result.stderr).toContain('has the "aegis-provider" keyword but no "aegis" manifest');
  });

  it('is not read past the size limit', async () => {
    const big = JSON.stringify({ ...KEYWORD_ONLY, pad: 'x'.repeat(MAX_PACKAGE_JSON_BYTES) });
    const result = await run(['plugins'], { cwd: project({ 'package.json': big }), plugins: [] });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('aegis: no provider plugins found');
    expect(result.stderr).not.toContain('keyword');
  });

  it('is refused at once when it is a FIFO, not waited on', async () => {
    const dir = project();
    const file = path.join(dir, 'package.json');
    execFileSync('mkfifo', [file]);
    // Fed for every reader that opens it, so that even a reader that accepted it would not hang the test.
    writers.push(spawn('sh', ['-c', 'while :; do printf %s "$1" > "$2"; done', 'sh', JSON.stringify(KEYWORD_ONLY), file], { stdio: 'ignore' }));
    const result = await run(['plugins'], { cwd: dir, plugins: [] });
    expect(result.stderr).toContain('aegis: no provider plugins found');
    expect(result.stderr).not.toContain('keyword');
  });
});
