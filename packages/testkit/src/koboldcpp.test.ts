import { request } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { startKoboldCppEmulator, type Emulator } from './index.js';
import { fixture, fixtureJson, postJson, readAll, shape, sseEvents } from './__tests__/helpers.js';

let emu: Emulator;

/** POST with node:http, collecting the body and any connection error. */
function rawPost(url: string, body: unknown): Promise<{ headers: Record<string, unknown>; text: string; error?: Error }> {
  return new Promise((resolve) => {
    let headers: Record<string, unknown> = {};
    let text = '';
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      headers = res.headers;
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ headers, text }));
      res.on('error', (error) => resolve({ headers, text, error }));
    });
    req.on('error', (error) => resolve({ headers, text, error }));
    req.end(JSON.stringify(body));
  });
}

beforeAll(async () => {
  emu = await startKoboldCppEmulator();
});
afterAll(() => emu.close());
afterEach(() => {
  emu.reset();
  emu.setReply({});
});

describe('koboldcpp emulator', () => {
  it('generates {"results": [...]} with json.dumps spacing', async () => {
    const text = await (await postJson(`${emu.url}/api/v1/generate`, fixtureJson('koboldcpp/generate.request.json'))).text();
    expect(text).toMatch(/^\{"results": \[\{"text": /);
    const body = JSON.parse(text);
    expect(shape(body)).toEqual(shape(fixtureJson('koboldcpp/generate.response.json')));
    expect(body.results[0]).toMatchObject({ finish_reason: 'stop', text: 'Hello! This is a scripted reply from the AEGIS KoboldCpp emulator.' });
  });

  it('respects max_length and stop_sequence', async () => {
    const a = await (await postJson(`${emu.url}/api/v1/generate`, { prompt: 'x', max_length: 2 })).json();
    expect(a.results[0]).toMatchObject({ text: 'Hello!', finish_reason: 'length', completion_tokens: 2 });
    const b = await (await postJson(`${emu.url}/api/v1/generate`, { prompt: 'x', stop_sequence: ['scripted'] })).json();
    // KoboldCpp 1.102: only EOS is "stop"; a stop sequence (trimmed, trim_stop defaulting to true) is "length".
    expect(b.results[0]).toMatchObject({ text: 'Hello! This is a ', finish_reason: 'length' });
  });

  it('streams `event: message` SSE, final event with finish_reason, then closes the connection', async () => {
    emu.setReply({ chunks: [' Holding', ' up his', ' tail'] });
    const { headers, text, error } = await rawPost(`${emu.url}/api/extra/generate/stream`, { prompt: 'Niko', max_length: 100 });
    expect(error).toBeUndefined();
    expect(headers['content-type']).toBe('text/event-stream');
    expect(headers['transfer-encoding']).toBeUndefined();
    expect(headers['connection']).toBe('close');
    const expected = fixture('koboldcpp/generate.stream.sse.txt').replace('"finish_reason": "length"', '"finish_reason": "stop"');
    expect(text).toBe(expected.replace(/\n+$/, '\n\n'));
    expect(text).not.toContain('[DONE]');
    expect(sseEvents(text).every((e) => e.startsWith('event: message\ndata: '))).toBe(true);
  });

  it('reset-mid-stream breaks the close-delimited stream with an error; truncate ends it without the final event', async () => {
    // The body is close-delimited, so the emulator sends a TCP RST: node:http reports it as an error.
    // (undici's fetch deliberately treats ECONNRESET on a close-delimited body as its end.)
    emu.failNext({ kind: 'reset-mid-stream', afterChunks: 2 });
    const broken = await rawPost(`${emu.url}/api/extra/generate/stream`, { prompt: 'x' });
    expect(broken.error).toBeDefined();
    expect(sseEvents(broken.text)).toHaveLength(2);
    emu.failNext({ kind: 'truncate' });
    const cut = await readAll(await postJson(`${emu.url}/api/extra/generate/stream`, { prompt: 'x' }));
    expect(cut.error).toBeUndefined();
    expect(cut.text).not.toMatch(/"finish_reason": "(stop|length)"/);
  });

  it('serves model, version and the 404 page', async () => {
    expect(await (await fetch(`${emu.url}/api/v1/model`)).text()).toBe(fixture('koboldcpp/model.response.json').trim());
    const version = await (await fetch(`${emu.url}/api/extra/version`)).json();
    expect(Object.keys(version)).toEqual(Object.keys(fixtureJson('koboldcpp/version.response.json')));
    expect(version).toMatchObject({ result: 'KoboldCpp', protected: false, tts: true, transcribe: true });
    const nf = await fetch(`${emu.url}/api/nope`);
    expect(nf.status).toBe(404);
    expect(nf.headers.get('content-type')).toBe('text/html');
    expect(await nf.text()).toBe(fixture('koboldcpp/error.404.txt').trim());
  });

  it('synthesizes a valid WAV for TTS', async () => {
    const res = await postJson(`${emu.url}/api/extra/tts`, fixtureJson('koboldcpp/tts.request.json'));
    expect(res.headers.get('content-type')).toBe('audio/wav');
    const wav = Buffer.from(await res.arrayBuffer());
    expect(wav.subarray(0, 4).toString()).toBe('RIFF');
    expect(wav.readUInt32LE(4)).toBe(wav.length - 8);
    expect(wav.subarray(12, 16).toString()).toBe('fmt ');
    expect(wav.readUInt16LE(22)).toBe(1);
    expect(wav.readUInt32LE(40)).toBe(wav.length - 44);
    expect(wav.length).toBeGreaterThan(44);
  });

  it('transcribes base64 audio_data', async () => {
    const res = await postJson(`${emu.url}/api/extra/transcribe`, { prompt: '', audio_data: Buffer.from('RIFF').toString('base64') });
    expect(await res.text()).toBe(fixture('koboldcpp/transcribe.response.json').trim());
    emu.setReply({ transcription: 'Grüße' });
    const t = await (await postJson(`${emu.url}/api/extra/transcribe`, { audio_data: 'UklGRg==' })).text();
    expect(t).toBe('{"text": "Gr\\u00fc\\u00dfe"}');
    expect((await postJson(`${emu.url}/api/extra/transcribe`, {})).status).toBe(500);
  });

  it('embeds (OpenAI shape) on both paths, and aborts', async () => {
    for (const path of ['/api/extra/embeddings', '/v1/embeddings']) {
      const body = await (await postJson(`${emu.url}${path}`, { input: ['a', 'b'] })).json();
      expect(shape(body)).toEqual(shape(fixtureJson('openai/embeddings.response.json')));
      expect(body.data).toHaveLength(2);
    }
    expect(await (await postJson(`${emu.url}/api/extra/abort`, {})).json()).toEqual({ success: 'true', done: 'true' });
  });

  it('answers bad input with the 500 detail body', async () => {
    const res = await fetch(`${emu.url}/api/v1/generate`, { method: 'POST', body: '{broken' });
    expect(res.status).toBe(500);
    expect(await res.text()).toBe(fixture('koboldcpp/error.500.json').trim());
  });

  it('serves the OpenAI-compatible chat stream with repeated role', async () => {
    const text = await (await postJson(`${emu.url}/v1/chat/completions`, fixtureJson('koboldcpp/chat.completions.request.json'))).text();
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    const first = JSON.parse(sseEvents(text)[0]!.slice(6));
    const tpl = JSON.parse(sseEvents(fixture('koboldcpp/chat.completions.stream.sse.txt'))[0]!.slice(6));
    expect(Object.keys(first)).toEqual(Object.keys(tpl));
    expect(first).toMatchObject({ id: 'koboldcpp', choices: [{ delta: { role: 'assistant', content: 'Hello' } }] });
  });
});

describe('koboldcpp emulator with a password', () => {
  let secured: Emulator;
  beforeAll(async () => {
    secured = await startKoboldCppEmulator({ apiKey: 'pw', models: ['tiny-model'] });
  });
  afterAll(() => secured.close());

  it('401s protected endpoints with the detail body; version stays open', async () => {
    const res = await postJson(`${secured.url}/api/v1/generate`, { prompt: 'x' });
    expect(res.status).toBe(401);
    expect(await res.text()).toBe(fixture('koboldcpp/error.401.json').trim());
    expect((await (await fetch(`${secured.url}/api/extra/version`)).json()).protected).toBe(true);
    const ok = await postJson(`${secured.url}/api/v1/generate`, { prompt: 'x' }, { authorization: 'Bearer pw' });
    expect(ok.status).toBe(200);
    const model = await (await fetch(`${secured.url}/api/v1/model`, { headers: { authorization: 'Bearer pw' } })).json();
    expect(model).toEqual({ result: 'koboldcpp/tiny-model' });
  });
});
