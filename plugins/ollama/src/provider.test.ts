import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { CapabilityNotSupportedError, type BackendProvider, type ChatMessage, type ProviderError } from '@aegis/core';
import { createTestAegis, defaultReplyText, splitIntoChunks, startOllamaEmulator } from '@aegis/testkit';
import { API_KEY, collect, startHarness, type Harness } from './__tests__/harness.js';
import plugin from './index.js';

const PROFILES = `
- profile_name: p
  type: ollama
  base_url: \${LOCAL}
  model: llama3.2
  max_retries: 0
  temperature: 0.3
  keep_alive: 10m
  options:
    num_ctx: 4096
    top_k: 20
    temperature: 0.9
    repeat_penalty: 1.1
    mirostat: 0
    num_gpu_layers_custom: 7
- profile_name: bare
  type: ollama
  base_url: \${LOCAL}/
  model: llama3.2
  max_retries: 0
- profile_name: cloud
  type: ollama
  base_url: \${CLOUD}
  model: gpt-oss:120b
  embedding_model: nomic-embed-text
  api_key: \${OLLAMA_API_KEY}
  keep_alive: "300"
  format: json
  think: true
  max_retries: 0
- profile_name: schema
  type: ollama
  base_url: \${LOCAL}
  model: llama3.2
  think: high
  keep_alive: -1
  format:
    type: object
    properties:
      answer: { type: string }
    required: [answer]
`;

const REPLY = defaultReplyText('Ollama');
const messages: ChatMessage[] = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Why is the sky blue?' },
];

let h: Harness;
let p: BackendProvider;
beforeAll(async () => {
  h = await startHarness(PROFILES);
  p = await h.aegis.getProviderForProfile('p');
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  h.local.reset();
  h.cloud.reset();
  h.local.setReply({});
  h.cloud.setReply({});
});

describe('plugin', () => {
  it('declares completion, streaming, embeddings, models, tools, reasoning, structured output and vision', () => {
    expect(plugin.type).toBe('ollama');
    const all = ['completion', 'streaming', 'embeddings', 'models', 'tools', 'reasoning', 'structured_output', 'vision'];
    expect([...plugin.capabilities]).toEqual(all);
    expect(p.capabilities).toEqual(all);
  });
});

describe('completion (POST /api/chat, stream: false)', () => {
  it('returns text, finish reason, usage from the eval counts and the model', async () => {
    h.local.setReply({ promptTokens: 26, completionTokens: 298 });
    const result = await p.getCompletion(messages);
    expect(result).toEqual({
      text: REPLY,
      finishReason: 'stop',
      usage: { promptTokens: 26, completionTokens: 298, totalTokens: 324 },
      model: 'llama3.2',
    });
    const req = h.local.lastRequest!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/api/chat');
    expect(req.json.stream).toBe(false);
    expect(req.json.model).toBe('llama3.2');
  });

  it('sends every role as Ollama expects it (system included); a tool result carries tool_name', async () => {
    await p.getCompletion([
      ...messages,
      { role: 'assistant', content: 'Rayleigh scattering.' },
      { role: 'tool', content: '{"ok":true}', name: 'lookup' },
      { role: 'user', content: 'More?' },
    ]);
    expect(h.local.lastRequest!.json.messages).toEqual([
      { role: 'system', content: 'You are terse.' },
      { role: 'user', content: 'Why is the sky blue?' },
      { role: 'assistant', content: 'Rayleigh scattering.' },
      { role: 'tool', content: '{"ok":true}', tool_name: 'lookup' },
      { role: 'user', content: 'More?' },
    ]);
  });

  it('maps done_reason "length" (num_predict reached)', async () => {
    const result = await p.getCompletion(messages, { maxTokens: 3 });
    expect(result.finishReason).toBe('length');
    expect(result.text).toBe(splitIntoChunks(REPLY).slice(0, 3).join(''));
    expect(h.local.lastRequest!.json.options.num_predict).toBe(3);
  });

  it('keeps an unknown done_reason as rawFinishReason', async () => {
    h.local.setReply({ finishReason: 'unload' });
    const result = await p.getCompletion(messages);
    expect(result.finishReason).toBe('other');
    expect(result.rawFinishReason).toBe('unload');
  });

  it('joins base_url and the path with one slash', async () => {
    const bare = await h.aegis.getProviderForProfile('bare');
    await bare.getCompletion(messages);
    expect(h.local.lastRequest!.path).toBe('/api/chat');
  });
});

