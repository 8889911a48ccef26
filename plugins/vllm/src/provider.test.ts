import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { CapabilityNotSupportedError, ProviderError, type BackendProvider } from '@aegis/core';
import { OpenAICompatibleProvider } from '@aegis/provider-openai';
import { abortOnArrival, pcmTone, startReplayServer, startVllmEmulator, wavFile, type Emulator } from '@aegis/testkit';
import { drain, expectHttpError, harness, providerError, rejection, type Harness } from './__tests__/harness.js';
import plugin, { VllmProvider, type VllmCompletionResult } from './index.js';

const KEY = 'vllm-secret-key-1234';
const MODEL = 'Qwen/Qwen2.5-1.5B-Instruct';
const MODELS = [MODEL, 'BAAI/bge-m3', 'openai/whisper-large-v3'];
const HELLO = [{ role: 'user' as const, content: 'Say hello' }];

let emu: Emulator;
let h: Harness;
let chatUrl: string;

beforeAll(async () => {
  emu = await startVllmEmulator({ apiKey: KEY, models: MODELS });
  chatUrl = `${emu.baseUrl}/chat/completions`;
  const base = { type: 'vllm', base_url: emu.baseUrl, api_key: '${VLLM_API_KEY}', model: MODEL, max_retries: 0 };
  h = harness(
    plugin,
    [
      { ...base, profile_name: 'p' },
      {
        ...base,
        profile_name: 'tuned',
        temperature: 0.7,
        top_p: 0.8,
        max_tokens: 64,
        stop: ['###'],
        seed: 1,
        top_k: 20,
        min_p: 0.05,
        repetition_penalty: 1.1,
        stop_token_ids: [151643],
        min_tokens: 2,
        ignore_eos: false,
        include_stop_str_in_output: true,
        frequency_penalty: 0.2,
        presence_penalty: 0.1,
        headers: { 'X-Route': 'gpu-pool-2' },
      },
      { ...base, profile_name: 'embed', embedding_model: 'BAAI/bge-m3', transcription_model: 'openai/whisper-large-v3' },
      { ...base, profile_name: 'no-key', api_key: undefined },
      { ...base, profile_name: 'unknown-model', model: 'gpt-4o' },
      { profile_name: 'defaults', type: 'vllm', model: MODEL },
    ],
    { VLLM_API_KEY: KEY },
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

describe('reuse of @aegis/provider-openai', () => {
  it('is the OpenAI-compatible provider with vLLM settings', async () => {
    const p = await provider();
    expect(p).toBeInstanceOf(VllmProvider);
    expect(p).toBeInstanceOf(OpenAICompatibleProvider);
  });

  it('defaults base_url to http://localhost:8000/v1 and needs no api_key', async () => {
    const config = await h.aegis.getBackendConfig('defaults');
    expect(config.base_url).toBe('http://localhost:8000/v1');
    expect(config.api_key).toBeUndefined();
  });
});

describe('completion', () => {
  it('maps the answer, sends the key and max_tokens (not max_completion_tokens)', async () => {
    emu.setReply({ text: 'The Dodgers won.', promptTokens: 31, completionTokens: 4 });
    const result = await (await provider()).getCompletion(
      [
        { role: 'system', content: 'You are a helpful assistant.' },
        { role: 'user', content: 'Who won the world series in 2020?' },
      ],
      { maxTokens: 100 },
    );
    expect(result).toEqual({
      text: 'The Dodgers won.',
      finishReason: 'stop',
      usage: { promptTokens: 31, completionTokens: 4, totalTokens: 35 },
      model: MODEL,
    });
    const req = emu.lastRequest!;
    expect(req.path).toBe('/v1/chat/completions');
    expect(req.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(req.json).toEqual({
      model: MODEL,
      messages: [
        { role: 'system', content: 'You are a helpful assistant.' },
        { role: 'user', content: 'Who won the world series in 2020?' },
      ],
      max_tokens: 100,
    });
  });

  it('reports the matched stop string as stopReason', async () => {
    emu.setReply({ text: 'alpha beta ### gamma' });
    const result = (await (await provider()).getCompletion(HELLO, { stop: ['###'] })) as VllmCompletionResult;
    expect(result.text).toBe('alpha beta ');
    expect(result.finishReason).toBe('stop');
    expect(result.providerMetadata?.stopReason).toBe('###');
  });

  it('has no stopReason at the end of the sequence', async () => {
    const result = (await (await provider()).getCompletion(HELLO)) as VllmCompletionResult;
    expect(result.providerMetadata).toBeUndefined();
  });
});

describe('streaming', () => {
  it('yields the deltas; the result text is their concatenation, with usage', async () => {
    emu.setReply({ text: 'vLLM streams token by token.', promptTokens: 5, completionTokens: 7 });
    const stream = (await provider()).streamCompletion(HELLO);
    const { deltas, error } = await drain(stream);
    expect(error).toBeUndefined();
    expect(deltas.length).toBeGreaterThan(1);
    const result = await stream.result;
    expect(result.text).toBe(deltas.join(''));
    expect(result.text).toBe('vLLM streams token by token.');
    expect(result).toMatchObject({ finishReason: 'stop', usage: { promptTokens: 5, completionTokens: 7, totalTokens: 12 }, model: MODEL });
    expect(emu.lastRequest!.json).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('reads stop_reason from the finish chunk', async () => {
    emu.setReply({ text: 'one two STOP three' });
    const result = (await (await provider()).streamCompletion(HELLO, { stop: ['STOP'] }).result) as VllmCompletionResult;
    expect(result.text).toBe('one two ');
    expect(result.finishReason).toBe('stop');
    expect(result.providerMetadata?.stopReason).toBe('STOP');
  });

  it('reports a length cut', async () => {
    emu.setReply({ text: 'a b c d e f' });
    const result = (await (await provider()).streamCompletion(HELLO, { maxTokens: 2 }).result) as VllmCompletionResult;
    expect(result.text).toBe('a b');
    expect(result.finishReason).toBe('length');
    expect(result.providerMetadata?.stopReason).toBeUndefined();
    expect(emu.lastRequest!.json.max_tokens).toBe(2);
  });
});

describe('embeddings', () => {
  it('uses the chat model when no embedding_model is set', async () => {
    const result = await (await provider()).getEmbeddings(['a', 'b', 'c']);
    expect(result.embeddings).toHaveLength(3);
    expect(result.embeddings[0]).toHaveLength(1024);
    expect(result.model).toBe(MODEL);
    expect(emu.lastRequest!.path).toBe('/v1/embeddings');
    expect(emu.lastRequest!.json).toEqual({ model: MODEL, input: ['a', 'b', 'c'], encoding_format: 'float' });
  });

  it('uses embedding_model when set', async () => {
    const result = await (await provider('embed')).getEmbeddings(['x']);
    expect(result.model).toBe('BAAI/bge-m3');
    expect(result.usage?.promptTokens).toBeGreaterThan(0);
  });
});

describe('transcription', () => {
  it('uploads multipart/form-data to /v1/audio/transcriptions', async () => {
    emu.setReply({ transcription: 'hello from the ASR model' });
    const audio = wavFile(pcmTone(300, 16000), 16000);
    const result = await (await provider('embed')).getTranscription(audio, { language: 'en' });
    expect(result).toEqual({ text: 'hello from the ASR model' });
    const req = emu.lastRequest!;
    expect(req.path).toBe('/v1/audio/transcriptions');
    expect(req.form!.fields).toEqual({ model: 'openai/whisper-large-v3', language: 'en', response_format: 'json' });
    expect(req.form!.files.file!.data.equals(audio)).toBe(true);
  });
});

describe('tokens', () => {
  it('counts a text with POST /tokenize at the server root (not under /v1): the completion form', async () => {
    const count = await (await provider()).countTokens('Hello there, tokenizer.');
    const req = emu.lastRequest!;
    expect(req.path).toBe('/tokenize');
    expect(req.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(req.json).toEqual({ model: MODEL, prompt: 'Hello there, tokenizer.' });
    expect(count).toMatchObject({ exact: true, model: MODEL });
    expect(count.tokens).toBeGreaterThan(0);
    expect(count.ids).toHaveLength(count.tokens);
    expect(count.ids!.every((id) => Number.isInteger(id))).toBe(true);
  });

  it('counts a conversation in the chat form, with the generation prompt, and with the model given per call', async () => {
    await (await provider()).countTokens([{ role: 'user', content: 'Hi' }], { model: 'BAAI/bge-m3' });
    expect(emu.lastRequest!.json).toEqual({ model: 'BAAI/bge-m3', messages: [{ role: 'user', content: 'Hi' }], add_generation_prompt: true });
  });

  it('an empty text counts 0 tokens; token ids that are not all numbers are left out', async () => {
    const replay = await startReplayServer(
      [{ body: '{"count":0,"max_model_len":32768,"tokens":[],"token_strs":null}' }, { body: '{"count":2,"max_model_len":32768,"tokens":[1,"x"],"token_strs":null}' }],
      '/tokenize',
    );
    const local = harness(plugin, [{ profile_name: 'r', type: 'vllm', base_url: `${replay.baseUrl}/v1`, model: MODEL, max_retries: 0 }]);
    try {
      const p = await local.provider('r');
      expect(await p.countTokens('')).toEqual({ tokens: 0, exact: true, ids: [], model: MODEL });
      expect(await p.countTokens('ab')).toEqual({ tokens: 2, exact: true, model: MODEL });
    } finally {
      local.close();
      await replay.close();
    }
  });

  it('finds the server root of a base_url with a trailing slash, or a path before /v1', async () => {
    for (const base of [`${emu.baseUrl}/`, `${emu.baseUrl.replace(/\/v1$/, '')}/vllm/v1`]) {
      const local = harness(plugin, [{ profile_name: 'b', type: 'vllm', base_url: base, api_key: KEY, model: MODEL, max_retries: 0 }]);
      try {
        // The second root is unknown to the emulator (a 404): only the path it was sent to matters here.
        await (await local.provider('b')).countTokens('x').catch(() => undefined);
      } finally {
        local.close();
      }
    }
    expect(emu.requests.map((r) => r.path)).toEqual(['/tokenize', '/vllm/tokenize']);
  });
});

describe('capabilities', () => {
  it('declares completion, streaming, embeddings, transcription, models, tokens, tools, reasoning, structured output and vision', async () => {
    expect([...(await provider()).capabilities].sort()).toEqual(['completion', 'embeddings', 'models', 'reasoning', 'streaming', 'structured_output', 'tokens', 'tools', 'transcription', 'vision']);
  });

  it('throws CapabilityNotSupportedError for speech, without calling the server', async () => {
    const error = await rejection((await provider()).getSpeech('hello'));
    expect(CapabilityNotSupportedError.isInstance(error)).toBe(true);
    expect((error as CapabilityNotSupportedError).operation).toBe('getSpeech');
    expect((error as CapabilityNotSupportedError).providerType).toBe('vllm');
    expect(emu.requests).toHaveLength(0);
  });
});

describe('sampling settings on the wire', () => {
  it('sends the profile defaults, vLLM extras included', async () => {
    await (await provider('tuned')).getCompletion(HELLO);
    expect(emu.lastRequest!.json).toEqual({
      model: MODEL,
      messages: HELLO,
      temperature: 0.7,
      top_p: 0.8,
      max_tokens: 64,
      stop: ['###'],
      seed: 1,
      frequency_penalty: 0.2,
      presence_penalty: 0.1,
      top_k: 20,
      min_p: 0.05,
      repetition_penalty: 1.1,
      stop_token_ids: [151643],
      min_tokens: 2,
      ignore_eos: false,
      include_stop_str_in_output: true,
    });
  });

  it("sends the profile's extra headers beside the key", async () => {
    await (await provider('tuned')).getCompletion(HELLO);
    expect(emu.lastRequest!.headers['x-route']).toBe('gpu-pool-2');
    expect(emu.lastRequest!.headers.authorization).toBe(`Bearer ${KEY}`);
  });

  it('lets a call override the defaults; providerOptions carry vLLM extras per call', async () => {
    await (await provider('tuned'))
      .streamCompletion(HELLO, {
        temperature: 0,
        topP: 1,
        maxTokens: 8,
        stop: ['\n'],
        seed: 42,
        providerOptions: { top_k: 5, repetition_penalty: 1.3, chat_template_kwargs: { enable_thinking: false } },
      })
      .result;
    expect(emu.lastRequest!.json).toMatchObject({
      temperature: 0,
      top_p: 1,
      max_tokens: 8,
      stop: ['\n'],
      seed: 42,
      top_k: 5,
      min_p: 0.05,
      repetition_penalty: 1.3,
      chat_template_kwargs: { enable_thinking: false },
      stream: true,
    });
  });
});

describe('HTTP errors', () => {
  it('400 (nested shape, integer code): status, URL, message, not retryable', async () => {
    emu.failNext({ kind: 'status', status: 400 });
    const e = await providerError((await provider()).getCompletion(HELLO));
    expectHttpError(e, { status: 400, url: chatUrl, message: 'Bad request. (BadRequestError)', retryable: false });
  });

  it('400 in the older flat shape', async () => {
    emu.failNext({
      kind: 'status',
      status: 400,
      body: {
        object: 'error',
        message: "This model's maximum context length is 32768 tokens.",
        type: 'BadRequestError',
        param: null,
        code: 400,
      },
    });
    const e = await providerError((await provider()).getCompletion(HELLO));
    expectHttpError(e, { status: 400, url: chatUrl, message: "This model's maximum context length is 32768 tokens. (BadRequestError)", retryable: false });
  });

  it('the flat shape does not repeat a type its message already names', async () => {
    emu.failNext({ kind: 'status', status: 400, body: { object: 'error', message: 'BadRequestError: prompt too long', type: 'BadRequestError', param: null, code: 400 } });
    const e = await providerError((await provider()).getCompletion(HELLO));
    expect(e.message).toContain('BadRequestError: prompt too long');
    expect(e.message).not.toContain('(BadRequestError)');
  });

  it('401 {"error":"Unauthorized"} without the key', async () => {
    const e = await providerError((await provider('no-key')).getCompletion(HELLO));
    expectHttpError(e, { status: 401, url: chatUrl, message: 'Unauthorized', retryable: false });
    expect(emu.lastRequest!.headers.authorization).toBeUndefined();
  });

  it('404 for an unknown model', async () => {
    const e = await providerError((await provider('unknown-model')).getCompletion(HELLO));
    expectHttpError(e, { status: 404, url: chatUrl, message: 'The model `gpt-4o` does not exist. (NotFoundError)', retryable: false });
  });

  it('429 with Retry-After: retryable, retryAfterMs set', async () => {
    emu.failNext({ kind: 'status', status: 429, retryAfter: '2' });
    const e = await providerError((await provider()).getCompletion(HELLO));
    expectHttpError(e, { status: 429, url: chatUrl, message: 'Too many requests.', retryable: true });
    expect(e.retryAfterMs).toBe(2000);
  });

  it('500: retryable, with the backend message', async () => {
    emu.failNext({ kind: 'status', status: 500 });
    const e = await providerError((await provider()).getCompletion(HELLO));
    expectHttpError(e, { status: 500, url: chatUrl, message: 'Internal server error (InternalServerError)', retryable: true });
  });

  it('maps the errors of embeddings, transcription and streams too', async () => {
    emu.failNext({ kind: 'status', status: 503 });
    const e = await providerError((await provider()).getEmbeddings(['x']));
    expectHttpError(e, { status: 503, url: `${emu.baseUrl}/embeddings`, message: 'The server is overloaded or not ready yet.', retryable: true });
    emu.failNext({ kind: 'status', status: 400 });
    const t = await providerError((await provider()).getTranscription(new Uint8Array([1])));
    expectHttpError(t, { status: 400, url: `${emu.baseUrl}/audio/transcriptions`, message: 'Bad request.', retryable: false });
    const s = await providerError((await provider('unknown-model')).streamCompletion(HELLO).result);
    expectHttpError(s, { status: 404, url: chatUrl, message: 'The model `gpt-4o` does not exist.', retryable: false });
  });
});

describe('broken answers', () => {
  it('a stream that ends before data: [DONE] is a truncated_stream error with the partial text', async () => {
    emu.setReply({ chunks: ['one', ' two', ' three'] });
    emu.failNext({ kind: 'truncate', afterChunks: 2 });
    const stream = (await provider()).streamCompletion(HELLO);
    const { deltas, error } = await drain(stream);
    expect(deltas).toEqual(['one']);
    const e = error as ProviderError;
    expect(ProviderError.isInstance(e)).toBe(true);
    expect(e.reason).toBe('truncated_stream');
    expect(e.url).toBe(chatUrl);
    expect(e.partialText).toBe('one');
  });

  it('the in-stream error event (status 200, then data: [DONE]) is a stream_error with the backend message', async () => {
    emu.setReply({ chunks: ['Hello', ' there', ' again'] });
    emu.failNext({ kind: 'stream-error', message: 'CUDA out of memory' });
    const { deltas, error } = await drain((await provider()).streamCompletion(HELLO));
    expect(deltas).toEqual(['Hello']);
    const e = error as ProviderError;
    expect(ProviderError.isInstance(e)).toBe(true);
    expect(e.reason).toBe('stream_error');
    expect(e.url).toBe(chatUrl);
    expect(e.message).toContain('CUDA out of memory (InternalServerError)');
    expect(e.retryable).toBe(true); // code 500
    expect(e.partialText).toBe('Hello');
  });

  it('the older flat in-stream error is a stream_error too', async () => {
    const body =
      'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hi"},"logprobs":null,"finish_reason":null}]}\n\n' +
      'data: {"object": "error", "message": "Sampling failed", "type": "BadRequestError", "param": null, "code": 400}\n\n' +
      'data: [DONE]\n\n';
    emu.failNext({ kind: 'status', status: 200, body, headers: { 'content-type': 'text/event-stream' } });
    const { deltas, error } = await drain((await provider()).streamCompletion(HELLO));
    expect(deltas).toEqual(['Hi']);
    const e = error as ProviderError;
    expect(e.reason).toBe('stream_error');
    expect(e.message).toContain('Sampling failed (BadRequestError)');
    expect(e.retryable).toBe(false);
  });

  it('the older flat in-stream error is retryable when its integer code is a retryable status', async () => {
    const body =
      'data: {"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hi"},"logprobs":null,"finish_reason":null}]}\n\n' +
      'data: {"object": "error", "message": "The engine is overloaded", "type": "ServiceUnavailableError", "param": null, "code": 503}\n\n' +
      'data: [DONE]\n\n';
    emu.failNext({ kind: 'status', status: 200, body, headers: { 'content-type': 'text/event-stream' } });
    const { error } = await drain((await provider()).streamCompletion(HELLO));
    expect(error).toMatchObject({ reason: 'stream_error', retryable: true });
    expect((error as ProviderError).message).toContain('The engine is overloaded (ServiceUnavailableError)');
  });

  it('a JSON error body (HTTP 200) in answer to a stream request, in either shape, is a stream_error with its message, not retried', async () => {
    // vLLM itself answers a request it refuses with the error's own status (see the HTTP errors above);
    // a proxy or an older build in front of it may answer 200 with the JSON body.
    emu.failNext({ kind: 'status', status: 200, body: { error: { message: 'context length exceeded', type: 'BadRequestError', param: null, code: 400 } } });
    const nested = (await drain((await provider()).streamCompletion(HELLO, { maxRetries: 2 }))).error as ProviderError;
    expect(nested).toMatchObject({ reason: 'stream_error', retryable: false, url: chatUrl });
    expect(nested.message).toContain('context length exceeded');
    emu.failNext({ kind: 'status', status: 200, body: { object: 'error', message: 'prompt too long', type: 'BadRequestError', param: null, code: 400 } });
    const flat = (await drain((await provider()).streamCompletion(HELLO, { maxRetries: 2 }))).error as ProviderError;
    expect(flat).toMatchObject({ reason: 'stream_error', retryable: false });
    expect(flat.message).toContain('prompt too long');
    expect(emu.requests).toHaveLength(2);
  });

  it('malformed JSON in a stream, or in a body, is a bad_response error', async () => {
    emu.failNext({ kind: 'malformed-json' });
    const { error } = await drain((await provider()).streamCompletion(HELLO));
    expect((error as ProviderError).reason).toBe('bad_response');
    expect((error as ProviderError).message).toContain('not valid JSON');
    emu.failNext({ kind: 'malformed-json' });
    const e = await providerError((await provider()).getCompletion(HELLO));
    expect(e.reason).toBe('bad_response');
    expect(e.url).toBe(chatUrl);
  });

  it('a 200 body of the wrong shape is a bad_response error naming the URL', async () => {
    emu.failNext({ kind: 'wrong-shape' });
    const e = await providerError((await provider()).getCompletion(HELLO));
    expect(e.reason).toBe('bad_response');
    expect(e.url).toBe(chatUrl);
    expect(e.message).toContain(chatUrl);
    emu.failNext({ kind: 'wrong-shape' });
    const s = await providerError((await provider()).streamCompletion(HELLO).result);
    expect(s.reason).toBe('bad_response');
    expect(s.message).toContain(chatUrl);
  });
});

describe('abort', () => {
  it('an AbortSignal stops a call that is waiting for the answer', async () => {
    emu.failNext({ kind: 'hang' });
    const controller = new AbortController();
    const p = await provider();
    abortOnArrival(emu, controller);
    const e = await providerError(p.getCompletion(HELLO, { signal: controller.signal }));
    expect(e.reason).toBe('aborted');
    expect(e.retryable).toBe(false);
    expect(emu.requests).toHaveLength(1);
  });

  it('an AbortSignal stops a stream in the middle', async () => {
    const slow = await startVllmEmulator({ chunkDelayMs: 100, reply: { chunks: ['slow', ' answer', ' that', ' trickles'] } });
    const local = harness(plugin, [{ profile_name: 'slow', type: 'vllm', base_url: slow.baseUrl, model: MODEL, max_retries: 0 }]);
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
    } finally {
      local.close();
      await slow.close();
    }
  });
});
