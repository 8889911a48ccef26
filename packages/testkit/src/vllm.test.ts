import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { startVllmEmulator, type Emulator } from './index.js';
import { fixture, fixtureJson, postJson, shape, sseData } from './__tests__/helpers.js';

let emu: Emulator;
const chat = { model: 'Qwen/Qwen2.5-1.5B-Instruct', messages: [{ role: 'user', content: 'Who won?' }] };

beforeAll(async () => {
  emu = await startVllmEmulator();
});
afterAll(() => emu.close());
afterEach(() => {
  emu.reset();
  emu.setReply({});
});

describe('vllm emulator', () => {
  it('answers chat completions with the fixture shape in compact JSON', async () => {
    const res = await postJson(`${emu.baseUrl}/chat/completions`, chat);
    const text = await res.text();
    expect(text).not.toMatch(/": /);
    const body = JSON.parse(text);
    expect(shape(body)).toEqual(shape(fixtureJson('vllm/chat.completions.response.json')));
    expect(body.model).toBe(chat.model);
    expect(body.id).toMatch(/^chatcmpl-[0-9a-f]{32}$/);
    expect(body.choices[0]).toMatchObject({ finish_reason: 'stop', stop_reason: null });
  });

  it('streams chunks like the recorded capture, finish chunk with stop_reason', async () => {
    emu.setReply({ text: 'The Dodgers won. Yes.' });
    const text = await (await postJson(`${emu.baseUrl}/chat/completions`, { ...chat, stream: true, stop: ['Yes'] })).text();
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    expect(text).not.toMatch(/": /);
    const chunks = sseData(text);
    const tpl = sseData(fixture('vllm/chat.completions.stream.sse.txt'));
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    expect(Object.keys(chunks[1].choices[0])).toEqual(Object.keys(tpl[1].choices[0]));
    const fin = chunks[chunks.length - 1];
    expect(Object.keys(fin.choices[0])).toEqual(Object.keys(tpl[2].choices[0]));
    expect(fin.choices[0]).toMatchObject({ delta: { content: '' }, finish_reason: 'stop', stop_reason: 'Yes' });
    const content = chunks.map((c) => c.choices[0].delta.content ?? '').join('');
    expect(content).toBe('The Dodgers won. ');
  });

  it('adds the usage chunk when include_usage is set', async () => {
    const chunks = sseData(await (await postJson(`${emu.baseUrl}/chat/completions`, { ...chat, stream: true, stream_options: { include_usage: true } })).text());
    const last = chunks[chunks.length - 1];
    expect(last.choices).toEqual([]);
    expect(Object.keys(last.usage)).toEqual(['prompt_tokens', 'total_tokens', 'completion_tokens']);
    expect(chunks.slice(0, -1).every((c) => !('usage' in c))).toBe(true);
  });

  it('lists models, serves /health, and 404s speech like FastAPI', async () => {
    expect(await (await fetch(`${emu.baseUrl}/models`)).json()).toEqual(fixtureJson('vllm/models.response.json'));
    const health = await fetch(`${emu.url}/health`);
    expect(health.status).toBe(200);
    const speech = await postJson(`${emu.baseUrl}/audio/speech`, { model: 'x', input: 'hi', voice: 'alloy' });
    expect(speech.status).toBe(404);
    expect(await speech.json()).toEqual({ detail: 'Not Found' });
  });

  it('embeds and transcribes', async () => {
    const e = await (await postJson(`${emu.baseUrl}/embeddings`, { model: 'bge', input: ['a', 'b', 'c'] })).json();
    expect(e.data).toHaveLength(3);
    const form = new FormData();
    form.append('model', 'whisper');
    form.append('file', new Blob([new Uint8Array(64000)]), 'a.wav');
    const t = await (await fetch(`${emu.baseUrl}/audio/transcriptions`, { method: 'POST', body: form })).json();
    expect(t).toEqual({ text: expect.any(String), usage: { type: 'duration', seconds: 2 } });
  });
});

describe('vllm emulator with apiKey and models', () => {
  let secured: Emulator;
  beforeAll(async () => {
    secured = await startVllmEmulator({ apiKey: 'token-abc', models: ['served-model'] });
  });
  afterAll(() => secured.close());

  it('401s /v1 requests without the key with {"error":"Unauthorized"}, but not /health', async () => {
    const res = await postJson(`${secured.baseUrl}/chat/completions`, chat);
    expect(res.status).toBe(401);
    expect(await res.text()).toBe(fixture('vllm/error.401.json').trim());
    expect((await fetch(`${secured.url}/health`)).status).toBe(200);
  });

  it('404s unknown models with the nested NotFoundError', async () => {
    const res = await postJson(`${secured.baseUrl}/chat/completions`, { ...chat, model: 'gpt-4o' }, { authorization: 'Bearer token-abc' });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual(fixtureJson('vllm/error.404.json'));
    const models = await (await fetch(`${secured.baseUrl}/models`, { headers: { authorization: 'Bearer token-abc' } })).json();
    expect(models.data.map((m: any) => [m.id, m.root])).toEqual([['served-model', 'served-model']]);
  });
});