describe('streaming (NDJSON)', () => {
  it('yields the deltas as they arrive and ends at the "done": true line', async () => {
    h.local.setReply({ promptTokens: 11, completionTokens: 5 });
    const stream = p.streamCompletion(messages);
    const { deltas, error } = await collect(stream);
    expect(error).toBeUndefined();
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas).toEqual(splitIntoChunks(REPLY));
    const result = await stream.result;
    expect(result.text).toBe(deltas.join(''));
    expect(result.text).toBe(REPLY);
    expect(result).toMatchObject({ finishReason: 'stop', usage: { promptTokens: 11, completionTokens: 5, totalTokens: 16 }, model: 'llama3.2' });
    expect(h.local.lastRequest!.json.stream).toBe(true);
    expect(h.local.lastRequest!.path).toBe('/api/chat');
  });

  it('reports done_reason "length" from the final line', async () => {
    h.local.setReply({ chunks: ['a', 'b', 'c', 'd'] });
    const stream = p.streamCompletion(messages, { maxTokens: 2 });
    const { deltas } = await collect(stream);
    expect(deltas).toEqual(['a', 'b']);
    expect((await stream.result).finishReason).toBe('length');
  });
});

describe('options, keep_alive and settings on the wire', () => {
  it('sends the profile options, the profile sampling fields and keep_alive', async () => {
    await p.getCompletion(messages);
    const body = h.local.lastRequest!.json;
    expect(body.keep_alive).toBe('10m');
    // The profile's top-level temperature (a CallSettings default) wins over options.temperature.
    expect(body.options).toEqual({ num_ctx: 4096, top_k: 20, temperature: 0.3, repeat_penalty: 1.1, mirostat: 0, num_gpu_layers_custom: 7 });
    expect(body).not.toHaveProperty('format');
    expect(body).not.toHaveProperty('think');
  });

  it('maps the call settings onto options (overriding the profile)', async () => {
    await p.getCompletion(messages, { temperature: 0.1, maxTokens: 50, topP: 0.8, stop: ['\n\n', 'END'], seed: 42 });
    expect(h.local.lastRequest!.json.options).toEqual({
      num_ctx: 4096,
      top_k: 20,
      temperature: 0.1,
      repeat_penalty: 1.1,
      mirostat: 0,
      num_gpu_layers_custom: 7,
      num_predict: 50,
      top_p: 0.8,
      stop: ['\n\n', 'END'],
      seed: 42,
    });
  });

  it('stops at a stop sequence', async () => {
    const result = await p.getCompletion(messages, { stop: ['scripted'] });
    expect(result.text).toBe('Hello! This is a ');
    expect(result.finishReason).toBe('stop');
  });

  it('merges providerOptions: its "options" into options, the rest into the body', async () => {
    await p.getCompletion(messages, { temperature: 0.2, providerOptions: { options: { num_ctx: 8192, min_p: 0.05 }, keep_alive: 0 } });
    const body = h.local.lastRequest!.json;
    expect(body.keep_alive).toBe(0);
    expect(body.options).toMatchObject({ num_ctx: 8192, min_p: 0.05, top_k: 20, temperature: 0.2 });
  });

  it('the same settings reach the wire when streaming', async () => {
    await collect(p.streamCompletion(messages, { temperature: 0, seed: 7, stop: ['!'] }));
    const body = h.local.lastRequest!.json;
    expect(body.stream).toBe(true);
    expect(body.keep_alive).toBe('10m');
    expect(body.options).toMatchObject({ temperature: 0, seed: 7, stop: ['!'], num_ctx: 4096 });
  });

  it('sends no options when there are none', async () => {
    const bare = await h.aegis.getProviderForProfile('bare');
    await bare.getCompletion(messages);
    const body = h.local.lastRequest!.json;
    expect(body).toEqual({ model: 'llama3.2', messages, stream: false });
  });

  it('sends format, think, keep_alive seconds and the Bearer key (ollama.com cloud)', async () => {
    const cloud = await h.aegis.getProviderForProfile('cloud');
    const result = await cloud.getCompletion(messages);
    // The profile's `format: json` constrains the answer: the emulator answers JSON, as Ollama would.
    expect(result.text).toBe('{}');
    expect(result.model).toBe('gpt-oss:120b');
    const req = h.cloud.lastRequest!;
    expect(req.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(req.json).toMatchObject({ format: 'json', think: true, keep_alive: 300 });
    expect(h.local.requests).toHaveLength(0);
  });

  it('sends a JSON schema as format, a think level and keep_alive -1', async () => {
    const schema = await h.aegis.getProviderForProfile('schema');
    await schema.getCompletion(messages);
    const body = h.local.lastRequest!.json;
    expect(body.format).toEqual({ type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] });
    expect(body.think).toBe('high');
    expect(body.keep_alive).toBe(-1);
    expect(h.local.lastRequest!.headers.authorization).toBeUndefined();
  });

  it("the call's reasoning setting wins over the profile's think", async () => {
    const cloud = await h.aegis.getProviderForProfile('cloud'); // think: true
    await cloud.getCompletion(messages, { reasoning: false });
    expect(h.cloud.lastRequest!.json.think).toBe(false);
    const schema = await h.aegis.getProviderForProfile('schema'); // think: high
    await schema.getCompletion(messages, { reasoning: 'low' });
    expect(h.local.lastRequest!.json.think).toBe('low');
  });

  it("the call's responseFormat wins over the profile's format", async () => {
    const cloud = await h.aegis.getProviderForProfile('cloud'); // format: json
    const schema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    await cloud.getCompletion(messages, { responseFormat: { type: 'json', schema } });
    expect(h.cloud.lastRequest!.json.format).toEqual(schema);
  });
});

