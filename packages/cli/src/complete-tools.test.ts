/** `aegis complete --tools` and `--show-reasoning`, against the Ollama emulator through the real plugin. */
import fs from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import ollama from '@aegis/provider-ollama';
import { startOllamaEmulator, type Emulator } from '@aegis/testkit';
import { run, tempProject } from './__tests__/harness.js';
import { MAX_TOOLS_FILE_BYTES } from './tools-file.js';

const TOOLS = [
  { name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
  // OpenAI's form is accepted too.
  { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
];
const CALLS = {
  reasoning: 'The user wants the weather.',
  toolCalls: [
    { name: 'get_weather', arguments: { city: 'Tokyo' }, id: 'call_weather1' },
    { name: 'get_time', arguments: { city: 'Tokyo' }, id: 'call_time0001' },
  ],
};

let emulator: Emulator;
let dir: string;
beforeAll(async () => {
  emulator = await startOllamaEmulator();
  dir = tempProject(`- profile_name: o\n  type: ollama\n  base_url: "${emulator.url}"\n  model: qwen3\n  max_retries: 0\n`, {
    'tools.json': JSON.stringify(TOOLS),
    'broken.json': '[{"name": "get weather"}]',
    'dotted.json': '[{"name": "ns.get:weather"}]',
    'empty.json': '[]',
    'huge.json': JSON.stringify([{ name: 'x', description: 'x'.repeat(MAX_TOOLS_FILE_BYTES) }]),
    // Exactly at the limit: still read.
    'full.json': JSON.stringify([{ name: 'x', description: 'x'.repeat(MAX_TOOLS_FILE_BYTES - JSON.stringify([{ name: 'x', description: '' }]).length) }]),
    'wrapped.json': JSON.stringify({ tools: TOOLS }),
    'twice.json': JSON.stringify([TOOLS[0], TOOLS[0]]),
    'numbered.json': '[{"name": "get_weather", "description": 5}]',
  });
});
afterAll(async () => {
  await emulator.close();
  fs.rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  emulator.reset();
  emulator.setReply(CALLS);
});

const aegis = (args: string[]) => run(['complete', '-p', 'o', ...args], { cwd: dir, plugins: [ollama] });

describe('aegis complete --tools', () => {
  it('sends the tools and prints the calls, one a line', async () => {
    const result = await aegis(['--tools', 'tools.json', 'weather in Tokyo?']);
    expect(result).toEqual({
      code: 0,
      stdout: 'tool call get_weather {"city":"Tokyo"} (id call_weather1)\ntool call get_time {"city":"Tokyo"} (id call_time0001)\n',
      stderr: '',
    });
    expect(emulator.lastRequest!.json.tools.map((t: any) => t.function.name)).toEqual(['get_weather', 'get_time']);
  });

  it('streams the same calls', async () => {
    const result = await aegis(['--stream', '--tools', 'tools.json', 'weather?']);
    expect(result.stdout).toBe('tool call get_weather {"city":"Tokyo"} (id call_weather1)\ntool call get_time {"city":"Tokyo"} (id call_time0001)\n');
    expect(result.code).toBe(0);
  });

  it('--json prints the whole result: calls, reasoning, finish reason', async () => {
    const result = await aegis(['--json', '--tools', 'tools.json', 'weather?']);
    expect(JSON.parse(result.stdout)).toMatchObject({
      text: '',
      toolCalls: CALLS.toolCalls.map(({ id, name, arguments: args }) => ({ id, name, arguments: args })),
      reasoning: CALLS.reasoning,
      finishReason: 'tool_calls',
      rawFinishReason: 'stop',
      model: 'qwen3',
    });
  });

  it('takes the tools of an object\'s "tools" list, and a file of exactly the size limit', async () => {
    for (const file of ['wrapped.json', 'full.json']) {
      const result = await aegis(['--tools', file, 'weather?']);
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
    }
    expect(emulator.requests[0]!.json.tools.map((t: any) => t.function.name)).toEqual(['get_weather', 'get_time']);
    expect(emulator.requests[1]!.json.tools.map((t: any) => t.function.name)).toEqual(['x']);
  });

  it('--tool-choice takes required, and needs --tools', async () => {
    const required = await aegis(['--tools', 'tools.json', '--tool-choice', 'required', 'weather?']);
    expect(required.stderr).not.toContain('--tool-choice must be');
    expect(required.code).toBe(0);
    const alone = await aegis(['--tool-choice', 'auto', 'weather?']);
    expect(alone).toEqual({ code: 1, stdout: '', stderr: 'aegis: --tool-choice needs --tools\n' });
  });

  it('--tool-choice names one tool (Ollama then gets only that one)', async () => {
    await aegis(['--tools', 'tools.json', '--tool-choice', 'get_time', 'time?']);
    expect(emulator.lastRequest!.json.tools.map((t: any) => t.function.name)).toEqual(['get_time']);
    const bad = await aegis(['--tools', 'tools.json', '--tool-choice', 'nope', 'time?']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--tool-choice must be auto, none, required or the name of a tool');
  });

  it('a bad tools file is a usage error naming the file and the entry, before any request', async () => {
    const broken = await aegis(['--tools', 'broken.json', 'hi']);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toBe('aegis: broken.json: tools[0]: "name" must be 1 to 64 letters, digits, "_" or "-"\n');
    // Core's rule, not a looser one of its own: a name core refuses at the call is refused here, with the file.
    const dotted = await aegis(['--tools', 'dotted.json', 'hi']);
    expect(dotted.stderr).toBe('aegis: dotted.json: tools[0]: "name" must be 1 to 64 letters, digits, "_" or "-"\n');
    expect((await aegis(['--tools', 'empty.json', 'hi'])).stderr).toContain('must hold a non-empty list of tools');
    expect((await aegis(['--tools', 'twice.json', 'hi'])).stderr).toBe('aegis: twice.json: the tool "get_weather" is listed twice\n');
    expect((await aegis(['--tools', 'numbered.json', 'hi'])).stderr).toBe('aegis: numbered.json: tools[0]: "description" must be a string\n');
    expect((await aegis(['--tools', 'missing.json', 'hi'])).stderr).toContain('cannot read the tools file missing.json: ENOENT');
    expect((await aegis(['--tools', 'huge.json', 'hi'])).stderr).toContain(`larger than ${MAX_TOOLS_FILE_BYTES} bytes`);
    expect(emulator.requests).toHaveLength(0);
  });
});

describe('aegis complete: an empty answer', () => {
  it('is an empty line, so the shell prompt starts on its own', async () => {
    emulator.setReply({ text: '' });
    expect(await aegis(['say nothing'])).toEqual({ code: 0, stdout: '\n', stderr: '' });
  });
});

describe('aegis complete --show-reasoning', () => {
  beforeEach(() => emulator.setReply({ text: 'Three.', reasoning: 'Count: r, r, r.' }));

  it('off by default: stdout is the answer, nothing on stderr', async () => {
    expect(await aegis(['r?'])).toEqual({ code: 0, stdout: 'Three.\n', stderr: '' });
    expect(await aegis(['--stream', 'r?'])).toEqual({ code: 0, stdout: 'Three.\n', stderr: '' });
  });

  it('prints the reasoning on stderr between markers, the answer alone on stdout', async () => {
    const whole = await aegis(['--show-reasoning', 'r?']);
    expect(whole).toEqual({ code: 0, stdout: 'Three.\n', stderr: '[reasoning]\nCount: r, r, r.\n[/reasoning]\n' });
    const streamed = await aegis(['--stream', '--show-reasoning', 'r?']);
    expect(streamed).toEqual({ code: 0, stdout: 'Three.\n', stderr: '[reasoning]\nCount: r, r, r.\n[/reasoning]\n' });
  });
});

