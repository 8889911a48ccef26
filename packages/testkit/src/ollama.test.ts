import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { startOllamaEmulator, type Emulator } from './index.js';
import { fixture, fixtureJson, postJson, shape } from './__tests__/helpers.js';

let emu: Emulator;
const chat = { model: 'llama3.2', messages: [{ role: 'user', content: 'why is the sky blue?' }] };
const lines = (text: string): any[] => text.trim().split('\n').map((l) => JSON.parse(l));

beforeAll(async () => {
  emu = await startOllamaEmulator({ models: ['llama3.2', 'all-minilm:latest'] });
});
afterAll(() => emu.close());
afterEach(() => {
  emu.reset();
  emu.setReply({});
});

describe('ollama emulator', () => {
  it('uses the server URL as base URL', () => {
    expect(emu.baseUrl).toBe(emu.url);
  });

  it('streams chat as NDJSON by default, ending with a done line', async () => {
    emu.setReply({ chunks: ['The', ' sky'] });
    const res = await postJson(`${emu.url}/api/chat`, chat);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson');
    const text = await res.text();
    expect(text.endsWith('}\n')).toBe(true);
    const objs = lines(text);
    const [tpl] = lines(fixture('ollama/chat.stream.ndjson'));
    expect(objs.slice(0, 2).map((o) => Object.keys(o))).toEqual([Object.keys(tpl), Object.keys(tpl)]);
    expect(objs.slice(0, 2).map((o) => o.message.content)).toEqual(['The', ' sky']);
    const last = objs[objs.length - 1];
    expect(last).toMatchObject({ done: true, done_reason: 'stop', eval_count: 2, model: 'llama3.2' });
    for (const k of ['total_duration', 'load_duration', 'prompt_eval_count', 'prompt_eval_duration', 'eval_duration']) {
      expect(Number.isInteger(last[k])).toBe(true);
    }
    expect(last.eval_duration).toBeGreaterThan(1_000_000); // nanoseconds
  });

  it('answers chat with stream:false as one JSON object', async () => {
    const res = await postJson(`${emu.url}/api/chat`, { ...chat, stream: false, options: { num_predict: 3 } });
    const body = await res.json();
    const tpl = fixtureJson('ollama/chat.response.json');
    expect(shape(body).sort()).toEqual([...shape(tpl), 'done_reason'].sort());
    expect(body).toMatchObject({ done: true, done_reason: 'length', message: { role: 'assistant', content: 'Hello! This' } });
  });

  it('generates, streaming or not', async () => {
    const full = await (await postJson(`${emu.url}/api/generate`, { model: 'llama3.2', prompt: 'hi', stream: false })).json();
    expect(shape(full).sort()).toEqual([...shape(fixtureJson('ollama/generate.response.json')), 'done_reason'].sort());
    const objs = lines(await (await postJson(`${emu.url}/api/generate`, { model: 'llama3.2', prompt: 'hi' })).text());
    expect(objs.slice(0, -1).every((o) => o.done === false && typeof o.response === 'string')).toBe(true);
    expect(objs.map((o) => o.response).join('')).toBe(full.response);
    expect(objs[objs.length - 1]).toMatchObject({ done: true, done_reason: 'stop' });
  });

  it('embeds a string or an array of strings', async () => {
    const one = await (await postJson(`${emu.url}/api/embed`, { model: 'all-minilm', input: 'Why is the sky blue?' })).json();
    expect(shape(one)).toEqual(shape(fixtureJson('ollama/embed.response.json')));
    expect(one.embeddings).toHaveLength(1);
    expect(one.embeddings[0]).toHaveLength(384);
    emu.setReply({ embeddingDimension: 16 });
    const many = await (await postJson(`${emu.url}/api/embed`, { model: 'all-minilm', input: ['a', 'b'] })).json();
    expect(many.embeddings.map((e: number[]) => e.length)).toEqual([16, 16]);
  });

  it('lists tags built from the configured models', async () => {
    const tags = await (await fetch(`${emu.url}/api/tags`)).json();
    expect(tags.models.map((m: any) => m.name)).toEqual(['llama3.2:latest', 'all-minilm:latest']);
    expect(shape(tags.models[0])).toEqual(shape(fixtureJson('ollama/tags.response.json').models[0]));
  });

  it('404s unknown models with the pull hint', async () => {
    const res = await postJson(`${emu.url}/api/chat`, { ...chat, model: 'mistral' });
    expect(res.status).toBe(404);
    expect(await res.text()).toBe('{"error":"model \\"mistral\\" not found, try pulling it first"}');
  });

  it('sends mid-stream errors as an error line with status 200', async () => {
    emu.failNext({ kind: 'stream-error' });
    const res = await postJson(`${emu.url}/api/generate`, { model: 'llama3.2', prompt: 'x' });
    expect(res.status).toBe(200);
    const objs = lines(await res.text());
    expect(objs[objs.length - 1]).toEqual(lines(fixture('ollama/error.midstream.ndjson')).pop());
  });
});

it('ollama emulator with apiKey answers 401 {"error"}', async () => {
  const secured = await startOllamaEmulator({ apiKey: 'k' });
  try {
    const res = await postJson(`${secured.url}/api/chat`, chat);
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: 'unauthorized' });
    expect((await postJson(`${secured.url}/api/chat`, chat, { authorization: 'Bearer k' })).status).toBe(200);
  } finally {
    await secured.close();
  }
});