describe('embeddings (POST /api/embed)', () => {
  it('embeds with embedding_model and returns one vector per input', async () => {
    const cloud = await h.aegis.getProviderForProfile('cloud');
    h.cloud.setReply({ embeddingDimension: 16, promptTokens: 9 });
    const result = await cloud.getEmbeddings(['Why is the sky blue?', 'Why is grass green?']);
    expect(result.embeddings).toHaveLength(2);
    expect(result.embeddings.every((v) => v.length === 16)).toBe(true);
    expect(result.embeddings[0]).not.toEqual(result.embeddings[1]);
    expect(result.model).toBe('nomic-embed-text');
    expect(result.usage).toEqual({ promptTokens: 9, totalTokens: 9 });
    const req = h.cloud.lastRequest!;
    expect(req.path).toBe('/api/embed');
    expect(req.json).toEqual({ model: 'nomic-embed-text', input: ['Why is the sky blue?', 'Why is grass green?'], keep_alive: 300 });
    expect(req.headers.authorization).toBe(`Bearer ${API_KEY}`);
  });

  it('sends dimensions, and providerOptions last', async () => {
    const result = await p.getEmbeddings(['a', 'b'], { dimensions: 12, providerOptions: { truncate: false, keep_alive: 0 } });
    expect(result.embeddings.map((v) => v.length)).toEqual([12, 12]);
    expect(h.local.lastRequest!.json).toEqual({ model: 'llama3.2', input: ['a', 'b'], dimensions: 12, keep_alive: 0, truncate: false });
  });

  it('vectors of another length than asked for are an error, not a silent answer', async () => {
    h.local.failNext({ kind: 'status', status: 200, body: { model: 'llama3.2', embeddings: [[0.1, 0.2, 0.3]] } });
    const e = (await p.getEmbeddings(['a'], { dimensions: 12 }).catch((error: unknown) => error)) as ProviderError;
    expect(e.reason).toBe('bad_response');
    expect(e.message).toContain('asked for embeddings of 12 dimensions, the backend returned 3');
  });

  it('falls back to model without embedding_model; options.model overrides both', async () => {
    await p.getEmbeddings(['a']);
    expect(h.local.lastRequest!.json).toEqual({ model: 'llama3.2', input: ['a'], keep_alive: '10m' });
    const result = await p.getEmbeddings(['a', 'b'], { model: 'nomic-embed-text' });
    expect(h.local.lastRequest!.json.model).toBe('nomic-embed-text');
    expect(result.embeddings).toHaveLength(2);
  });

  it("options.model wins over the profile's embedding_model", async () => {
    const cloud = await h.aegis.getProviderForProfile('cloud'); // embedding_model: nomic-embed-text
    await cloud.getEmbeddings(['a'], { model: 'llama3.2' });
    expect(h.cloud.lastRequest!.json.model).toBe('llama3.2');
  });

  it('an answer without a model is reported with the model asked for (embedding_model)', async () => {
    const cloud = await h.aegis.getProviderForProfile('cloud');
    h.cloud.failNext({ kind: 'status', status: 200, body: { embeddings: [[0.1, 0.2]] } });
    const result = await cloud.getEmbeddings(['a']);
    expect(result.model).toBe('nomic-embed-text');
  });
});

