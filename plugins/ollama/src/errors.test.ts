import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ProviderError, type BackendProvider, type ChatMessage } from '@aegis/core';
import { abortOnArrival, startOllamaEmulator, splitIntoChunks, defaultReplyText, type Emulator } from '@aegis/testkit';
import { collect, providerError, startHarness, type Harness } from './__tests__/harness.js';

const PROFILES = `
- profile_name: p
  type: ollama
  base_url: \${LOCAL}
  model: llama3.2
  max_retries: 0
- profile_name: unknown
  type: ollama
  base_url: \${LOCAL}
  model: no-such-model
  max_retries: 0
- profile_name: badkey
  type: ollama
  base_url: \${CLOUD}
  model: llama3.2
  api_key: wrong-key-0000
  max_retries: 0
- profile_name: retrying
  type: ollama
  base_url: \${LOCAL}
  model: llama3.2
  max_retries: 2
- profile_name: slow
  type: ollama
  base_url: \${SLOW}
  model: llama3.2
  max_retries: 0
`;

const REPLY = defaultReplyText('Ollama');
const messages: ChatMessage[] = [{ role: 'user', content: 'Why is the sky blue?' }];

let h: Harness;
let p: BackendProvider;
let chatUrl: string;
beforeAll(async () => {
  h = await startHarness(PROFILES, { SLOW: 'http://127.0.0.1:9' });
  p = await h.aegis.getProviderForProfile('p');
  chatUrl = `${h.local.url}/api/chat`;
});
afterAll(async () => {
  await h.close();
});
beforeEach(() => {
  h.local.reset();
  h.cloud.reset();
});

describe('HTTP errors: status, URL, Ollama\'s own message, retryable', () => {
  it('400', async () => {
    h.local.failNext({ kind: 'status', status: 400, body: { error: 'invalid options: num_ctx must be a number' } });
    const e = await providerError(p.getCompletion(messages));
    expect(e).toMatchObject({ status: 400, url: chatUrl, retryable: false, reason: 'http', profile: 'p', providerType: 'ollama' });
    expect(e.message).toContain('invalid options: num_ctx must be a number');
  });

  it('400 with the emulator\'s own body', async () => {
    h.local.failNext({ kind: 'status', status: 400 });
    const e = await providerError(p.getCompletion(messages));
    expect(e).toMatchObject({ status: 400, url: chatUrl, retryable: false });
    expect(e.message).toContain('invalid request');
  });

  it('401 (wrong API key)', async () => {
    const badkey = await h.aegis.getProviderForProfile('badkey');
    const e = await providerError(badkey.getCompletion(messages));
    expect(e).toMatchObject({ status: 401, url: `${h.cloud.url}/api/chat`, retryable: false });
    expect(e.message).toContain('unauthorized');
    expect(e.message).not.toContain('wrong-key-0000');
  });

  it('404 for a model that is not pulled', async () => {
    const unknown = await h.aegis.getProviderForProfile('unknown');
    const e = await providerError(unknown.getCompletion(messages));
    expect(e).toMatchObject({ status: 404, url: chatUrl, retryable: false });
    expect(e.message).toContain('model "no-such-model" not found, try pulling it first');
  });

  it('404 for a model that is not pulled, on /api/embed and on a stream', async () => {
    const unknown = await h.aegis.getProviderForProfile('unknown');
    const e = await providerError(unknown.getEmbeddings(['x']));
    expect(e).toMatchObject({ status: 404, url: `${h.local.url}/api/embed`, retryable: false });
    expect(e.message).toContain('not found, try pulling it first');
    const { deltas, error } = await collect(unknown.streamCompletion(messages));
    expect(deltas).toEqual([]);
    expect(error).toMatchObject({ status: 404, url: chatUrl, retryable: false });
  });

  it('429 with Retry-After', async () => {
    h.local.failNext({ kind: 'status', status: 429, retryAfter: '2' });
    const e = await providerError(p.getCompletion(messages));
    expect(e).toMatchObject({ status: 429, url: chatUrl, retryable: true, retryAfterMs: 2000 });
    expect(e.message).toContain('too many requests');
  });

  it('500', async () => {
    h.local.failNext({ kind: 'status', status: 500 });
    const e = await providerError(p.getCompletion(messages));
    expect(e).toMatchObject({ status: 500, url: chatUrl, retryable: true });
    expect(e.message).toContain('the model failed to generate a response');
  });

  it('retryable failures are retried by the base class, not the plugin', async () => {
    const retrying = await h.aegis.getProviderForProfile('retrying');
    h.local.failNext({ kind: 'status', status: 503, retryAfter: '0' });
    h.local.failNext({ kind: 'status', status: 429, retryAfter: '0' });
    const result = await retrying.getCompletion(messages);
    expect(result.text).toBe(REPLY);
    expect(h.local.requests).toHaveLength(3);
  });

  it('a stream is retried by the base class while nothing was yielded yet', async () => {
    const retrying = await h.aegis.getProviderForProfile('retrying');
    h.local.failNext({ kind: 'status', status: 503, retryAfter: '0' });
    const { deltas, error } = await collect(retrying.streamCompletion(messages));
    expect(error).toBeUndefined();
    expect(deltas.join('')).toBe(REPLY);
    expect(h.local.requests).toHaveLength(2);
  });

  it('a connection reset is a retryable connection error', async () => {
    // Twice: a request reset on a kept-alive connection is sent once more on a new one (not a retry).
    h.local.failNext({ kind: 'reset' }, 2);
    const e = await providerError(p.getCompletion(messages));
    expect(e).toMatchObject({ url: chatUrl, retryable: true, reason: 'connection' });
  });
});

