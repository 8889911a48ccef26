import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { startOpenAIEmulator, type Emulator } from './index.js';
import { fixture, fixtureJson, postJson, shape, sseData, sseEvents } from './__tests__/helpers.js';

let emu: Emulator;
const chat = { model: 'gpt-test', messages: [{ role: 'user', content: 'Hello!' }] };

beforeAll(async () => {
  emu = await startOpenAIEmulator();
});
afterAll(() => emu.close());
afterEach(() => {
  emu.reset();
  emu.setReply({});
});

describe('openai emulator', () => {
  it('listens on loopback and exposes the /v1 base URL', () => {
    expect(emu.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(emu.baseUrl).toBe(emu.url + '/v1');
  });

  it('answers chat completions in the fixture shape, echoing the model', async () => {
    const res = await postJson(`${emu.baseUrl}/chat/completions`, chat);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const body = await res.json();
    expect(shape(body)).toEqual(shape(fixtureJson('openai/chat.completions.response.json')));
    expect(body.model).toBe('gpt-test');
    expect(body.id).toMatch(/^chatcmpl-/);
    expect(body.choices[0].message.content).toBe('Hello! This is a scripted reply from the AEGIS OpenAI emulator.');
    expect(body.choices[0].finish_reason).toBe('stop');
    expect(body.usage.total_tokens).toBe(body.usage.prompt_tokens + body.usage.completion_tokens);
    expect(emu.lastRequest?.json).toEqual(chat);
    expect(emu.lastRequest?.path).toBe('/v1/chat/completions');
  });

  it('streams SSE chunks framed like the fixture, ending with [DONE]', async () => {
    emu.setReply({ chunks: ['Hel', 'lo', ' world'] });
    const res = await postJson(`${emu.baseUrl}/chat/completions`, { ...chat, stream: true });
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = await res.text();
    expect(text.endsWith('\n\ndata: [DONE]\n\n')).toBe(true);
    for (const e of sseEvents(text)) expect(e).toMatch(/^data: /);
    const chunks = sseData(text);
    const tpl = fixture('openai/chat.completions.stream.sse.txt');
    const [first, content, last] = sseData(tpl);
    expect(Object.keys(chunks[0])).toEqual(Object.keys(first));
    expect(chunks[0].choices[0].delta).toEqual({ role: 'assistant', content: '' });
    expect(chunks.slice(1, 4).map((c) => c.choices[0].delta)).toEqual([{ content: 'Hel' }, { content: 'lo' }, { content: ' world' }]);
    expect(Object.keys(chunks[1].choices[0])).toEqual(Object.keys(content.choices[0]));
    const fin = chunks[chunks.length - 1];
    expect(fin.choices[0].delta).toEqual({});
    expect(fin.choices[0].finish_reason).toBe('stop');
    expect(Object.keys(fin)).toEqual(Object.keys(last));
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
    expect(chunks.every((c) => c.model === 'gpt-test' && c.object === 'chat.completion.chunk')).toBe(true);
  });

  it('adds a usage chunk with empty choices when stream_options.include_usage is set', async () => {
    emu.setReply({ text: 'One two three', promptTokens: 7 });
    const res = await postJson(`${emu.baseUrl}/chat/completions`, { ...chat, stream: true, stream_options: { include_usage: true } });
    const chunks = sseData(await res.text());
    const usage = chunks[chunks.length - 1];
    expect(usage.choices).toEqual([]);
    expect(usage.usage).toMatchObject({ prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 });
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    expect(chunks[chunks.length - 2].choices[0].finish_reason).toBe('stop');
  });

  it('cuts the reply at max_tokens (finish_reason length) and at a stop sequence', async () => {
    emu.setReply({ text: 'alpha beta gamma delta' });
    let body = await (await postJson(`${emu.baseUrl}/chat/completions`, { ...chat, max_tokens: 2 })).json();
    expect(body.choices[0]).toMatchObject({ message: { content: 'alpha beta' }, finish_reason: 'length' });
    body = await (await postJson(`${emu.baseUrl}/chat/completions`, { ...chat, stop: [' gam'] })).json();
    expect(body.choices[0]).toMatchObject({ message: { content: 'alpha beta' }, finish_reason: 'stop' });
  });

  it('streams thousands of deltas, every one in order', async () => {
    const chunks = Array.from({ length: 2000 }, (_, i) => ` w${i}`);
    emu.setReply({ chunks });
    // How fast is bench/'s business: here, that thousands of deltas all arrive, in order.
    const text = await (await postJson(`${emu.baseUrl}/chat/completions`, { ...chat, stream: true })).text();
    const deltas = sseData(text).map((c) => c.choices[0]?.delta?.content).filter((c) => c);
    expect(deltas).toEqual(chunks);
  });

  it('returns deterministic embeddings, one per input', async () => {
    const url = `${emu.baseUrl}/embeddings`;
    const one = await (await postJson(url, { model: 'text-embedding-3-small', input: 'hi' })).json();
    expect(shape(one)).toEqual(shape(fixtureJson('openai/embeddings.response.json')));
    expect(one.data[0].embedding).toHaveLength(1536);
    emu.setReply({ embeddingDimension: 8 });
    const many = await (await postJson(url, { model: 'e', input: ['hi', 'there'] })).json();
    expect(many.data.map((d: any) => [d.index, d.embedding.length])).toEqual([[0, 8], [1, 8]]);
    const again = await (await postJson(url, { model: 'e', input: ['hi'] })).json();
    expect(again.data[0].embedding).toEqual(many.data[0].embedding);
    const norm = Math.hypot(...many.data[0].embedding);
    expect(norm).toBeCloseTo(1, 5);
    const dims = await (await postJson(url, { model: 'e', input: 'x', dimensions: 4 })).json();
    expect(dims.data[0].embedding).toHaveLength(4);
    const b64 = await (await postJson(url, { model: 'e', input: 'hi', encoding_format: 'base64' })).json();
    const floats = new Float32Array(new Uint8Array(Buffer.from(b64.data[0].embedding, 'base64')).buffer);
    expect(Array.from(floats)).toHaveLength(8);
    expect(floats[0]).toBeCloseTo(many.data[0].embedding[0], 5);
  });

  it('returns audio bytes for speech with a content type per response_format', async () => {
    const url = `${emu.baseUrl}/audio/speech`;
    const req = { model: 'gpt-4o-mini-tts', input: 'The quick brown fox.', voice: 'alloy' };
    const mp3 = await postJson(url, req);
    expect(mp3.headers.get('content-type')).toBe('audio/mpeg');
    const mp3Bytes = Buffer.from(await mp3.arrayBuffer());
    expect([mp3Bytes[0], mp3Bytes[1]]).toEqual([0xff, 0xfb]);
    const wav = await postJson(url, { ...req, response_format: 'wav' });
    expect(wav.headers.get('content-type')).toBe('audio/wav');
    const wavBytes = Buffer.from(await wav.arrayBuffer());
    expect(wavBytes.subarray(0, 4).toString()).toBe('RIFF');
    expect(wavBytes.subarray(8, 12).toString()).toBe('WAVE');
    expect(wavBytes.readUInt32LE(40)).toBe(wavBytes.length - 44);
    for (const [format, type] of [['opus', 'audio/opus'], ['aac', 'audio/aac'], ['flac', 'audio/flac'], ['pcm', 'audio/pcm']]) {
      const r = await postJson(url, { ...req, response_format: format });
      expect(r.headers.get('content-type')).toBe(type);
      expect((await r.arrayBuffer()).byteLength).toBeGreaterThan(0);
    }
  });

  it('parses multipart transcription uploads and answers {"text"}', async () => {
    const form = new FormData();
    form.append('model', 'gpt-4o-transcribe');
    form.append('language', 'en');
    form.append('file', new Blob([Buffer.from('RIFF....fake-audio')], { type: 'audio/wav' }), 'clip.wav');
    const res = await fetch(`${emu.baseUrl}/audio/transcriptions`, { method: 'POST', body: form });
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.text).toBe(fixtureJson('openai/audio.transcriptions.response.json').text);
    const rec = emu.lastRequest!;
    expect(rec.form?.fields).toEqual({ model: 'gpt-4o-transcribe', language: 'en' });
    expect(rec.form?.files.file).toMatchObject({ filename: 'clip.wav', contentType: 'audio/wav' });
    expect(rec.form?.files.file?.data.toString()).toBe('RIFF....fake-audio');

    emu.setReply({ transcription: 'scripted words' });
    const form2 = new FormData();
    form2.append('file', new Blob([new Uint8Array([1, 2, 3])]), 'a.mp3');
    form2.append('model', 'whisper-1');
    form2.append('response_format', 'text');
    const res2 = await fetch(`${emu.baseUrl}/audio/transcriptions`, { method: 'POST', body: form2 });
    expect(res2.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await res2.text()).toBe('scripted words');
  });

  it('lists models from the fixture', async () => {
    const res = await fetch(`${emu.baseUrl}/models`);
    expect(await res.json()).toEqual(fixtureJson('openai/models.response.json'));
  });

  it('answers unknown URLs with the OpenAI 404 error body', async () => {
    const res = await postJson(`${emu.baseUrl}/nope`, {});
    expect(res.status).toBe(404);
    expect((await res.json()).error).toEqual({ message: 'Invalid URL (POST /v1/nope)', type: 'invalid_request_error', param: null, code: null });
  });

  it('answers invalid JSON with a 400 error', async () => {
    const res = await fetch(`${emu.baseUrl}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{nope' });
    expect(res.status).toBe(400);
    expect(shape(await res.json())).toEqual(shape(fixtureJson('openai/error.401.json')));
  });

  it('reuses keep-alive connections', async () => {
    const before = emu.connectionCount;
    for (let i = 0; i < 3; i++) await (await fetch(`${emu.baseUrl}/models`)).text();
    expect(emu.connectionCount - before).toBeLessThanOrEqual(1);
  });
});

describe('openai emulator with apiKey and models', () => {
  let secured: Emulator;
  beforeAll(async () => {
    secured = await startOpenAIEmulator({ apiKey: 'sk-test-1234567890abcd', models: ['gpt-a', 'gpt-b'] });
  });
  afterAll(() => secured.close());

  it('rejects missing or wrong keys with the fixture 401 shape', async () => {
    const missing = await postJson(`${secured.baseUrl}/chat/completions`, chat);
    expect(missing.status).toBe(401);
    const m = await missing.json();
    expect(shape(m)).toEqual(shape(fixtureJson('openai/error.401.json')));
    expect(m.error.message).toMatch(/didn't provide an API key/);
    const wrong = await postJson(`${secured.baseUrl}/chat/completions`, chat, { authorization: 'Bearer sk-wrong-key-0000000000' });
    const w = await wrong.json();
    expect(wrong.status).toBe(401);
    expect(w.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_api_key', param: null });
    expect(w.error.message).toMatch(/^Incorrect API key provided: sk-wrong\*+0000\./);
  });

  it('accepts the right key and checks the model list', async () => {
    const auth = { authorization: 'Bearer sk-test-1234567890abcd' };
    const ok = await postJson(`${secured.baseUrl}/chat/completions`, { ...chat, model: 'gpt-a' }, auth);
    expect(ok.status).toBe(200);
    const unknown = await postJson(`${secured.baseUrl}/chat/completions`, { ...chat, model: 'gpt-z' }, auth);
    expect(unknown.status).toBe(404);
    expect((await unknown.json()).error).toMatchObject({ code: 'model_not_found', message: 'The model `gpt-z` does not exist or you do not have access to it.' });
    const models = await (await fetch(`${secured.baseUrl}/models`, { headers: auth })).json();
    expect(models.data.map((m: any) => m.id)).toEqual(['gpt-a', 'gpt-b']);
    expect(Object.keys(models.data[0])).toEqual(Object.keys(fixtureJson('openai/models.response.json').data[0]));
  });
});
