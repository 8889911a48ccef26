/**
 * `aegis models` and `aegis tokens` through the real plugins against the
 * testkit's emulators (each answers from its backend's recorded fixtures).
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startEmulator, type Emulator } from '@aegis/testkit';
import koboldcpp from '@aegis/provider-koboldcpp';
import ollama from '@aegis/provider-ollama';
import openai from '@aegis/provider-openai';
import vllm from '@aegis/provider-vllm';
import { run, tempProject } from './__tests__/harness.js';

const plugins = [ollama, openai, vllm, koboldcpp];
let emulators: Record<'ollama' | 'openai' | 'vllm' | 'koboldcpp', Emulator>;
let dir: string;

beforeAll(async () => {
  const [o, oa, v, k] = await Promise.all([
    startEmulator('ollama', { models: ['llama3.2', 'qwen3'], contextLength: 131072 }),
    startEmulator('openai', { apiKey: 'sk-test-models-0001' }),
    startEmulator('vllm', { models: ['Qwen/Qwen2.5-7B-Instruct'], contextLength: 32768 }),
    startEmulator('koboldcpp', { contextLength: 8192 }),
  ]);
  emulators = { ollama: o, openai: oa, vllm: v, koboldcpp: k };
  dir = tempProject(
    `- profile_name: ollama
  type: ollama
  base_url: ${o.url}
  model: llama3.2
- profile_name: openai
  type: openai
  base_url: ${oa.baseUrl}
  api_key: sk-test-models-0001
  model: gpt-4o-mini
- profile_name: vllm
  type: vllm
  base_url: ${v.baseUrl}
  model: Qwen/Qwen2.5-7B-Instruct
- profile_name: kobold
  type: koboldcpp
  base_url: ${k.url}
`,
  );
});

afterAll(async () => {
  await Promise.all(Object.values(emulators).map((e) => e.close()));
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('aegis models', () => {
  it('lists Ollama models with the context length and capabilities /api/show reports', async () => {
    const result = await run(['models', '-p', 'ollama'], { cwd: dir, plugins });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^MODEL\s+CONTEXT\s+CAPABILITIES$/);
    expect(lines[1]).toMatch(/^llama3\.2:latest\s+131072\s+completion, vision$/);
    expect(lines[2]).toMatch(/^qwen3:latest\s+131072\s+completion, vision$/);
    const shown = emulators.ollama.requests.filter((r) => r.path === '/api/show').map((r) => r.json.model);
    expect(shown.sort()).toEqual(['llama3.2:latest', 'qwen3:latest']);
  });

  it('prints JSON with --json: vLLM max_model_len is the context length', async () => {
    const result = await run(['models', '-p', 'vllm', '--json'], { cwd: dir, plugins });
    expect(result.code).toBe(0);
    const models = JSON.parse(result.stdout);
    expect(models).toEqual([
      { id: 'Qwen/Qwen2.5-7B-Instruct', contextLength: 32768, ownedBy: 'vllm', providerMetadata: expect.objectContaining({ root: 'Qwen/Qwen2.5-7B-Instruct' }) },
    ]);
  });

  it('lists OpenAI models without inventing a context length', async () => {
    const result = await run(['models', '-p', 'openai', '--json'], { cwd: dir, plugins });
    expect(result.code).toBe(0);
    const models = JSON.parse(result.stdout) as { id: string; contextLength?: number }[];
    expect(models.length).toBeGreaterThan(0);
    expect(models.every((m) => typeof m.id === 'string' && m.contextLength === undefined)).toBe(true);
    expect(emulators.openai.lastRequest?.headers.authorization).toBe('Bearer sk-test-models-0001');
  });

  it('says on stderr that the backend lists no models, and prints no empty table', async () => {
    emulators.openai.failNext({ kind: 'status', status: 200, body: { object: 'list', data: [] } });
    const result = await run(['models', '-p', 'openai'], { cwd: dir, plugins });
    expect(result).toEqual({ code: 0, stdout: '', stderr: 'aegis: the backend of profile "openai" lists no models\n' });
  });

  it("lists KoboldCpp's one model with its real context size", async () => {
    const result = await run(['models', '-p', 'kobold', '--json'], { cwd: dir, plugins });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([{ id: 'koboldcpp/airoboros-l2-7b-2.2', contextLength: 8192 }]);
  });
});

describe('aegis tokens', () => {
  it("counts with vLLM's /tokenize at the server root, not under /v1", async () => {
    const result = await run(['tokens', '-p', 'vllm', '--json', 'Hello, my name is'], { cwd: dir, plugins });
    expect(result.code).toBe(0);
    const count = JSON.parse(result.stdout);
    expect(count).toMatchObject({ exact: true, model: 'Qwen/Qwen2.5-7B-Instruct' });
    expect(count.tokens).toBeGreaterThan(0);
    expect(count.ids).toHaveLength(count.tokens);
    const request = emulators.vllm.lastRequest!;
    expect(request.path).toBe('/tokenize');
    expect(request.json).toEqual({ model: 'Qwen/Qwen2.5-7B-Instruct', prompt: 'Hello, my name is' });
  });

  it("counts with KoboldCpp's /api/extra/tokencount, the text from stdin", async () => {
    const result = await run(['tokens', '-p', 'kobold'], { cwd: dir, plugins, stdin: 'Hello, my name is Niko.' });
    expect(result.code).toBe(0);
    expect(Number(result.stdout.trim())).toBeGreaterThan(0);
    expect(emulators.koboldcpp.lastRequest?.json).toEqual({ prompt: 'Hello, my name is Niko.' });
  });

  it('refuses a backend that cannot count exactly (exit 3, no request)', async () => {
    const before = emulators.ollama.requests.length;
    const result = await run(['tokens', '-p', 'ollama', 'hello'], { cwd: dir, plugins });
    expect(result.code).toBe(3);
    expect(result.stderr).toBe('aegis: provider type "ollama" (profile "ollama") does not support tokens (countTokens)\n');
    expect(emulators.ollama.requests.length).toBe(before);
  });
});

describe('countTokens of a conversation', () => {
  it('sends vLLM the chat form, and KoboldCpp the prompt its instruct template renders', async () => {
    const { createAegis } = await import('@aegis/core');
    const aegis = createAegis({ configPath: `${dir}/backends.yaml`, cwd: dir, env: {}, plugins, discover: false });
    const messages = [
      { role: 'system' as const, content: 'Be brief.' },
      { role: 'user' as const, content: 'Hi there' },
    ];
    const v = await (await aegis.getProviderForProfile('vllm')).countTokens(messages);
    expect(v.exact).toBe(true);
    expect(emulators.vllm.lastRequest?.json).toEqual({
      model: 'Qwen/Qwen2.5-7B-Instruct',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi there' },
      ],
      add_generation_prompt: true,
    });
    const k = await (await aegis.getProviderForProfile('kobold')).countTokens(messages);
    expect(k.tokens).toBeGreaterThan(0);
    const prompt = emulators.koboldcpp.lastRequest?.json.prompt as string;
    expect(prompt).toContain('Be brief.');
    expect(prompt).toContain('Hi there');
  });
});