describe('broken answers', () => {
  it('a 200 answer without message.content is bad_response naming the URL', async () => {
    h.local.failNext({ kind: 'wrong-shape' });
    const e = await providerError(p.getCompletion(messages));
    expect(e).toMatchObject({ reason: 'bad_response', url: chatUrl, retryable: false });
    expect(e.message).toContain(chatUrl);
  });

  it('a 200 answer that is not JSON is bad_response', async () => {
    h.local.failNext({ kind: 'malformed-json' });
    const e = await providerError(p.getCompletion(messages));
    expect(e).toMatchObject({ reason: 'bad_response', url: chatUrl });
  });

  it('an /api/embed answer without embeddings is bad_response', async () => {
    h.local.failNext({ kind: 'wrong-shape' });
    const e = await providerError(p.getEmbeddings(['x']));
    expect(e).toMatchObject({ reason: 'bad_response', url: `${h.local.url}/api/embed` });
  });

  it('an /api/embed answer whose vectors hold something else than numbers is bad_response', async () => {
    h.local.failNext({ kind: 'status', status: 200, body: { model: 'llama3.2', embeddings: [['0.1', '0.2']] } });
    const e = await providerError(p.getEmbeddings(['x']));
    expect(e).toMatchObject({ reason: 'bad_response', url: `${h.local.url}/api/embed` });
  });

  it('a 200 answer with only {"error": ...} is bad_response carrying Ollama\'s message', async () => {
    h.local.failNext({ kind: 'status', status: 200, body: { error: 'model runner has unexpectedly stopped' } });
    const e = await providerError(p.getCompletion(messages));
    expect(e).toMatchObject({ reason: 'bad_response', url: chatUrl });
    expect(e.message).toContain('model runner has unexpectedly stopped');
  });

  it('an answer without done_reason ends with "stop", and names the model as the server does', async () => {
    h.local.failNext({ kind: 'status', status: 200, body: { model: 'llama3.2:latest', message: { role: 'assistant', content: 'Hi.' }, done: true } });
    const result = await p.getCompletion(messages);
    expect(result).toEqual({ text: 'Hi.', finishReason: 'stop', model: 'llama3.2:latest' });
  });
});

