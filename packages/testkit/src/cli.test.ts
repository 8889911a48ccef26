import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

// The bin runs from the build (`npm test` runs `tsc -b` first); skipped when dist is absent.
const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const maybe = existsSync(cli) ? it : it.skip;

describe('aegis-emulator CLI', () => {
  maybe('prints the base URL, serves requests and exits on SIGTERM', async () => {
    const child = spawn(process.execPath, [cli, 'openai', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
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
    const child = spawn(process.execPath, [cli, 'nope'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => (err += c));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(2);
    expect(err).toMatch(/^usage: aegis-emulator/);
  });
});
