import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { startEmulator, type Emulator } from './index.js';
import { postJson } from './__tests__/helpers.js';

let emu: Emulator;
const auth = { authorization: 'Bearer ex-key' };
const req = { model: 'example-1', prompt: 'Say hi', temp: 0.2 };

beforeAll(async () => {
  emu = await startEmulator('example-com', { apiKey: 'ex-key', models: ['example-1'] });
});
afterAll(() => emu.close());
afterEach(() => {
  emu.reset();
  emu.setReply({});
});

describe('example-com emulator', () => {
  it('completes non-streaming requests', async () => {
    emu.setReply({ text: 'Hi there!', promptTokens: 3 });
    const res = await postJson(`${emu.baseUrl}/v1/completion`, req, auth);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      data: { choices: [{ text: 'Hi there!', finish_reason: 'stop' }] },
      usage: { prompt_tokens: 3, completion_tokens: 3 },
    });
    expect(emu.lastRequest?.headers.authorization).toBe('Bearer ex-key');
  });

  it('streams deltas, a final stop event and [DONE]', async () => {
    emu.setReply({ chunks: ['Hi', ' there'] });
    const text = await (await postJson(`${emu.baseUrl}/v1/completion`, { ...req, stream: true }, auth)).text();
    expect(text).toBe(
      'data: {"text":"Hi","finish_reason":null}\n\n' +
        'data: {"text":" there","finish_reason":null}\n\n' +
        'data: {"text":"","finish_reason":"stop"}\n\n' +
        'data: [DONE]\n\n',
    );
  });

  it('honours max_tokens and stop', async () => {
    emu.setReply({ text: 'one two three four' });
    const a = await (await postJson(`${emu.baseUrl}/v1/completion`, { ...req, max_tokens: 2 }, auth)).json();
    expect(a.data.choices[0]).toEqual({ text: 'one two', finish_reason: 'length' });
    const b = await (await postJson(`${emu.baseUrl}/v1/completion`, { ...req, stop: ['three'] }, auth)).json();
    expect(b.data.choices[0]).toEqual({ text: 'one two ', finish_reason: 'stop' });
  });

  it('errors with {"error": {message, code}}', async () => {
    const noKey = await postJson(`${emu.baseUrl}/v1/completion`, req, { authorization: 'Bearer wrong' });
    expect(noKey.status).toBe(401);
    expect(await noKey.json()).toEqual({ error: { message: expect.any(String), code: 'unauthorized' } });
    const bad = await postJson(`${emu.baseUrl}/v1/completion`, { temp: 1 }, auth);
    expect(bad.status).toBe(400);
    expect((await bad.json()).error.code).toBe('invalid_request');
    const model = await postJson(`${emu.baseUrl}/v1/completion`, { ...req, model: 'nope' }, auth);
    expect(model.status).toBe(404);
    expect((await model.json()).error.code).toBe('model_not_found');
  });

  it('sends an in-stream error event', async () => {
    emu.failNext({ kind: 'stream-error', message: 'overloaded' });
    const text = await (await postJson(`${emu.baseUrl}/v1/completion`, { ...req, stream: true }, auth)).text();
    expect(text.endsWith('data: {"error":{"message":"overloaded","code":"stream_error"}}\n\n')).toBe(true);
  });
});
