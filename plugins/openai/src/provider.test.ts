import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ConfigurationError, ProviderError, type BackendProvider } from '@aegis/core';
import { abortOnArrival, startOpenAIEmulator, wavFile, pcmTone, type Emulator } from '@aegis/testkit';
import { drain, expectHttpError, harness, providerError, rejection, type Harness } from './__tests__/harness.js';
import plugin, { mapModelList, OpenAIProvider, speechMimeType } from './index.js';

const KEY = 'sk-test-0123456789abcdef';
const MODELS = ['gpt-4o-mini', 'text-embedding-3-small', 'gpt-4o-mini-tts', 'whisper-1'];
const HELLO = [{ role: 'user' as const, content: 'Say hello' }];

let emu: Emulator;
let h: Harness;
let chatUrl: string;

beforeAll(async () => {
  emu = await startOpenAIEmulator({ apiKey: KEY, models: MODELS });
  chatUrl = `${emu.baseUrl}/chat/completions`;
  const base = { type: 'openai', base_url: emu.baseUrl, api_key: '${OPENAI_API_KEY}', model: 'gpt-4o-mini', max_retries: 0 };
  h = harness(
    plugin,
    [
      { ...base, profile_name: 'p' },
      {
        ...base,
        profile_name: 'tuned',
        temperature: 0.3,
        top_p: 0.9,
        max_tokens: 50,
        stop: ['\n\n'],
        seed: 7,
        frequency_penalty: 0.5,
        presence_penalty: -0.25,
        organization: 'org-abc',
        project: 'proj_xyz',
        headers: { 'X-Trace': 'trace-1' },
      },
      { ...base, profile_name: 'compat', max_tokens_field: 'max_tokens', max_tokens: 5 },
      { ...base, profile_name: 'batched', max_embeddings_per_call: 2 },
      { ...base, profile_name: 'retrying', max_retries: 1 },
      { ...base, profile_name: 'bad-key', api_key: 'sk-wrong-key-000000000000' },
      { ...base, profile_name: 'unknown-model', model: 'gpt-nope' },
      { profile_name: 'keyless-local', type: 'openai', base_url: emu.baseUrl, model: 'gpt-4o-mini', max_retries: 0 },
      { profile_name: 'keyless-openai', type: 'openai', model: 'gpt-4o-mini' },
    ],
    { OPENAI_API_KEY: KEY },
  );
});

afterAll(async () => {
  h.close();
  await emu.close();
});

beforeEach(() => {
  emu.reset();
  emu.setReply({});
});

const provider = (name = 'p'): Promise<BackendProvider> => h.provider(name);

describe('completion', () => {
  it('maps messages to the request and the answer to a CompletionResult', async () => {
    emu.setReply({ text: 'Hello there, friend.', promptTokens: 12, completionTokens: 5 });
    const result = await (await provider()).getCompletion([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi', name: 'ann' },
      { role: 'assistant', content: 'Hello.' },
      { role: 'tool', content: '42', name: 'calc' },
    ]);
    expect(result).toEqual({
      text: 'Hello there, friend.',
      finishReason: 'stop',
      usage: { promptTokens: 12, completionTokens: 5, totalTokens: 17 },
      model: 'gpt-4o-mini',
    });
    const req = emu.lastRequest!;
    expect(req.method).toBe('POST');
    expect(req.path).toBe('/v1/chat/completions');
    expect(req.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(req.json).toEqual({
      model: 'gpt-4o-mini',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi', name: 'ann' },
        { role: 'assistant', content: 'Hello.' },
        { role: 'user', content: 'Tool result from calc:\n42' },
      ],
    });
  });

  it('reports a length cut as finishReason "length"', async () => {
    emu.setReply({ text: 'one two three four five six' });
    const result = await (await provider()).getCompletion(HELLO, { maxTokens: 2 });
    expect(result.finishReason).toBe('length');
    // Only when it differs from finishReason (here it is the same word).
    expect('rawFinishReason' in result).toBe(false);
    expect(result.text).toBe('one two');
  });

  /** A `chat.completion` answer (HTTP 200) with these choices (and any top-level extras). */
  const chatAnswer = (choices: Record<string, unknown>[], extra: Record<string, unknown> = {}) => ({
    kind: 'status' as const,
    status: 200,
    body: { id: 'c1', object: 'chat.completion', model: 'gpt-4o-mini', choices, ...extra },
  });

  it('reads the choice of index 0 even when the server lists another first (n > 1)', async () => {
    const message = (content: string) => ({ role: 'assistant', content });
    emu.failNext(
      chatAnswer([
        { index: 1, message: message('second'), finish_reason: 'length' },
        { index: 0, message: message('first'), finish_reason: 'stop' },
      ]),
    );
    const result = await (await provider()).getCompletion(HELLO, { providerOptions: { n: 2 } });
    expect(result).toMatchObject({ text: 'first', finishReason: 'stop' });
  });

  it('an answer without a finish reason is "other"; an empty reasoning or refusal, and usage without counts, are left out', async () => {
    emu.failNext(
      chatAnswer([{ index: 0, message: { role: 'assistant', content: 'plain', reasoning_content: '', refusal: '' }, finish_reason: null }], {
        usage: { prompt_tokens: null, completion_tokens: null, total_tokens: null },
      }),
    );
    const result = await (await provider()).getCompletion(HELLO);
    expect(result).toEqual({ text: 'plain', finishReason: 'other', model: 'gpt-4o-mini' });
  });

  it('works without an api_key against a compatible server that needs none', async () => {
    const open = await startOpenAIEmulator();
    const local = harness(plugin, [{ profile_name: 'local', type: 'openai', base_url: open.baseUrl, model: 'any-model', max_retries: 0 }]);
    try {
      const result = await (await local.provider('local')).getCompletion(HELLO);
      expect(result.text).toContain('OpenAI emulator');
      expect(result.model).toBe('any-model');
      expect(open.lastRequest!.headers.authorization).toBeUndefined();
    } finally {
      local.close();
      await open.close();
    }
  });
});

