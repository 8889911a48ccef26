/**
 * The repository as a user sees it after `npm ci`: the root backends.yaml,
 * discovery of the workspace plugins from the root package.json, and the
 * main job (`npm start`), through the built CLI in a child process.
 */
import { exec, execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from '@jest/globals';

const run = promisify(execFile);
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(REPO, 'packages/cli/dist/bundle/bin.js');
const env = { ...process.env, OPENAI_API_KEY: 'sk-root-canary-1234567890' };
delete (env as Record<string, string | undefined>).AEGIS_BACKENDS;

async function aegis(...args: string[]) {
  return run(process.execPath, [CLI, ...args], { cwd: REPO, env });
}

describe('the root backends.yaml', () => {
  it('`aegis plugins` lists the five plugins with their capabilities', async () => {
    const { stdout } = await aegis('plugins', '--json');
    const plugins = (JSON.parse(stdout) as { name: string; capabilities: Record<string, string[]> }[])
      .filter((p) => p.name !== '@aegis/provider-router')
      .map((p) => [p.name, p.capabilities]);
    // In the order of package.json's dependencies (which npm keeps sorted).
    expect(plugins).toEqual([
      ['@aegis/provider-koboldcpp', { koboldcpp: ['completion', 'streaming', 'embeddings', 'speech', 'transcription', 'models', 'tokens', 'tools', 'structured_output', 'vision'] }],
      ['@aegis/provider-ollama', { ollama: ['completion', 'streaming', 'embeddings', 'models', 'tools', 'reasoning', 'structured_output', 'vision'] }],
      ['@aegis/provider-openai', { openai: ['completion', 'streaming', 'embeddings', 'speech', 'transcription', 'models', 'tools', 'structured_output', 'vision'] }],
      ['@aegis/provider-vllm', { vllm: ['completion', 'streaming', 'embeddings', 'transcription', 'models', 'tokens', 'tools', 'reasoning', 'structured_output', 'vision'] }],
      ['aegis-provider-example-com', { example_com: ['completion', 'streaming'] }],
    ]);
  });

  it('`aegis profiles` shows every root profile, usable, with the secret redacted', async () => {
    const { stdout } = await aegis('profiles', '--json');
    const profiles = JSON.parse(stdout) as { name: string; type: string; usable: boolean; values: Record<string, unknown> }[];
    expect(profiles.map((p) => [p.name, p.type, p.usable])).toEqual(
      expect.arrayContaining([
        ['ollama', 'ollama', true],
        ['vllm', 'vllm', true],
        ['koboldcpp', 'koboldcpp', true],
        ['openai', 'openai', true],
        ['demo', 'example_com', true],
      ]),
    );
    expect(profiles.find((p) => p.name === 'openai')!.values.api_key).toBe('***');
    expect(stdout).not.toContain('sk-root-canary-1234567890');
  });

  it('`aegis validate` passes when the variables are set', async () => {
    const { stdout } = await aegis('validate');
    expect(stdout).toMatch(/backends\.yaml: \d+ profiles OK/);
  });

  it('`npm start` (the main job) streams the scripted answer through the ollama plugin', async () => {
    const { stdout, stderr } = await run(process.execPath, [join(REPO, 'scripts/demo.mjs'), 'Why is the sky blue?'], { cwd: REPO, env });
    expect(stdout).toContain('Rayleigh scattering');
    expect(stderr).toContain('Ollama emulator listening on http://127.0.0.1:');
    expect(stderr).toContain('the emulator received POST /api/chat for model "llama3.2"');
  });
});

describe('the `aegis` bin of the clone', () => {
  it('`npm ci` links node_modules/.bin/aegis to the committed launcher, which runs the built CLI', async () => {
    const bin = join(REPO, 'node_modules/.bin/aegis');
    expect(realpathSync(bin)).toBe(join(REPO, 'packages/cli/bin/aegis.js'));
    const { stdout } = await run(bin, ['--version'], { cwd: REPO, env });
    expect(stdout.trim()).toBe((JSON.parse(readFileSync(join(REPO, 'packages/cli/package.json'), 'utf8')) as { version: string }).version);
  });

  it('the launcher says what to do, and exits 2, when the CLI is not built', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aegis-launcher-'));
    try {
      mkdirSync(join(dir, 'bin'));
      copyFileSync(join(REPO, 'packages/cli/bin/aegis.js'), join(dir, 'bin/aegis.js'));
      const failure = await run(process.execPath, [join(dir, 'bin/aegis.js'), 'plugins']).then(
        () => undefined,
        (error: { code: number; stdout: string; stderr: string }) => error,
      );
      expect(failure).toMatchObject({ code: 2, stdout: '' });
      expect(failure!.stderr).toContain('aegis: @aegis/cli is not built yet');
      expect(failure!.stderr).toContain('run `npm run build` (or `npm start`)');
      expect(failure!.stderr).not.toMatch(/\n\s+at /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * The README's commands, run as written (through the shell and npx) in a copy of
 * the clone's root (its package.json and backends.yaml, the same node_modules),
 * as a user with no key and no backend: every command without a "needs ..."
 * comment must work.
 */
describe("the README's commands", () => {
  const blocks = [...readFileSync(join(REPO, 'README.md'), 'utf8').matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const commands = blocks.flatMap((block) => block.split('\n')).filter((line) => /^(echo .*\| )?npx /.test(line));
  const needs = (line: string) => /#.*\bneeds\b/.test(line);
  const offline = commands.filter((line) => !needs(line));
  const work = mkdtempSync(join(tmpdir(), 'aegis-readme-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('use only profiles of the root backends.yaml, and never a bare `npx aegis` outside a project', () => {
    const profiles = [...readFileSync(join(REPO, 'backends.yaml'), 'utf8').matchAll(/profile_name: (\S+)/g)].map((m) => m[1]);
    for (const line of commands) {
      for (const [, profile] of line.matchAll(/-p (\w+)/g)) expect(profiles).toContain(profile);
      if (/plugin new/.test(line)) expect(line).toMatch(/^npx -p @aegis\/cli aegis /);
    }
    expect(offline.length).toBeGreaterThanOrEqual(6);
    // A file a command reads is one an earlier command writes.
    const transcribe = commands.findIndex((line) => /transcribe .*hello\.mp3/.test(line));
    expect(transcribe).toBeGreaterThan(commands.findIndex((line) => /speak .*-o hello\.mp3/.test(line)));
  });

  it('without a "needs" comment, work as written from the clone, with no key and no backend', async () => {
    copyFileSync(join(REPO, 'package.json'), join(work, 'package.json'));
    copyFileSync(join(REPO, 'backends.yaml'), join(work, 'backends.yaml'));
    symlinkSync(join(REPO, 'node_modules'), join(work, 'node_modules'), 'dir');
    const userEnv: Record<string, string | undefined> = { ...process.env, npm_config_offline: 'true', npm_config_update_notifier: 'false' };
    for (const key of ['OPENAI_API_KEY', 'CI', 'AEGIS_BACKENDS', 'OLLAMA_BASE_URL']) delete userEnv[key];
    for (const line of offline) {
      const result = await new Promise<{ code: number; stdout: string; stderr: string }>((done) => {
        exec(line, { cwd: work, env: userEnv, timeout: 120_000 }, (error, stdout, stderr) =>
          done({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
        );
      });
      expect({ line, code: result.code, stderr: result.code === 0 ? '' : result.stderr }).toEqual({ line, code: 0, stderr: '' });
      if (/ validate$/.test(line.replace(/\s+#.*$/, ''))) {
        expect(result.stdout).toContain('not usable here: set OPENAI_API_KEY');
      }
    }
    expect(existsSync(join(work, 'backends.schema.json'))).toBe(true);
    expect(existsSync(join(work, 'aegis-provider-acme/package.json'))).toBe(true);
  }, 240_000);
});
