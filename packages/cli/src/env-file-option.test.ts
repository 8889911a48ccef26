/**
 * The env file option as a user runs it: the committed launcher
 * (bin/aegis.js, what node_modules/.bin/aegis and npx run) in a child process,
 * over the built CLI. Node 20.19+ reads a file named after `--env-file`
 * anywhere on its command line before any of our code runs (it applies a
 * NODE_OPTIONS line in it), so the CLI's option is `--dotenv`: a name Node
 * does not know, read by core's reader with its limits and typed errors.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const LAUNCHER = join(CLI_DIR, 'bin/aegis.js');
const BUILT = join(CLI_DIR, 'dist/bundle/bin.js');

let dir: string;
const writers: ChildProcess[] = [];
beforeAll(() => {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run \`npm run build\` first (npm test does)`);
  dir = mkdtempSync(join(tmpdir(), 'aegis-dotenv-'));
  writeFileSync(join(dir, 'package.json'), '{"name":"app","private":true}');
  // No plugin is installed here: the unknown type is a problem that names the type the env file gave
  // (a log-level word, which the scrubber leaves alone: every other value of an env file is printed as ***).
  writeFileSync(join(dir, 'backends.yaml'), '- profile_name: a\n  type: ${KIND}\n');
  // Code that must never run: Node preloads it when it reads this file for --env-file.
  writeFileSync(join(dir, 'preload.cjs'), `require('node:fs').writeFileSync(${JSON.stringify(join(dir, 'PRELOADED'))}, 'yes');\n`);
  writeFileSync(join(dir, 'app.env'), `NODE_OPTIONS=--require ${join(dir, 'preload.cjs')}\nKIND=debug\n`);
});
afterAll(() => {
  for (const writer of writers) writer.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function aegis(args: string[], env: Record<string, string> = {}): Promise<Ran> {
  return new Promise((done) => {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
    for (const name of ['NODE_OPTIONS', 'AEGIS_BACKENDS', 'AEGIS_ENV_FILE', 'KIND', 'CI']) if (!(name in env)) delete childEnv[name];
    execFile(process.execPath, [LAUNCHER, ...args], { cwd: dir, env: childEnv }, (error, stdout, stderr) => {
      done({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('aegis --dotenv <file>', () => {
  it('is read by the CLI: its variables are used, and a NODE_OPTIONS line in it is only a variable', async () => {
    const result = await aegis(['--dotenv', 'app.env', 'validate', '--no-import']);
    expect(result.stdout).toContain('profile "a", field "type": unknown provider type "debug"');
    expect(existsSync(join(dir, 'PRELOADED'))).toBe(false);
    const viaEnv = await aegis(['validate', '--no-import'], { AEGIS_ENV_FILE: 'app.env' });
    expect(viaEnv.stdout).toBe(result.stdout);
    expect(existsSync(join(dir, 'PRELOADED'))).toBe(false);
  });

  it('names itself where a variable it lacks could be set', async () => {
    writeFileSync(join(dir, 'empty.env'), 'OTHER=1\n');
    const result = await aegis(['--dotenv', 'empty.env', 'validate', '--no-import']);
    expect(result.stdout).toContain('environment variable "KIND" is not set (set it in the environment or in empty.env)');
  });

  it('with its limits and typed errors: a missing file, a FIFO, a file over 1 MiB', async () => {
    const missing = await aegis(['--dotenv', 'nope.env', 'validate']);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain('aegis: env file not found: nope.env (from --dotenv or the envFile option)');
    expect(missing.stderr).not.toMatch(/node: |\n\s+at /);

    // Fed by a writer, so a CLI that read FIFOs would get the text and fail the test instead of hanging it.
    execFileSync('mkfifo', [join(dir, 'fifo.env')]);
    writers.push(spawn('sh', ['-c', 'printf %s "$1" > "$2"', 'sh', 'KIND=x\n', join(dir, 'fifo.env')], { stdio: 'ignore' }));
    const fifo = await aegis(['--dotenv', 'fifo.env', 'validate']);
    expect(fifo.code).toBe(1);
    expect(fifo.stdout).toContain('aegis: env file fifo.env is not a regular file (a FIFO, a device or a socket?); it is not read');

    writeFileSync(join(dir, 'big.env'), `A=${'x'.repeat(1024 * 1024)}\n`);
    const big = await aegis(['--dotenv', 'big.env', 'validate']);
    expect(big.code).toBe(1);
    expect(big.stdout).toContain('aegis: env file big.env is larger than 1 MiB');
  });
});

describe('aegis --env-file <file>', () => {
  it('is refused with what to write instead; aegis reads nothing from it', async () => {
    // No NODE_OPTIONS line here: what Node itself does with the file is beyond any code of ours.
    writeFileSync(join(dir, 'plain.env'), 'KIND=debug\n');
    for (const args of [['--env-file', 'plain.env', 'validate'], ['validate', '--env-file=plain.env']]) {
      const result = await aegis(args);
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^aegis: --env-file is not an aegis option: Node itself reads the file named after it before aegis starts .* Pass the env file with --dotenv <path>, or set AEGIS_ENV_FILE\n$/);
    }
  });
});