describe('streaming', () => {
  it('yields the deltas as they arrive; the result text is their concatenation, with usage', async () => {
    emu.setReply({ text: 'Streaming works in small pieces.', promptTokens: 9, completionTokens: 6 });
    const stream = (await provider()).streamCompletion(HELLO);
    const { deltas, error } = await drain(stream);
    expect(error).toBeUndefined();
    expect(deltas.length).toBeGreaterThan(1);
    const result = await stream.result;
    expect(result.text).toBe(deltas.join(''));
    expect(result.text).toBe('Streaming works in small pieces.');
    expect(result.rawFinishReason).toBeUndefined();
    expect(result).toMatchObject({
      finishReason: 'stop',
      usage: { promptTokens: 9, completionTokens: 6, totalTokens: 15 },
      model: 'gpt-4o-mini',
    });
    expect(emu.lastRequest!.json).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('reports finish_reason "length" from the finish chunk', async () => {
    emu.setReply({ text: 'a b c d e f g h' });
    const result = await (await provider()).streamCompletion(HELLO, { maxTokens: 3 }).result;
    expect(result.text).toBe('a b c');
    expect(result.finishReason).toBe('length');
  });
});

describe('embeddings', () => {
  it('returns one vector per text, in order, with the default embedding model', async () => {
    const result = await (await provider()).getEmbeddings(['first text', 'second text']);
    expect(result.embeddings).toHaveLength(2);
    expect(result.embeddings[0]).toHaveLength(1536);
    expect(result.embeddings[0]).not.toEqual(result.embeddings[1]);
    expect(result.model).toBe('text-embedding-3-small');
    expect(result.usage?.promptTokens).toBeGreaterThan(0);
    expect(emu.lastRequest!.path).toBe('/v1/embeddings');
    expect(emu.lastRequest!.json).toEqual({ model: 'text-embedding-3-small', input: ['first text', 'second text'], encoding_format: 'float' });
  });

  it('sends dimensions, and providerOptions last (they win)', async () => {
    const result = await (await provider()).getEmbeddings(['x', 'y'], { dimensions: 64, providerOptions: { user: 'u-1', encoding_format: 'base64x' } });
    expect(result.embeddings.map((v) => v.length)).toEqual([64, 64]);
    expect(emu.lastRequest!.json).toEqual({
      model: 'text-embedding-3-small',
      input: ['x', 'y'],
      encoding_format: 'base64x',
      dimensions: 64,
      user: 'u-1',
    });
  });

  it('splits a batch larger than max_embeddings_per_call into several requests, keeping the order', async () => {
    const texts = ['one', 'two', 'three', 'four', 'five'];
    const whole = await (await provider()).getEmbeddings(texts);
    emu.reset();
    emu.setReply({});
    const split = await (await provider('batched')).getEmbeddings(texts);
    expect(emu.requests.map((r) => r.json.input)).toEqual([['one', 'two'], ['three', 'four'], ['five']]);
    expect(split.embeddings).toEqual(whole.embeddings);
    expect(split.usage?.promptTokens).toBe(whole.usage?.promptTokens);
  });

  it('sends at most 2,048 texts per request by default (the API limit)', async () => {
    emu.setReply({ embeddingDimension: 2 });
    const texts = Array.from({ length: 2049 }, (_, i) => `t${i}`);
    const result = await (await provider()).getEmbeddings(texts);
    expect(result.embeddings).toHaveLength(2049);
    expect(emu.requests.map((r) => (r.json.input as string[]).length)).toEqual([2048, 1]);
  });

  it('uses the model given per call', async () => {
    emu.setReply({ embeddingDimension: 8 });
    const result = await (await provider()).getEmbeddings(['x'], { model: 'gpt-4o-mini' });
    expect(result.embeddings[0]).toHaveLength(8);
    expect(emu.lastRequest!.json.model).toBe('gpt-4o-mini');
  });
});

describe('speech', () => {
  it('posts the text with the default model and voice and returns mp3 audio', async () => {
    const result = await (await provider()).getSpeech('Hello world');
    expect(result.mimeType).toBe('audio/mpeg');
    expect(result.audio.length).toBeGreaterThan(0);
    expect(Buffer.from(result.audio.subarray(0, 2))).toEqual(Buffer.from([0xff, 0xfb]));
    expect(emu.lastRequest!.path).toBe('/v1/audio/speech');
    expect(emu.lastRequest!.json).toEqual({ model: 'gpt-4o-mini-tts', input: 'Hello world', voice: 'alloy' });
  });

  it('maps format to response_format, and voice, speed and model per call', async () => {
    const result = await (await provider()).getSpeech('Hi', { format: 'wav', voice: 'nova', speed: 1.25, model: 'gpt-4o-mini-tts' });
    expect(result.mimeType).toBe('audio/wav');
    expect(Buffer.from(result.audio.subarray(0, 4)).toString('ascii')).toBe('RIFF');
    expect(emu.lastRequest!.json).toEqual({ model: 'gpt-4o-mini-tts', input: 'Hi', voice: 'nova', response_format: 'wav', speed: 1.25 });
  });

  it('merges providerOptions into the body last', async () => {
    await (await provider()).getSpeech('Hi', { voice: 'nova', providerOptions: { instructions: 'cheerful', voice: 'coral' } });
    expect(emu.lastRequest!.json).toEqual({ model: 'gpt-4o-mini-tts', input: 'Hi', voice: 'coral', instructions: 'cheerful' });
  });

  it('a JSON answer with status 200 is a bad_response, not audio', async () => {
    emu.failNext({ kind: 'status', status: 200, body: { error: { message: 'upstream failed' } } });
    const e = await providerError((await provider()).getSpeech('Hi'));
    expect(e).toMatchObject({ reason: 'bad_response', url: `${emu.baseUrl}/audio/speech` });
    expect(e.message).toContain('application/json instead of audio');
  });

  it('takes the MIME type from the content-type, else from the format', () => {
    expect(speechMimeType('mp3', 'audio/mpeg')).toBe('audio/mpeg');
    expect(speechMimeType('opus', 'application/octet-stream')).toBe('audio/opus');
    expect(speechMimeType('flac', undefined)).toBe('audio/flac');
    expect(speechMimeType(undefined, 'binary/octet-stream')).toBe('audio/mpeg');
    expect(speechMimeType('pcm', 'audio/pcm; rate=24000')).toBe('audio/pcm');
  });
});

describe('transcription', () => {
  it('uploads the audio as multipart/form-data and returns the text', async () => {
    emu.setReply({ transcription: 'the quick brown fox' });
    const audio = wavFile(pcmTone(200, 16000), 16000);
    const result = await (await provider()).getTranscription(audio, { language: 'en', prompt: 'animals' });
    expect(result).toEqual({ text: 'the quick brown fox' });
    const req = emu.lastRequest!;
    expect(req.path).toBe('/v1/audio/transcriptions');
    expect(String(req.headers['content-type'])).toMatch(/^multipart\/form-data; boundary=/);
    expect(req.form!.fields).toEqual({ model: 'whisper-1', language: 'en', prompt: 'animals', response_format: 'json' });
    expect(req.form!.files.file!.filename).toBe('audio.wav');
    expect(req.form!.files.file!.contentType).toBe('audio/wav');
    expect(req.form!.files.file!.data.equals(audio)).toBe(true);
  });

  it('sends providerOptions as form fields, last: replacing a field, arrays as repeated fields', async () => {
    emu.setReply({ transcription: 'ok' });
    await (await provider()).getTranscription(new Uint8Array([1, 2, 3]), {
      providerOptions: { temperature: 0.2, response_format: 'verbose_json', 'timestamp_granularities[]': ['word', 'segment'] },
    });
    const fields = emu.lastRequest!.form!.fields as Record<string, unknown>;
    expect(fields).toMatchObject({ model: 'whisper-1', temperature: '0.2', response_format: 'verbose_json' });
    const raw = emu.lastRequest!.body.toString('latin1');
    expect(raw.match(/name="timestamp_granularities\[\]"\r\n\r\n(\w+)/g)?.map((m) => m.split('\r\n\r\n')[1])).toEqual(['word', 'segment']);
    expect(raw.match(/name="response_format"/g)).toHaveLength(1);
  });

  it('uses the model given per call over transcription_model', async () => {
    emu.setReply({ transcription: 'ok' });
    await (await provider()).getTranscription(new Uint8Array([1, 2, 3]), { model: 'gpt-4o-mini' });
    expect(emu.lastRequest!.form!.fields.model).toBe('gpt-4o-mini');
  });

  it('sends an object in providerOptions as its JSON text (as chunking_strategy is sent)', async () => {
    emu.setReply({ transcription: 'ok' });
    await (await provider()).getTranscription(new Uint8Array([1, 2, 3]), {
      providerOptions: { chunking_strategy: { type: 'server_vad', threshold: 0.5 } },
    });
    expect(JSON.parse(String(emu.lastRequest!.form!.fields.chunking_strategy))).toEqual({ type: 'server_vad', threshold: 0.5 });
  });

  it('names the file after the MIME type, or as told', async () => {
    await (await provider()).getTranscription(new Uint8Array([1, 2, 3]), { mimeType: 'audio/mpeg' });
    expect(emu.lastRequest!.form!.files.file).toMatchObject({ filename: 'audio.mp3', contentType: 'audio/mpeg' });
    await (await provider()).getTranscription(new Uint8Array([1, 2, 3]), { mimeType: 'audio/webm', fileName: 'clip.webm' });
    expect(emu.lastRequest!.form!.files.file).toMatchObject({ filename: 'clip.webm', contentType: 'audio/webm' });
  });
});

describe('models', () => {
  it('lists the server\'s models with their owner and creation time', async () => {
    const models = await (await provider()).listModels();
    expect(models.map((m) => m.id)).toEqual(MODELS);
    expect(models[0]).toMatchObject({ id: 'gpt-4o-mini', ownedBy: expect.any(String), providerMetadata: { created: expect.any(Number) } });
    expect(models[0]).not.toHaveProperty('contextLength');
    expect(emu.lastRequest!.path).toBe('/v1/models');
  });

  it('keeps only a positive integer max_model_len, and no providerMetadata for a bare card', () => {
    const url = 'http://127.0.0.1:1/v1/models';
    const lengths = [0, -1, 1.5, '4096', null, 4096];
    const cards = mapModelList({ data: lengths.map((max_model_len, i) => ({ id: `m${i}`, max_model_len })) }, url);
    expect(cards.map((c) => c.contextLength)).toEqual([undefined, undefined, undefined, undefined, undefined, 4096]);
    expect(cards.map((c) => c.providerMetadata)).toEqual(lengths.map(() => undefined));
    expect(mapModelList({ data: [{ id: 'm', root: 'base/m', created: 0 }] }, url)).toEqual([{ id: 'm', providerMetadata: { root: 'base/m' } }]);
  });
});

describe('capabilities', () => {
  it('declares the five operations and tools', async () => {
    const p = await provider();
    expect(p).toBeInstanceOf(OpenAIProvider);
    expect([...p.capabilities].sort()).toEqual(['completion', 'embeddings', 'models', 'speech', 'streaming', 'structured_output', 'tools', 'transcription', 'vision']);
    for (const c of p.capabilities) expect(p.supports(c)).toBe(true);
    // OpenAI offers every capability, so nothing here throws CapabilityNotSupportedError; the vLLM plugin,
    // built on the same code, tests that path (it has no speech).
  });
});

describe('sampling settings on the wire', () => {
  it('sends the profile defaults, with max_tokens as max_completion_tokens', async () => {
    await (await provider('tuned')).getCompletion(HELLO);
    expect(emu.lastRequest!.json).toEqual({
      model: 'gpt-4o-mini',
      messages: HELLO,
      temperature: 0.3,
      top_p: 0.9,
      max_completion_tokens: 50,
      stop: ['\n\n'],
      seed: 7,
      frequency_penalty: 0.5,
      presence_penalty: -0.25,
    });
  });

  it('sends organization, project and extra headers', async () => {
    await (await provider('tuned')).getCompletion(HELLO);
    const headers = emu.lastRequest!.headers;
    expect(headers['openai-organization']).toBe('org-abc');
    expect(headers['openai-project']).toBe('proj_xyz');
    expect(headers['x-trace']).toBe('trace-1');
    expect(headers.authorization).toBe(`Bearer ${KEY}`);
  });

  it('lets a call override the profile defaults, with providerOptions merged last', async () => {
    const stream = (await provider('tuned')).streamCompletion(HELLO, {
      temperature: 1.1,
      topP: 0.5,
      maxTokens: 7,
      stop: ['END'],
      seed: 99,
      providerOptions: { presence_penalty: 1, user: 'u-1', stream_options: { include_usage: false } },
    });
    await stream.result;
    expect(emu.lastRequest!.json).toEqual({
      model: 'gpt-4o-mini',
      messages: HELLO,
      temperature: 1.1,
      top_p: 0.5,
      max_completion_tokens: 7,
      stop: ['END'],
      seed: 99,
      frequency_penalty: 0.5,
      presence_penalty: 1,
      stream: true,
      stream_options: { include_usage: false },
      user: 'u-1',
    });
  });

  it('stops at a stop sequence', async () => {
    emu.setReply({ text: 'first part END second part' });
    const result = await (await provider()).getCompletion(HELLO, { stop: ['END'] });
    expect(result.text).toBe('first part ');
    expect(emu.lastRequest!.json.stop).toEqual(['END']);
  });

  it('leaves out an empty stop list (the API takes 1 to 4 sequences)', async () => {
    await (await provider()).getCompletion(HELLO, { stop: [] });
    expect(emu.lastRequest!.json).not.toHaveProperty('stop');
  });

  it('sends a reasoning level as reasoning_effort, and nothing for reasoning on or off (the chat API has no switch)', async () => {
    const p = await provider();
    await p.getCompletion(HELLO, { reasoning: 'low' });
    expect(emu.lastRequest!.json.reasoning_effort).toBe('low');
    for (const reasoning of [true, false]) {
      await p.getCompletion(HELLO, { reasoning });
      expect(emu.lastRequest!.json).not.toHaveProperty('reasoning_effort');
    }
  });

  it('keeps max_tokens for compatible servers when max_tokens_field says so', async () => {
    await (await provider('compat')).getCompletion(HELLO);
    expect(emu.lastRequest!.json.max_tokens).toBe(5);
    expect(emu.lastRequest!.json.max_completion_tokens).toBeUndefined();
  });
});

describe('HTTP errors', () => {
  it('400: status, URL, the backend message, not retryable', async () => {
    emu.failNext({
      kind: 'status',
      status: 400,
      body: { error: { message: "Invalid value for 'temperature': must be at most 2.", type: 'invalid_request_error', param: 'temperature', code: 'invalid_value' } },
    });
    const e = await providerError((await provider()).getCompletion(HELLO));
    expectHttpError(e, { status: 400, url: chatUrl, message: "Invalid value for 'temperature': must be at most 2.", retryable: false });
    expect(e.message).toContain('invalid_request_error, code invalid_value');
    expect(e.profile).toBe('p');
    expect(e.providerType).toBe('openai');
  });

  it('401 from a wrong key: the backend message, not retryable, no key in the message', async () => {
    const e = await providerError((await provider('bad-key')).getCompletion(HELLO));
    expectHttpError(e, { status: 401, url: chatUrl, message: 'Incorrect API key provided', retryable: false });
    expect(e.message).not.toContain('sk-wrong-key-000000000000');
  });

  it('404 for an unknown model', async () => {
    const e = await providerError((await provider('unknown-model')).getCompletion(HELLO));
    expectHttpError(e, { status: 404, url: chatUrl, message: 'The model `gpt-nope` does not exist or you do not have access to it.', retryable: false });
    expect(e.message).toContain('model_not_found');
  });

  it('an error body without a message still names its type and code', async () => {
    emu.failNext({ kind: 'status', status: 400, body: { error: { type: 'invalid_request_error', code: 'unsupported_parameter', param: 'logit_bias' } } });
    const e = await providerError((await provider()).getCompletion(HELLO));
    expectHttpError(e, { status: 400, url: chatUrl, message: 'error (invalid_request_error, code unsupported_parameter)', retryable: false });
  });

  it('429 with Retry-After: retryable, retryAfterMs set', async () => {
    emu.failNext({ kind: 'status', status: 429, retryAfter: '3' });
    const e = await providerError((await provider()).getCompletion(HELLO));
    expectHttpError(e, { status: 429, url: chatUrl, message: 'Rate limit reached for requests', retryable: true });
    expect(e.retryAfterMs).toBe(3000);
  });

  it('429 for a spent quota (insufficient_quota): not retryable, sent once', async () => {
    emu.failNext({
      kind: 'status',
      status: 429,
      body: { error: { message: 'You exceeded your current quota, please check your plan and billing details.', type: 'insufficient_quota', param: null, code: 'insufficient_quota' } },
    });
    const e = await providerError((await provider('retrying')).getCompletion(HELLO));
    expectHttpError(e, { status: 429, url: chatUrl, message: 'You exceeded your current quota', retryable: false });
    expect(emu.requests).toHaveLength(1);
  });

  it('429 whose body says insufficient_quota only in its type (code null): not retryable either, sent once', async () => {
    emu.failNext({
      kind: 'status',
      status: 429,
      body: { error: { message: 'You exceeded your current quota, please check your plan and billing details.', type: 'insufficient_quota', param: null, code: null } },
    });
    const e = await providerError((await provider('retrying')).getCompletion(HELLO));
    expectHttpError(e, { status: 429, url: chatUrl, message: 'You exceeded your current quota', retryable: false });
    expect(emu.requests).toHaveLength(1);
  });

  it('500: retryable, with the backend message', async () => {
    emu.failNext({ kind: 'status', status: 500 });
    const e = await providerError((await provider()).getCompletion(HELLO));
    expectHttpError(e, { status: 500, url: chatUrl, message: 'The server had an error while processing your request', retryable: true });
  });

  it('errors of the other endpoints name their own URL', async () => {
    emu.failNext({ kind: 'status', status: 503 });
    const e = await providerError((await provider()).getEmbeddings(['x']));
    expectHttpError(e, { status: 503, url: `${emu.baseUrl}/embeddings`, message: 'The engine is currently overloaded', retryable: true });
    emu.failNext({ kind: 'status', status: 400 });
    const s = await providerError((await provider()).getSpeech('x'));
    expectHttpError(s, { status: 400, url: `${emu.baseUrl}/audio/speech`, message: 'Invalid request.', retryable: false });
    emu.failNext({ kind: 'status', status: 500 });
    const t = await providerError((await provider()).getTranscription(new Uint8Array([1])));
    expectHttpError(t, { status: 500, url: `${emu.baseUrl}/audio/transcriptions`, message: 'The server had an error', retryable: true });
    emu.failNext({ kind: 'status', status: 429, retryAfter: '1' });
    const st = await providerError((await provider()).streamCompletion(HELLO).result);
    expectHttpError(st, { status: 429, url: chatUrl, message: 'Rate limit reached', retryable: true });
  });

  it('is retried by the base class when retryable (the plugin itself never retries)', async () => {
    emu.failNext({ kind: 'status', status: 500 });
    const result = await (await provider('retrying')).getCompletion(HELLO);
    expect(result.text).toContain('OpenAI emulator');
    expect(emu.requests).toHaveLength(2);
    emu.reset();
    emu.failNext({ kind: 'status', status: 500 });
    expect((await (await provider()).streamCompletion(HELLO, { maxRetries: 1 }).result).text).toContain('OpenAI emulator');
    expect(emu.requests).toHaveLength(2);
  });
});

describe('broken answers', () => {
  it('a stream that ends before data: [DONE] is a truncated_stream error with the partial text', async () => {
    emu.setReply({ chunks: ['one', ' two', ' three', ' four'] });
    emu.failNext({ kind: 'truncate', afterChunks: 3 });
    const stream = (await provider()).streamCompletion(HELLO);
    const { deltas, error } = await drain(stream);
    expect(deltas).toEqual(['one', ' two']);
    expect(ProviderError.isInstance(error)).toBe(true);
    const e = error as ProviderError;
    expect(e.reason).toBe('truncated_stream');
    expect(e.url).toBe(chatUrl);
    expect(e.message).toContain('data: [DONE]');
    expect(e.partialText).toBe('one two');
    await expect(stream.result).rejects.toBe(error);
  });

  it('a connection reset mid-stream is a retryable connection error with the partial text', async () => {
    emu.setReply({ chunks: ['alpha', ' beta', ' gamma'] });
    emu.failNext({ kind: 'reset-mid-stream', afterChunks: 2 });
    const { deltas, error } = await drain((await provider()).streamCompletion(HELLO));
    expect(deltas).toEqual(['alpha']);
    expect((error as ProviderError).reason).toBe('connection');
    expect((error as ProviderError).retryable).toBe(true);
    expect((error as ProviderError).partialText).toBe('alpha');
  });

  it('an error event inside the stream is a stream_error with the backend message', async () => {
    emu.setReply({ chunks: ['part', ' two', ' three'] });
    emu.failNext({ kind: 'stream-error', message: 'The model overloaded mid-answer' });
    const { deltas, error } = await drain((await provider()).streamCompletion(HELLO));
    expect(deltas).toEqual(['part']);
    const e = error as ProviderError;
    expect(ProviderError.isInstance(e)).toBe(true);
    expect(e.reason).toBe('stream_error');
    expect(e.url).toBe(chatUrl);
    expect(e.message).toContain('The model overloaded mid-answer');
    expect(e.message).toContain('server_error');
    expect(e.partialText).toBe('part');
  });

  it('an "event: error" SSE event is a stream_error too, even with a plain-text payload', async () => {
    const body =
      'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}\n\n' +
      'event: error\ndata: upstream connection lost\n\n';
    emu.failNext({ kind: 'status', status: 200, body, headers: { 'content-type': 'text/event-stream' } });
    const { deltas, error } = await drain((await provider()).streamCompletion(HELLO));
    expect(deltas).toEqual(['Hi']);
    expect((error as ProviderError).reason).toBe('stream_error');
    expect((error as ProviderError).message).toContain('upstream connection lost');
  });

  /** One `chat.completion.chunk` event with the given choice fields (and any top-level extras). */
  const sseChunk = (choice: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, ...choice }], ...extra })}\n\n`;
  const sseStream = (body: string) => ({ kind: 'status' as const, status: 200, body, headers: { 'content-type': 'text/event-stream' } });

  it('an empty data event (a keep-alive) and a chunk\'s "error": null are no errors', async () => {
    const body =
      sseChunk({ delta: { role: 'assistant', content: '' }, finish_reason: null }, { error: null }) +
      'data: \n\n' +
      sseChunk({ delta: { content: 'Hi' }, finish_reason: null }, { error: null }) +
      'data:\n\n' +
      sseChunk({ delta: {}, finish_reason: 'stop' }, { error: null }) +
      'data: [DONE]\n\n';
    emu.failNext(sseStream(body));
    const stream = (await provider()).streamCompletion(HELLO);
    const { deltas, error } = await drain(stream);
    expect(error).toBeUndefined();
    expect(deltas).toEqual(['Hi']);
    expect(await stream.result).toMatchObject({ text: 'Hi', finishReason: 'stop' });
  });

  it('a chunk after the finish chunk, without a finish reason or usage, keeps both (usage sent with the finish, as some servers do)', async () => {
    const body =
      sseChunk({ delta: { content: 'cut here' }, finish_reason: null }) +
      sseChunk({ delta: {}, finish_reason: 'length' }, { usage: { prompt_tokens: 4, completion_tokens: 2, total_tokens: 6 } }) +
      sseChunk({ delta: {}, finish_reason: null }, { usage: null }) +
      'data: [DONE]\n\n';
    emu.failNext(sseStream(body));
    const result = await (await provider()).streamCompletion(HELLO).result;
    expect(result).toMatchObject({ text: 'cut here', finishReason: 'length', usage: { promptTokens: 4, completionTokens: 2, totalTokens: 6 } });
  });

  it("a chunk of another choice (n > 1 through providerOptions) is not mixed into the answer, nor is its finish reason", async () => {
    const other = (choice: Record<string, unknown>) => sseChunk({ index: 1, ...choice });
    const body =
      sseChunk({ delta: { role: 'assistant', content: '' }, finish_reason: null }) +
      other({ delta: { role: 'assistant', content: '' }, finish_reason: null }) +
      sseChunk({ delta: { content: 'Red' }, finish_reason: null }) +
      other({ delta: { content: 'Blue' }, finish_reason: null }) +
      sseChunk({ delta: {}, finish_reason: 'stop' }) +
      other({ delta: {}, finish_reason: 'length' }) +
      'data: [DONE]\n\n';
    emu.failNext(sseStream(body));
    const stream = (await provider()).streamCompletion(HELLO, { providerOptions: { n: 2 } });
    const { deltas, error } = await drain(stream);
    expect(error).toBeUndefined();
    expect(deltas).toEqual(['Red']);
    expect(await stream.result).toMatchObject({ text: 'Red', finishReason: 'stop' });
    expect(emu.lastRequest!.json.n).toBe(2);
  });

  describe('a JSON body (HTTP 200) in answer to a stream request, as some compatible servers send their errors', () => {
    it("is the server's error, with its message, not retried", async () => {
      emu.failNext({ kind: 'status', status: 200, body: { error: { message: 'This model maximum context length is 4096 tokens', type: 'invalid_request_error', code: 'context_length_exceeded' } } });
      const { deltas, error } = await drain((await provider('retrying')).streamCompletion(HELLO));
      expect(deltas).toEqual([]);
      expect(error).toMatchObject({ reason: 'stream_error', retryable: false, url: chatUrl });
      expect((error as Error).message).toContain('This model maximum context length is 4096 tokens');
      expect(emu.requests).toHaveLength(1);
    });

    it('is retried when its content says so (an integer code that is a retryable status)', async () => {
      emu.failNext({ kind: 'status', status: 200, body: { error: { message: 'overloaded', type: 'server_error', code: 503 } } });
      const result = await (await provider('retrying')).streamCompletion(HELLO).result;
      expect(result.text).toContain('OpenAI emulator');
      expect(emu.requests).toHaveLength(2);
    });

    it('other shapes of error bodies are read too; JSON that is no error is a bad_response', async () => {
      emu.failNext({ kind: 'status', status: 200, body: { detail: 'Model not loaded' }, headers: { 'content-type': 'application/json; charset=utf-8' } });
      const detail = (await drain((await provider()).streamCompletion(HELLO))).error as ProviderError;
      expect(detail).toMatchObject({ reason: 'stream_error', retryable: false });
      expect(detail.message).toContain('Model not loaded');
      emu.failNext({ kind: 'status', status: 200, body: { id: 'x', object: 'chat.completion', choices: [] } });
      const other = (await drain((await provider()).streamCompletion(HELLO))).error as ProviderError;
      expect(other).toMatchObject({ reason: 'bad_response', retryable: false, url: chatUrl });
    });
  });

  it('malformed JSON in a stream is a bad_response error', async () => {
    emu.failNext({ kind: 'malformed-json' });
    const { error } = await drain((await provider()).streamCompletion(HELLO));
    const e = error as ProviderError;
    expect(e.reason).toBe('bad_response');
    expect(e.url).toBe(chatUrl);
    expect(e.message).toContain('not valid JSON');
  });

  it('a malformed JSON body is a bad_response error', async () => {
    emu.failNext({ kind: 'malformed-json' });
    const e = await providerError((await provider()).getCompletion(HELLO));
    expect(e.reason).toBe('bad_response');
    expect(e.url).toBe(chatUrl);
    expect(e.message).toContain('not valid JSON');
  });

  it('a 200 body of the wrong shape is a bad_response error naming the URL', async () => {
    emu.failNext({ kind: 'wrong-shape' });
    const e = await providerError((await provider()).getCompletion(HELLO));
    expect(e.reason).toBe('bad_response');
    expect(e.url).toBe(chatUrl);
    expect(e.message).toContain(chatUrl);
    expect(e.message).toContain('choices[0].message');
    expect(e.retryable).toBe(false);

    emu.failNext({ kind: 'wrong-shape' });
    const s = await providerError((await provider()).streamCompletion(HELLO).result);
    expect(s.reason).toBe('bad_response');
    expect(s.message).toContain(chatUrl);

    emu.failNext({ kind: 'wrong-shape' });
    const em = await providerError((await provider()).getEmbeddings(['x']));
    expect(em.reason).toBe('bad_response');
    expect(em.url).toBe(`${emu.baseUrl}/embeddings`);

    emu.failNext({ kind: 'wrong-shape' });
    const t = await providerError((await provider()).getTranscription(new Uint8Array([1])));
    expect(t.reason).toBe('bad_response');
    expect(t.url).toBe(`${emu.baseUrl}/audio/transcriptions`);
  });
});

describe('abort and timeouts', () => {
  it('an AbortSignal stops a call that is waiting for the answer', async () => {
    emu.failNext({ kind: 'hang' });
    const controller = new AbortController();
    const p = await provider();
    abortOnArrival(emu, controller);
    const e = await providerError(p.getCompletion(HELLO, { signal: controller.signal }));
    expect(e.reason).toBe('aborted');
    expect(e.retryable).toBe(false);
    // The request had left: this was an abort in flight, not one before sending.
    expect(emu.requests).toHaveLength(1);
  });

  it('an AbortSignal stops a stream in the middle', async () => {
    const slow = await startOpenAIEmulator({ chunkDelayMs: 100, reply: { chunks: ['slow', ' answer', ' that', ' trickles'] } });
    const local = harness(plugin, [{ profile_name: 'slow', type: 'openai', base_url: slow.baseUrl, model: 'm', max_retries: 0 }]);
    try {
      const controller = new AbortController();
      const stream = (await local.provider('slow')).streamCompletion(HELLO, { signal: controller.signal });
      const deltas: string[] = [];
      const error = await rejection(
        (async () => {
          for await (const d of stream) {
            deltas.push(d);
            controller.abort();
          }
        })(),
      );
      expect(deltas).toEqual(['slow']);
      expect((error as ProviderError).reason).toBe('aborted');
      expect((error as ProviderError).partialText).toBe('slow');
    } finally {
      local.close();
      await slow.close();
    }
  });

  it('the idle timeout catches a silent backend', async () => {
    emu.failNext({ kind: 'hang' });
    const e = await providerError((await provider()).getCompletion(HELLO, { idleTimeoutMs: 100 }));
    expect(e.reason).toBe('idle_timeout');
  });
});

describe('configuration', () => {
  it('requires api_key for api.openai.com', async () => {
    const error = await rejection(provider('keyless-openai'));
    expect(ConfigurationError.isInstance(error)).toBe(true);
    expect((error as ConfigurationError).issues[0]).toMatchObject({ profile: 'keyless-openai', field: 'api_key' });
    expect((error as Error).message).toContain('api_key is required for https://api.openai.com/v1');
  });

  it('allows no api_key for another base_url, and sends no Authorization header', async () => {
    const config = await h.aegis.getBackendConfig('keyless-local');
    expect(config).toMatchObject({
      base_url: emu.baseUrl,
      embedding_model: 'text-embedding-3-small',
      speech_model: 'gpt-4o-mini-tts',
      voice: 'alloy',
      transcription_model: 'whisper-1',
      max_tokens_field: 'max_completion_tokens',
    });
    expect(config.api_key).toBeUndefined();
    const e = await providerError((await provider('keyless-local')).getCompletion(HELLO));
    expect(e.status).toBe(401); // this emulator wants a key
    expect(e.message).toContain("You didn't provide an API key");
  });

  it('marks api_key and headers secret', async () => {
    const profiles = await h.aegis.profiles();
    const tuned = profiles.find((p) => p.name === 'tuned')!;
    expect(tuned.values.api_key).toBe('***');
    expect(tuned.values.headers).toBe('***');
    expect(tuned.values.organization).toBe('org-abc');
  });
});
