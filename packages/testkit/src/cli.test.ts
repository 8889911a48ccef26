import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

// The committed launcher (bin/), which runs the build (`npm test` runs `tsc -b` first); skipped when dist is absent.
const launcher = fileURLToPath(new URL('../bin/aegis-emulator.js', import.meta.url));
const maybe = existsSync(fileURLToPath(new URL('../dist/cli.js', import.meta.url))) ? it : it.skip;
const REPO = fileURLToPath(new URL('../../../', import.meta.url));

function run(script: string, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('the aegis-emulator bin', () => {
  it('`npm ci` links node_modules/.bin/aegis-emulator to the committed launcher (it exists before any build)', () => {
    expect(realpathSync(join(REPO, 'node_modules/.bin/aegis-emulator'))).toBe(launcher);
  });

  it('the launcher says what to do, and exits 2, when the testkit is not built', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aegis-emulator-launcher-'));
    try {
      mkdirSync(join(dir, 'bin'));
      copyFileSync(launcher, join(dir, 'bin/aegis-emulator.js'));
      const { code, stdout, stderr } = await run(join(dir, 'bin/aegis-emulator.js'), ['openai']);
      expect({ code, stdout }).toEqual({ code: 2, stdout: '' });
      expect(stderr).toContain('aegis-emulator: @aegis/testkit is not built yet');
      expect(stderr).toContain('run `npm run build` at its root first');
      expect(stderr).not.toMatch(/\n\s+at /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('aegis-emulator CLI', () => {
  maybe('prints the base URL, serves requests and exits on SIGTERM', async () => {
    const child = spawn(process.execPath, [launcher, 'openai', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.setEncoding('utf8');
        child.stdout.on('data', (c: string) => {
          out += c;
          if (out.includes('\n')) resolve(out.split('\n')[0]!);
        });
        child.on('exit', () => reject(new Error(`exited early: ${out}`)));
      });
      expect(line).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
      const res = await fetch(`${line}/models`);
      expect(res.status).toBe(200);
      await res.text();
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });

  maybe('rejects an unknown kind with usage and exit code 2', async () => {
    const child = spawn(process.execPath, [launcher, 'nope'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => (err += c));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(2);
    expect(err).toMatch(/^usage: aegis-emulator/);
  });
});
