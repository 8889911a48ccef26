/**
 * A third-party author's path, end to end: `aegis plugin new` writes a
 * package into a temporary directory; it is installed with the packed core
 * and testkit and its own tests pass with no edit; it is packed, installed
 * into a fresh application next to the packed core and CLI, and used from
 * `aegis complete` with a backends.yaml profile. No file of this repository
 * is edited along the way.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Emulator, EmulatorOptions } from '@aegis/testkit';

const run = promisify(execFile);
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const KEY = 'acme-e2e-canary-key-77aa88bb';
const npmFlags = ['--prefer-offline', '--no-audit', '--no-fund'];

let work: string;
let pluginDir: string;
let app: string;
const tarballs: Record<string, string> = {};
let repoStatusBefore: string;

async function pack(dir: string): Promise<string> {
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: dir });
  return join(work, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);
}

beforeAll(async () => {
  repoStatusBefore = (await run('git', ['status', '--porcelain'], { cwd: REPO })).stdout;
  work = mkdtempSync(join(tmpdir(), 'aegis-scaffold-'));
  for (const pkg of ['core', 'testkit', 'gateway', 'cli']) tarballs[pkg] = await pack(join(REPO, 'packages', pkg));
  pluginDir = join(work, 'aegis-provider-acme');
}, 600_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('a third-party plugin from the scaffold to `aegis complete`', () => {
  let scaffoldOutput = '';
  let testOutput = '';

  it('scaffolds the package', async () => {
    const { stdout } = await run(process.execPath, [join(REPO, 'packages/cli/dist/bundle/bin.js'), 'plugin', 'new', 'acme'], { cwd: work });
    scaffoldOutput = stdout;
    expect(stdout).toContain('created aegis-provider-acme (provider type "acme")');
    expect(stdout).toContain('src/conformance.test.ts');
  });

  it('installs with the packed core and testkit, and its own tests pass with no edit', async () => {
    expect(scaffoldOutput).not.toBe('');
    await run('npm', ['install', ...npmFlags, '-D', tarballs.core!, tarballs.testkit!], { cwd: pluginDir });
    const { stdout, stderr } = await run('npm', ['test'], { cwd: pluginDir });
    testOutput = stdout + stderr;
    expect(testOutput).toContain('provider conformance: acme');
    expect(testOutput).toMatch(/Tests:\s+\d+ skipped, \d+ passed/);
    expect(testOutput).not.toContain('failed');
  }, 600_000);

  it('packs, installs into a fresh application, and answers through `aegis complete`', async () => {
    expect(testOutput).not.toBe('');
    tarballs.acme = await pack(pluginDir);
    app = join(work, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'agent-app', version: '1.0.0', private: true, type: 'module' }));
    await run('npm', ['install', ...npmFlags, tarballs.core!, tarballs.gateway!, tarballs.cli!, tarballs.acme], { cwd: app });

    // The scaffold's own loopback server stands in for the Acme API.
    const { startAcmeServer } = (await import(pathToFileURL(join(pluginDir, 'test/server.ts')).href)) as {
      startAcmeServer(o?: EmulatorOptions): Promise<Emulator>;
    };
    const server = await startAcmeServer({ apiKey: KEY, reply: { text: 'Hello from the Acme plugin.' } });
    try {
      writeFileSync(
        join(app, 'backends.yaml'),
        ['- profile_name: acme', '  type: acme', `  base_url: ${server.url}`, '  api_key: ${ACME_API_KEY}', '  model: acme-1', ''].join('\n'),
      );
      writeFileSync(join(app, '.env'), `ACME_API_KEY=${KEY}\n`);
      const env = { ...process.env };
      delete env.AEGIS_BACKENDS;
      const bin = join(app, 'node_modules/.bin/aegis');
      const plugins = await run(bin, ['plugins'], { cwd: app, env });
      expect(plugins.stdout).toMatch(/aegis-provider-acme\s+0\.1\.0\s+acme\s+completion, streaming, embeddings/);
      // The scaffold's build wrote the description its manifest names: no import needed to check a profile.
      const described = await run(bin, ['validate', '--no-import'], { cwd: app, env });
      expect(described.stdout).toBe('backends.yaml: 1 profile OK (checked against the schemas plugins ship)\n');
      expect(JSON.parse(readFileSync(join(app, 'node_modules/aegis-provider-acme/dist/aegis-plugin.json'), 'utf8'))).toMatchObject({
        providers: { acme: { capabilities: ['completion', 'streaming', 'embeddings'] } },
      });
      const { stdout, stderr } = await run(bin, ['complete', '-p', 'acme', 'Say hello'], { cwd: app, env });
      expect({ stdout, stderr }).toEqual({ stdout: 'Hello from the Acme plugin.\n', stderr: '' });
      expect(server.lastRequest?.headers.authorization).toBe(`Bearer ${KEY}`);
      expect(server.lastRequest?.json).toMatchObject({ model: 'acme-1', messages: [{ role: 'user', content: 'Say hello' }] });
    } finally {
      await server.close();
    }
  }, 600_000);

  it('edited no file of this repository', async () => {
    expect((await run('git', ['status', '--porcelain'], { cwd: REPO })).stdout).toBe(repoStatusBefore);
  });
});