describe('stream failures', () => {
  it('a stream that ends without the "done": true line is truncated_stream with the partial text', async () => {
    h.local.failNext({ kind: 'truncate', afterChunks: 3 });
    const stream = p.streamCompletion(messages);
    const { deltas, error } = await collect(stream);
    expect(deltas).toEqual(splitIntoChunks(REPLY).slice(0, 3));
    expect(ProviderError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ reason: 'truncated_stream', url: chatUrl, partialText: deltas.join('') });
    expect((error as Error).message).toContain('"done": true');
    await expect(stream.result).rejects.toBe(error);
  });

  it('a stream cut after every content line but before the done line is still truncated', async () => {
    h.local.failNext({ kind: 'truncate' });
    const { deltas, error } = await collect(p.streamCompletion(messages));
    expect(deltas.join('')).toBe(REPLY);
    expect(error).toMatchObject({ reason: 'truncated_stream', partialText: REPLY });
  });

  it('a stream that ends in the middle of a line is truncated_stream (retryable), as on SSE, not bad_response', async () => {
    const line = (content: string) => JSON.stringify({ model: 'llama3.2', created_at: '2024-01-01T00:00:00Z', message: { role: 'assistant', content }, done: false });
    const body = `${line('Hello')}\n${line(' there')}\n${line(' wor').slice(0, 60)}`;
    h.local.failNext({ kind: 'status', status: 200, body, headers: { 'content-type': 'application/x-ndjson' } });
    const { deltas, error } = await collect(p.streamCompletion(messages));
    expect(deltas).toEqual(['Hello', ' there']);
    expect(error).toMatchObject({ reason: 'truncated_stream', retryable: true, url: chatUrl, partialText: 'Hello there' });
  });

  it('a connection reset mid-stream is a ProviderError with the partial text', async () => {
    h.local.failNext({ kind: 'reset-mid-stream', afterChunks: 2 });
    const { deltas, error } = await collect(p.streamCompletion(messages));
    expect(deltas).toHaveLength(2);
    expect(ProviderError.isInstance(error)).toBe(true);
    expect((error as ProviderError).partialText).toBe(deltas.join(''));
  });

  it('an {"error": ...} line (HTTP 200) is a stream_error with Ollama\'s message', async () => {
    h.local.failNext({ kind: 'stream-error', message: 'an error was encountered while running the model' });
    const { deltas, error } = await collect(p.streamCompletion(messages));
    expect(deltas).toEqual(splitIntoChunks(REPLY).slice(0, 2));
    expect(ProviderError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ reason: 'stream_error', url: chatUrl, partialText: deltas.join('') });
    expect((error as Error).message).toContain('an error was encountered while running the model');
  });

  it('a line that is not JSON is bad_response', async () => {
    h.local.failNext({ kind: 'malformed-json' });
    const { error } = await collect(p.streamCompletion(messages));
    expect(ProviderError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ reason: 'bad_response', url: chatUrl });
    expect((error as Error).message).toContain('not valid JSON');
  });

  it('a line of the wrong shape is bad_response', async () => {
    h.local.failNext({ kind: 'wrong-shape' });
    const { deltas, error } = await collect(p.streamCompletion(messages));
    expect(deltas).toEqual([]);
    expect(error).toMatchObject({ reason: 'bad_response', url: chatUrl });
  });

  it('HTTP errors on a stream keep their status and message', async () => {
    h.local.failNext({ kind: 'status', status: 500 });
    const { error } = await collect(p.streamCompletion(messages));
    expect(error).toMatchObject({ status: 500, url: chatUrl, retryable: true });
    expect((error as Error).message).toContain('the model failed to generate a response');
  });
});

describe('abort and timeouts', () => {
  let slow: Emulator;
  let slowHarness: Harness;
  beforeAll(async () => {
    slow = await startOllamaEmulator({ chunkDelayMs: 40 });
    // A second Aegis whose "slow" profile points at an emulator that paces its stream.
    slowHarness = await startHarness(PROFILES, { SLOW: slow.url });
  });
  afterAll(async () => {
    await slowHarness.close();
    await slow.close();
  });

  it('an AbortSignal cancels a completion that hangs', async () => {
    h.local.failNext({ kind: 'hang' });
    const controller = new AbortController();
    abortOnArrival(h.local, controller);
    const e = await providerError(p.getCompletion(messages, { signal: controller.signal }));
    expect(e).toMatchObject({ reason: 'aborted', retryable: false });
    expect(h.local.requests).toHaveLength(1);
  });

  it('an AbortSignal cancels a stream between deltas; the deltas arrive one by one', async () => {
    const provider = await slowHarness.aegis.getProviderForProfile('slow');
    const controller = new AbortController();
    const stream = provider.streamCompletion(messages, { signal: controller.signal });
    const deltas: string[] = [];
    let error: unknown;
    try {
      for await (const delta of stream) {
        deltas.push(delta);
        if (deltas.length === 2) controller.abort();
      }
    } catch (e) {
      error = e;
    }
    expect(deltas).toEqual(splitIntoChunks(REPLY).slice(0, 2));
    expect(error).toMatchObject({ reason: 'aborted', partialText: deltas.join('') });
  });

  it('idle_timeout: a backend that sends nothing fails the call', async () => {
    h.local.failNext({ kind: 'hang' });
    const e = await providerError(p.getCompletion(messages, { idleTimeoutMs: 100 }));
    expect(e).toMatchObject({ reason: 'idle_timeout', retryable: true });
  });

  it('the call deadline (timeoutMs) ends a hanging stream', async () => {
    h.local.failNext({ kind: 'hang' });
    const { error } = await collect(p.streamCompletion(messages, { timeoutMs: 100 }));
    expect(error).toMatchObject({ reason: 'timeout' });
  });
});
