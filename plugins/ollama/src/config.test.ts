import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { createAegis, type Aegis } from '@aegis/core';
import { OllamaConfig } from './config.js';
import plugin from './index.js';

const dirs: string[] = [];
const instances: Aegis[] = [];
afterAll(() => {
  for (const a of instances) a.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function aegisWith(yaml: string, env: Record<string, string> = {}): Aegis {
  const dir = mkdtempSync(join(tmpdir(), 'aegis-ollama-config-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'backends.yaml'), yaml);
  const aegis = createAegis({ plugins: [plugin], configPath: join(dir, 'backends.yaml'), env, discover: false });
  instances.push(aegis);
  return aegis;
}

describe('OllamaConfig', () => {
  it('needs only a model; base_url defaults to http://localhost:11434', async () => {
    const config = await aegisWith('- profile_name: o\n  type: ollama\n  model: llama3.2\n').getBackendConfig('o');
    expect(config).toMatchObject({ type: 'ollama', model: 'llama3.2', base_url: 'http://localhost:11434' });
    expect(config).not.toHaveProperty('api_key');
  });

  it('accepts the documented fields, coercing strings from the environment', async () => {
    const aegis = aegisWith(
      [
        '- profile_name: o',
        '  type: ollama',
        '  base_url: https://ollama.com',
        '  model: gpt-oss:120b',
        '  embedding_model: embeddinggemma',
        '  api_key: ${OLLAMA_API_KEY}',
        '  keep_alive: 1h30m',
        '  think: "${THINK}"',
        '  format: json',
        '  options:',
        '    num_ctx: "${CTX}"',
        '    top_k: 40',
        '    num_predict: -2',
        '    stop: ["</s>"]',
        '    penalize_newline: false',
        '    some_future_option: [1, 2]',
      ].join('\n'),
      { OLLAMA_API_KEY: 'k-123456', THINK: 'true', CTX: '8192' },
    );
    const config = await aegis.getBackendConfig('o');
    expect(config).toMatchObject({
      api_key: 'k-123456',
      keep_alive: '1h30m',
      think: true,
      options: { num_ctx: 8192, top_k: 40, num_predict: -2, stop: ['</s>'], penalize_newline: false, some_future_option: [1, 2] },
    });
  });

  it('reports every problem with its field', async () => {
    const aegis = aegisWith(
      [
        '- profile_name: o',
        '  type: ollama',
        '  base_url: localhost:11434',
        '  keep_alive: five minutes',
        '  format: yaml',
        '  options:',
        '    top_k: many',
        '    mirostat: 3',
        '    nested: { a: 1 }',
        '  modle: x',
      ].join('\n'),
    );
    const issues = await aegis.validate();
    const fields = issues.map((i) => i.field);
    expect(fields).toEqual(
      expect.arrayContaining(['model', 'base_url', 'keep_alive', 'format', 'options.top_k', 'options.mirostat', 'options.nested', 'modle']),
    );
    expect(issues.find((i) => i.field === 'modle')!.message).toContain('did you mean "model"');
  });

  it('marks api_key as a secret', async () => {
    const aegis = aegisWith('- profile_name: o\n  type: ollama\n  model: m\n  api_key: sk-never-shown-42\n');
    const [summary] = await aegis.profiles();
    expect(summary!.values.api_key).toBe('***');
    expect(OllamaConfig.shape.api_key).toBeDefined();
  });
});
