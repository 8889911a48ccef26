/**
 * `npm run example:agent -- -p <backend> [--stream]` as a user runs it: the
 * built example, the root backends.yaml, the workspace plugins found from the
 * root package.json, and the emulator the example starts (offline).
 */
import { execFile } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from '@jest/globals';

const run = promisify(execFile);
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const EXAMPLE = join(REPO, 'examples/dist/agent-loop.js');
const env = { ...process.env };
delete (env as Record<string, string | undefined>).AEGIS_BACKENDS;

describe('the agent example, offline', () => {
  it.each([
    ['ollama', []],
    ['koboldcpp', ['--stream']],
  ])('-p %s %j: calls both tools, then answers', async (profile, flags) => {
    const { stdout, stderr } = await run(process.execPath, [EXAMPLE, '-p', profile, ...flags], { cwd: REPO, env });
    expect(stdout).toContain('-> get_weather({"city":"Tokyo"})');
    expect(stdout).toContain('<- {"fahrenheit":64}');
    expect(stdout).toContain('assistant: In Tokyo it is 18 °C (64 °F)');
    expect(stderr).toContain('(2 turns, 2 tool calls)');
  });

  it('names the offline backends for an unknown one, exit 1', async () => {
    const error = (await run(process.execPath, [EXAMPLE, '-p', 'nope'], { cwd: REPO, env }).catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(error.code).toBe(1);
    expect(error.stderr).toContain('offline, -p must be one of ollama, vllm, koboldcpp, openai');
  });
});
