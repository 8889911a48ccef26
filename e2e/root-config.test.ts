/**
 * The repository as a user sees it after `npm ci`: the root backends.yaml,
 * discovery of the workspace plugins from the root package.json, and the
 * main job (`npm start`), through the built CLI in a child process.
 */
import { execFile } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';

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
      ['@aegis/provider-koboldcpp', { koboldcpp: ['completion', 'streaming', 'embeddings', 'speech', 'transcription', 'models', 'tokens'] }],
      ['@aegis/provider-ollama', { ollama: ['completion', 'streaming', 'embeddings', 'models'] }],
      ['@aegis/provider-openai', { openai: ['completion', 'streaming', 'embeddings', 'speech', 'transcription', 'models'] }],
      ['@aegis/provider-vllm', { vllm: ['completion', 'streaming', 'embeddings', 'transcription', 'models', 'tokens'] }],
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