describe('models (GET /api/tags, POST /api/show)', () => {
  const onShow = (request: { path: string }) => request.path === '/api/show';
  const onTags = (request: { path: string }) => request.path === '/api/tags';
  const SHOW = {
    details: { family: 'qwen3', parameter_size: '8.2B', quantization_level: 'Q4_K_M' },
    model_info: { 'general.architecture': 'qwen3', 'qwen3.context_length': 40960 },
    capabilities: ['completion', 'tools', 'thinking'],
  };

  it("lists each model with its context length, capabilities and details from /api/show", async () => {
    h.local.failNext({ kind: 'status', status: 200, body: { models: [{ name: 'qwen3:8b' }] } }, 1, onTags);
    h.local.failNext({ kind: 'status', status: 200, body: SHOW }, 1, onShow);
    expect(await p.listModels()).toEqual([
      {
        id: 'qwen3:8b',
        contextLength: 40960,
        capabilities: ['completion', 'tools', 'thinking'],
        providerMetadata: { family: 'qwen3', parameterSize: '8.2B', quantization: 'Q4_K_M' },
      },
    ]);
    expect(h.local.requests.find(onShow)!.json).toEqual({ model: 'qwen3:8b' });
  });

  it('takes the name from "model" when an entry has no "name"', async () => {
    h.local.failNext({ kind: 'status', status: 200, body: { models: [{ model: 'qwen3:8b' }] } }, 1, onTags);
    h.local.failNext({ kind: 'status', status: 200, body: SHOW }, 1, onShow);
    const [model] = await p.listModels();
    expect(model!.id).toBe('qwen3:8b');
  });

  it('a context length of 0 is no context length', async () => {
    h.local.failNext({ kind: 'status', status: 200, body: { models: [{ name: 'qwen3:8b' }] } }, 1, onTags);
    h.local.failNext({ kind: 'status', status: 200, body: { ...SHOW, model_info: { 'general.architecture': 'qwen3', 'qwen3.context_length': 0 } } }, 1, onShow);
    const [model] = await p.listModels();
    expect(model).not.toHaveProperty('contextLength');
  });

  it('a model that /api/show no longer knows (404) keeps its name; another /api/show failure fails the listing', async () => {
    h.local.failNext({ kind: 'status', status: 200, body: { models: [{ name: 'gone:latest' }] } }, 1, onTags);
    h.local.failNext({ kind: 'status', status: 404, body: { error: "model 'gone:latest' not found" } }, 1, onShow);
    expect(await p.listModels()).toEqual([{ id: 'gone:latest' }]);
    h.local.failNext({ kind: 'status', status: 200, body: { models: [{ name: 'qwen3:8b' }] } }, 1, onTags);
    h.local.failNext({ kind: 'status', status: 500, body: { error: 'llama runner process has terminated' } }, 1, onShow);
    await expect(p.listModels()).rejects.toMatchObject({ status: 500, url: `${h.local.url}/api/show` });
  });

  it('lists every model when there are more than the /api/show requests run at once', async () => {
    const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    const many = await startOllamaEmulator({ models: names, contextLength: 32768 });
    const test = createTestAegis({ plugins: [plugin], profiles: [{ profile_name: 'many', type: 'ollama', base_url: many.url, model: 'a', max_retries: 0 }] });
    try {
      const models = await (await test.provider('many')).listModels();
      expect(models.map((m) => m.id)).toEqual(names.map((n) => `${n}:latest`));
      expect(models.every((m) => m.contextLength === 32768)).toBe(true);
    } finally {
      test.close();
      await many.close();
    }
  });
});

describe('capabilities Ollama does not have', () => {
  it('speech throws CapabilityNotSupportedError', async () => {
    await expect(p.getSpeech('hello')).rejects.toBeInstanceOf(CapabilityNotSupportedError);
    await expect(p.getSpeech('hello')).rejects.toMatchObject({ code: 'capability_not_supported', operation: expect.any(String) });
  });

  it('transcription throws CapabilityNotSupportedError', async () => {
    await expect(p.getTranscription(new Uint8Array([1, 2, 3]))).rejects.toBeInstanceOf(CapabilityNotSupportedError);
    expect(h.local.requests).toHaveLength(0);
  });
});
