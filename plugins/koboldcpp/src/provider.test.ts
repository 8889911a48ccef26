import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { CapabilityNotSupportedError, createAegis, ProviderError, type Aegis, type BackendProvider, type ChatMessage } from '@aegis/core';
import { fixtureJson, pcmTone, startKoboldCppEmulator, wavFile, type Emulator, type RecordedRequest } from '@aegis/testkit';
import plugin from './index.js';

const PASSWORD = 'kobold-canary-pass-4b1d';
const CHATML_STOPS = ['<|im_end|>', '<|im_start|>user'];
const chat: ChatMessage[] = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Name a colour.' },
];
/** A 1x1 PNG. */
const PNG = new Uint8Array(Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64'));
/** A raw SSE body served by the emulator as a 200 answer. */
const sse = (...payloads: string[]) => ({
  kind: 'status' as const,
  status: 200,
  body: payloads.map((p) => `data: ${p}\n\n`).join(''),
  headers: { 'content-type': 'text/event-stream' },
});
const CHATML_PROMPT =
  '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nName a colour.<|im_end|>\n<|im_start|>assistant\n';

let emulator: Emulator;
let aegis: Aegis;
let provider: BackendProvider;
let dir: string;

beforeAll(async () => {
  emulator = await startKoboldCppEmulator({ apiKey: PASSWORD });
  dir = mkdtempSync(join(tmpdir(), 'aegis-koboldcpp-'));
  const yaml = `
- profile_name: kobold
  type: koboldcpp
  base_url: "${emulator.url}"
  password: \${KOBOLD_PASSWORD}
  model: airoboros-l2-7b
  max_retries: 0
  max_length: 200
  temperature: 0.7
  top_k: 40
  min_p: 0.05
  rep_pen: 1.1
  rep_pen_range: 320
  sampler_order: [6, 0, 1, 3, 4, 2, 5]
  sampler_seed: 7
  mirostat: 0
  stop_sequence: ["###"]
- profile_name: llama
  type: koboldcpp
  base_url: "${emulator.url}/"
  password: \${KOBOLD_PASSWORD}
  max_retries: 0
  instruct: llama3
  instruct_tags:
    system_start: "<<SYS>>"
    system_end: "<</SYS>>"
  memory: "[Persona: terse]"
- profile_name: no_password
  type: koboldcpp
  base_url: "${emulator.url}"
  max_retries: 0
- profile_name: retrying
  type: koboldcpp
  base_url: "${emulator.url}"
  password: \${KOBOLD_PASSWORD}
  max_retries: 2
- profile_name: keep_stop
  type: koboldcpp
  base_url: "${emulator.url}"
  password: \${KOBOLD_PASSWORD}
  max_retries: 0
  trim_stop: false
- profile_name: defaults
  type: koboldcpp
- profile_name: grammar
  type: koboldcpp
  base_url: "${emulator.url}"
  password: \${KOBOLD_PASSWORD}
  max_retries: 0
  grammar: 'root ::= "yes" | "no"'
`;
  writeFileSync(join(dir, 'backends.yaml'), yaml);
  aegis = createAegis({ configPath: join(dir, 'backends.yaml'), env: { KOBOLD_PASSWORD: PASSWORD }, plugins: [plugin], discover: false });
  provider = await aegis.getProviderForProfile('kobold');
});

afterAll(async () => {
  aegis.close();
  await emulator.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  emulator.reset();
  emulator.setReply({});
});

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(ProviderError.isInstance(error)).toBe(true);
  return error as ProviderError;
}

const posts = (path: string): RecordedRequest[] => emulator.requests.filter((r) => r.method === 'POST' && r.path === path);

/** The abort request is sent in the background (the cancelled call does not wait for it): wait until it arrives. */
async function abortRequests(count = 1): Promise<RecordedRequest[]> {
  // A ceiling of 10 s for a loaded machine; it returns as soon as the request is there.
  for (let i = 0; i < 2000 && posts('/api/extra/abort').length < count; i++) await new Promise((r) => setTimeout(r, 5));
  return posts('/api/extra/abort');
}

/**
 * Aborts once the generation request has reached the server (a fixed delay could
 * fire before it arrives on a loaded machine, and then there is no genkey to stop).
 */
function abortOnArrival(controller: AbortController, path: string): void {
  const poll = (): void => {
    if (posts(path).length > 0) controller.abort();
    else setTimeout(poll, 5);
  };
  poll();
}

describe('completion', () => {
  it('sends the prompt built from the messages with the template, and maps the result', async () => {
    emulator.setReply({ text: 'Blue.', promptTokens: 21, completionTokens: 3 });
    const result = await provider.getCompletion(chat);
    expect(result).toEqual({
      text: 'Blue.',
      finishReason: 'stop',
      usage: { promptTokens: 21, completionTokens: 3, totalTokens: 24 },
      model: 'airoboros-l2-7b',
    });
    const request = emulator.lastRequest!;
    expect(request.path).toBe('/api/v1/generate');
    expect(request.headers.authorization).toBe(`Bearer ${PASSWORD}`);
    expect(request.json).toMatchObject({
      prompt: CHATML_PROMPT,
      max_length: 200,
      temperature: 0.7,
      top_k: 40,
      min_p: 0.05,
      rep_pen: 1.1,
      rep_pen_range: 320,
      sampler_order: [6, 0, 1, 3, 4, 2, 5],
      sampler_seed: 7,
      mirostat: 0,
      stop_sequence: ['###', ...CHATML_STOPS],
      trim_stop: false,
    });
    expect(request.json.genkey).toMatch(/^aegis-[0-9a-f]{16}$/);
    expect(request.json).not.toHaveProperty('memory');
    expect(request.json).not.toHaveProperty('top_a');
  });

  it('lets per-call settings override the profile and merges the stop sequences', async () => {
    await provider.getCompletion(chat, {
      temperature: 0.2,
      topP: 0.5,
      maxTokens: 9,
      seed: 99,
      stop: ['END'],
      providerOptions: { top_k: 5, dry_multiplier: 0.8 },
    });
    expect(emulator.lastRequest?.json).toMatchObject({
      temperature: 0.2,
      top_p: 0.5,
      max_length: 9,
      sampler_seed: 99,
      top_k: 5,
      dry_multiplier: 0.8,
      stop_sequence: ['###', 'END', ...CHATML_STOPS],
    });
  });

  it('uses the configured preset, explicit tags and memory', async () => {
    const llama = await aegis.getProviderForProfile('llama');
    await llama.getCompletion(chat);
    const body = emulator.lastRequest!.json;
    expect(body.prompt).toBe(
      '<<SYS>>Be brief.<</SYS>><|start_header_id|>user<|end_header_id|>\n\nName a colour.<|eot_id|>' +
        '<|start_header_id|>assistant<|end_header_id|>\n\n',
    );
    expect(body.stop_sequence).toEqual(['<|eot_id|>', '<|start_header_id|>user<|end_header_id|>']);
    expect(body.memory).toBe('[Persona: terse]');
    expect(body.max_length).toBe(512);
  });

  it("the call's responseFormat wins over the profile's grammar, which applies otherwise", async () => {
    const grammar = await aegis.getProviderForProfile('grammar');
    await grammar.getCompletion(chat);
    expect(emulator.lastRequest!.json.grammar).toBe('root ::= "yes" | "no"');
    const schema = { type: 'object', properties: { colour: { type: 'string' } }, required: ['colour'] };
    await grammar.getCompletion(chat, { responseFormat: { type: 'json', schema } });
    expect(JSON.parse(emulator.lastRequest!.json.grammar)).toEqual(schema);
  });

  it('sends up to 8 images (what KoboldCpp reads), and refuses a 9th before sending anything', async () => {
    const withImages = (n: number): ChatMessage[] => [
      { role: 'user', content: [{ type: 'text', text: 'Which colours?' }, ...Array.from({ length: n }, () => ({ type: 'image' as const, image: PNG, mimeType: 'image/png' }))] },
    ];
    await provider.getCompletion(withImages(8));
    expect(emulator.lastRequest!.json.images).toHaveLength(8);
    emulator.reset();
    const e = await provider.getCompletion(withImages(9)).catch((error: unknown) => error);
    expect(CapabilityNotSupportedError.isInstance(e)).toBe(true);
    expect(emulator.requests).toHaveLength(0);
  });

  it('stops at the end of the assistant turn, without the end tag in the text', async () => {
    emulator.setReply({ text: 'Red.<|im_end|>\n<|im_start|>user\nAnd another?' });
    const result = await provider.getCompletion(chat);
    expect(result.text).toBe('Red.');
    expect(result.finishReason).toBe('stop');
  });

  it('reports a stop sequence as stop, though KoboldCpp says "length" (kept as rawFinishReason)', async () => {
    emulator.setReply({ text: 'Red. ### And blue.' });
    const result = await provider.getCompletion(chat);
    expect(result).toMatchObject({ text: 'Red. ', finishReason: 'stop', rawFinishReason: 'length' });
    // The server is asked to leave the stop sequence in, and does: what it answered.
    expect(emulator.lastRequest!.json.trim_stop).toBe(false);
  });

  it('a length cut that passes no stop sequence stays length', async () => {
    emulator.setReply({ text: 'one two three ### four' });
    const result = await provider.getCompletion(chat, { maxTokens: 2 });
    expect(result).toEqual(expect.objectContaining({ text: 'one two', finishReason: 'length' }));
    expect(result.rawFinishReason).toBeUndefined();
  });

  it('keeps the stop sequence in the text with trim_stop: false (profile or providerOptions), dropping what follows it', async () => {
    const keep = await aegis.getProviderForProfile('keep_stop');
    emulator.setReply({ text: 'Red.<|im_end|>\n<|im_start|>user\nAnd another?' });
    expect(await keep.getCompletion(chat)).toMatchObject({ text: 'Red.<|im_end|>', finishReason: 'stop', rawFinishReason: 'length' });
    expect(emulator.lastRequest!.json.trim_stop).toBe(false);
    expect(await provider.getCompletion(chat, { providerOptions: { trim_stop: false } })).toMatchObject({ text: 'Red.<|im_end|>', finishReason: 'stop' });
    expect(emulator.lastRequest!.json.trim_stop).toBe(false);
    expect(await keep.getCompletion(chat, { providerOptions: { trim_stop: true } })).toMatchObject({ text: 'Red.', finishReason: 'stop' });
    expect(emulator.lastRequest!.json.trim_stop).toBe(false);
  });

  it('reports a length finish', async () => {
    emulator.setReply({ text: 'one two three four five' });
    const result = await provider.getCompletion(chat, { maxTokens: 2 });
    expect(result).toMatchObject({ text: 'one two', finishReason: 'length' });
  });

  it('cuts the text at a stop sequence an older server left in, and defaults the finish reason', async () => {
    emulator.failNext({ kind: 'status', status: 200, body: { results: [{ text: 'Green.<|im_end|>\n<|im_start|>user' }] } });
    const result = await provider.getCompletion(chat);
    expect(result).toEqual({ text: 'Green.', finishReason: 'stop', usage: undefined, model: 'airoboros-l2-7b' });
  });

  it('rejects a 200 body of the wrong shape, naming the URL', async () => {
    emulator.failNext({ kind: 'wrong-shape' });
    const e = await failure(provider.getCompletion(chat));
    expect(e.reason).toBe('bad_response');
    expect(e.message).toContain('results[0].text');
    expect(e.message).toContain(`${emulator.url}/api/v1/generate`);
  });

  it('rejects malformed JSON', async () => {
    emulator.failNext({ kind: 'malformed-json' });
    const e = await failure(provider.getCompletion(chat));
    expect(e.reason).toBe('bad_response');
    expect(e.url).toBe(`${emulator.url}/api/v1/generate`);
  });
});

describe('streaming', () => {
  it('yields the deltas as they arrive and ends at the finish_reason event', async () => {
    emulator.setReply({ chunks: ['Gre', 'en', ' is', ' calm.'] });
    const stream = provider.streamCompletion(chat);
    const deltas: string[] = [];
    for await (const delta of stream) deltas.push(delta);
    expect(deltas).toEqual(['Gre', 'en', ' is', ' calm.']);
    const result = await stream.result;
    expect(result).toMatchObject({ text: 'Green is calm.', finishReason: 'stop', model: 'airoboros-l2-7b' });
    const request = emulator.lastRequest!;
    expect(request.path).toBe('/api/extra/generate/stream');
    expect(request.json).toMatchObject({ prompt: CHATML_PROMPT, stop_sequence: ['###', ...CHATML_STOPS], trim_stop: false });
    expect(posts('/api/extra/abort')).toHaveLength(0);
  });

  it('reports a length finish', async () => {
    emulator.setReply({ chunks: ['a', ' b', ' c', ' d'] });
    const result = await provider.streamCompletion(chat, { maxTokens: 3 }).result;
    expect(result).toMatchObject({ text: 'a b c', finishReason: 'length' });
  });

  it('reports a stop sequence as stop, though the final event says "length"; the stop sequence is not passed on', async () => {
    emulator.setReply({ chunks: ['Red', '.', '<|im_end|>', '\n', 'more'] });
    const stream = provider.streamCompletion(chat);
    const deltas: string[] = [];
    for await (const delta of stream) deltas.push(delta);
    expect(deltas.join('')).toBe('Red.');
    expect(await stream.result).toMatchObject({ text: 'Red.', finishReason: 'stop', rawFinishReason: 'length' });
  });

  it('with trim_stop: false, streams the stop sequence too', async () => {
    const keep = await aegis.getProviderForProfile('keep_stop');
    emulator.setReply({ chunks: ['Red', '.', '<|im_end|>', '\n', 'more'] });
    const stream = keep.streamCompletion(chat);
    const deltas: string[] = [];
    for await (const delta of stream) deltas.push(delta);
    expect(deltas.join('')).toBe('Red.<|im_end|>');
    expect(await stream.result).toMatchObject({ text: 'Red.<|im_end|>', finishReason: 'stop', rawFinishReason: 'length' });
  });

  it('treats a stream that closes before a finish_reason as truncated', async () => {
    emulator.setReply({ chunks: ['one', ' two', ' three'] });
    emulator.failNext({ kind: 'truncate', afterChunks: 2 });
    const stream = provider.streamCompletion(chat);
    const deltas: string[] = [];
    const e = await failure(
      (async () => {
        for await (const d of stream) deltas.push(d);
      })(),
    );
    expect(e.reason).toBe('truncated_stream');
    expect(e.message).toContain('finish_reason');
    expect(e.url).toBe(`${emulator.url}/api/extra/generate/stream`);
    expect(e.partialText).toBe('one two');
    expect(deltas).toEqual(['one', ' two']);
  });

  it('treats a stream with every token but no final event as truncated', async () => {
    emulator.setReply({ chunks: ['all', ' the', ' words'] });
    emulator.failNext({ kind: 'truncate' });
    const e = await failure(provider.streamCompletion(chat).result);
    expect(e.reason).toBe('truncated_stream');
    expect(e.partialText).toBe('all the words');
  });

  it('treats a dropped connection as an incomplete answer', async () => {
    emulator.setReply({ chunks: ['one', ' two', ' three'] });
    emulator.failNext({ kind: 'reset-mid-stream', afterChunks: 1 });
    const e = await failure(provider.streamCompletion(chat).result);
    expect(['truncated_stream', 'connection']).toContain(e.reason);
    expect(e.partialText).toBe('one');
  });

  it('passes on at the end the text held back as a possible start of a stop sequence', async () => {
    emulator.setReply({ chunks: ['Blue', ' <'] });
    const stream = provider.streamCompletion(chat);
    const deltas: string[] = [];
    for await (const delta of stream) deltas.push(delta);
    expect(deltas.join('')).toBe('Blue <');
    expect(await stream.result).toMatchObject({ text: 'Blue <', finishReason: 'stop' });
  });

  it('reads events without an "event:" line as messages (the SSE default)', async () => {
    emulator.failNext(sse('{"token": "Red", "finish_reason": null}', '{"token": "", "finish_reason": "stop"}'));
    const result = await provider.streamCompletion(chat).result;
    expect(result).toMatchObject({ text: 'Red', finishReason: 'stop' });
  });

  it('an {"error": ...} event is a stream_error with its message', async () => {
    emulator.failNext(sse('{"token": "Red", "finish_reason": null}', '{"error": "the server ran out of memory"}'));
    const e = await failure(provider.streamCompletion(chat).result);
    expect(e.reason).toBe('stream_error');
    expect(e.message).toContain('the server ran out of memory');
  });

  it('reports an error event inside the stream with the server message', async () => {
    emulator.setReply({ chunks: ['one', ' two', ' three'] });
    emulator.failNext({ kind: 'stream-error', message: 'CUDA error: out of memory' });
    const e = await failure(provider.streamCompletion(chat).result);
    expect(e.reason).toBe('stream_error');
    expect(e.message).toContain('CUDA error: out of memory');
    expect(e.partialText).toBe('one two');
  });

  it('rejects malformed JSON and events of the wrong shape', async () => {
    emulator.failNext({ kind: 'malformed-json' });
    const bad = await failure(provider.streamCompletion(chat).result);
    expect(bad.reason).toBe('bad_response');
    expect(bad.message).toContain('not valid JSON');
    emulator.failNext({ kind: 'wrong-shape' });
    const shape = await failure(provider.streamCompletion(chat).result);
    expect(shape.reason).toBe('bad_response');
    expect(shape.message).toContain('"token"');
  });

  it('tells the server to stop generating when the consumer stops reading', async () => {
    emulator.setReply({ chunks: ['one', ' two', ' three'] });
    // Byte by byte: the consumer stops while the server is still generating (once the
    // event with the finish_reason has arrived, there is nothing left to stop).
    emulator.failNext({ kind: 'drip', intervalMs: 1 });
    const stream = provider.streamCompletion(chat);
    for await (const delta of stream) {
      expect(delta).toBe('one');
      break;
    }
    const genkey = posts('/api/extra/generate/stream')[0]!.json.genkey;
    const aborts = await abortRequests();
    expect(aborts.map((r) => r.json)).toEqual([{ genkey }]);
    expect(aborts[0]!.headers.authorization).toBe(`Bearer ${PASSWORD}`);
  });
});

describe('errors', () => {
  it('maps 400 with the server message, not retryable', async () => {
    emulator.failNext({ kind: 'status', status: 400, body: { detail: { msg: 'Invalid sampler_order.', type: 'bad_input' } } });
    const e = await failure(provider.getCompletion(chat));
    expect([e.status, e.url, e.retryable]).toEqual([400, `${emulator.url}/api/v1/generate`, false]);
    expect(e.message).toContain('Invalid sampler_order.');
  });

  it('maps 401 for a missing password, without leaking it', async () => {
    const anonymous = await aegis.getProviderForProfile('no_password');
    const e = await failure(anonymous.getCompletion(chat));
    expect([e.status, e.retryable]).toEqual([401, false]);
    expect(e.message).toContain('Authentication key is missing or invalid.');
    expect(e.message).toContain('profile "no_password" (koboldcpp)');
    expect(emulator.lastRequest?.headers.authorization).toBeUndefined();
  });

  it('maps the text/html 404 of an endpoint the server does not have', async () => {
    emulator.failNext({ kind: 'status', status: 404 });
    const e = await failure(provider.getCompletion(chat));
    expect([e.status, e.url, e.retryable]).toEqual([404, `${emulator.url}/api/v1/generate`, false]);
    expect(e.message).toContain('this endpoint does not exist');
  });

  it('maps 429 with Retry-After as retryable', async () => {
    emulator.failNext({ kind: 'status', status: 429, retryAfter: '3' });
    const e = await failure(provider.getCompletion(chat));
    expect([e.status, e.retryable, e.retryAfterMs]).toEqual([429, true, 3000]);
    expect(e.message).toContain('Request failed with status 429.');
  });

  it('maps 500 bad_input (not retryable: the same request fails the same way) and 503 busy (retryable), with the server message', async () => {
    emulator.failNext({ kind: 'status', status: 500 });
    const e500 = await failure(provider.getCompletion(chat));
    expect([e500.status, e500.url, e500.retryable]).toEqual([500, `${emulator.url}/api/v1/generate`, false]);
    expect(e500.message).toContain('Error parsing input.');
    emulator.failNext({ kind: 'status', status: 503 });
    const e503 = await failure(provider.streamCompletion(chat).result);
    expect([e503.status, e503.url, e503.retryable]).toEqual([503, `${emulator.url}/api/extra/generate/stream`, true]);
    expect(e503.message).toContain('Server is busy; please try again later.');
  });

  it('lets the base class retry a busy server', async () => {
    const retrying = await aegis.getProviderForProfile('retrying');
    emulator.setReply({ text: 'Teal.' });
    emulator.failNext({ kind: 'status', status: 503 });
    const result = await retrying.getCompletion(chat);
    expect(result.text).toBe('Teal.');
    expect(posts('/api/v1/generate')).toHaveLength(2);
  });

  it('does not retry a 500 bad_input (unparsable or too large body), on any endpoint; another 500 still is', async () => {
    const retrying = await aegis.getProviderForProfile('retrying');
    const badInput = fixtureJson('koboldcpp', 'error.500.json');
    emulator.failNext({ kind: 'status', status: 500, body: badInput });
    const e = await failure(retrying.getCompletion(chat));
    expect(e).toMatchObject({ status: 500, reason: 'http', retryable: false });
    expect(e.message).toContain('Error parsing input.');
    expect(posts('/api/v1/generate')).toHaveLength(1);
    emulator.failNext({ kind: 'status', status: 500, body: badInput });
    await failure(retrying.streamCompletion(chat).result);
    expect(posts('/api/extra/generate/stream')).toHaveLength(1);
    emulator.failNext({ kind: 'status', status: 500, body: badInput });
    await failure(retrying.getEmbeddings(['x']));
    expect(posts('/api/extra/embeddings')).toHaveLength(1);
    emulator.setReply({ text: 'Teal.' });
    emulator.failNext({ kind: 'status', status: 500, body: { detail: { msg: 'CUDA error', type: 'server_error' } } });
    expect((await retrying.getCompletion(chat)).text).toBe('Teal.');
    expect(posts('/api/v1/generate')).toHaveLength(3);
  });

  it('aborts through the AbortSignal and stops the generation on the server', async () => {
    emulator.failNext({ kind: 'hang' });
    const controller = new AbortController();
    abortOnArrival(controller, '/api/v1/generate');
    const e = await failure(provider.getCompletion(chat, { signal: controller.signal }));
    expect(e.reason).toBe('aborted');
    const genkey = posts('/api/v1/generate')[0]!.json.genkey;
    expect((await abortRequests()).map((r) => r.json)).toEqual([{ genkey }]);
  });

  it('a cancelled tool call stops the generation named by a genkey given in providerOptions', async () => {
    emulator.failNext({ kind: 'hang' });
    const controller = new AbortController();
    abortOnArrival(controller, '/v1/chat/completions');
    const tools = [{ name: 'get_time', description: 'The time', parameters: { type: 'object', properties: { tz: { type: 'string' } } } }];
    const e = await failure(provider.getCompletion(chat, { tools, signal: controller.signal, providerOptions: { genkey: 'my-own-key' } }));
    expect(e.reason).toBe('aborted');
    expect(posts('/v1/chat/completions')[0]!.json.genkey).toBe('my-own-key');
    expect((await abortRequests()).map((r) => r.json)).toEqual([{ genkey: 'my-own-key' }]);
  });

  it('aborts a stream through the AbortSignal', async () => {
    emulator.failNext({ kind: 'hang' });
    const controller = new AbortController();
    abortOnArrival(controller, '/api/extra/generate/stream');
    const e = await failure(provider.streamCompletion(chat, { signal: controller.signal }).result);
    expect(e.reason).toBe('aborted');
    expect(await abortRequests()).toHaveLength(1);
  });
});

describe('embeddings', () => {
  it('posts the texts to /api/extra/embeddings and returns one vector each', async () => {
    emulator.setReply({ embeddingDimension: 8 });
    const result = await provider.getEmbeddings(['alpha', 'beta']);
    expect(result.embeddings).toHaveLength(2);
    expect(result.embeddings.every((v) => v.length === 8)).toBe(true);
    expect(result.embeddings[0]).not.toEqual(result.embeddings[1]);
    expect(result.model).toMatch(/^koboldcpp\//);
    expect(result.usage?.promptTokens).toBeGreaterThan(0);
    const request = emulator.lastRequest!;
    expect(request.path).toBe('/api/extra/embeddings');
    expect(request.json).toEqual({ input: ['alpha', 'beta'] });
    expect(request.headers.authorization).toBe(`Bearer ${PASSWORD}`);
  });

  it('merges providerOptions into the body last', async () => {
    await provider.getEmbeddings(['alpha'], { providerOptions: { truncate: true } });
    expect(emulator.lastRequest!.json).toEqual({ input: ['alpha'], truncate: true });
  });

  it('refuses dimensions (its API has no such field) before sending anything', async () => {
    const e = await provider.getEmbeddings(['alpha'], { dimensions: 64 }).catch((error: unknown) => error);
    expect(CapabilityNotSupportedError.isInstance(e)).toBe(true);
    expect((e as Error).message).toContain('does not support embeddings with `dimensions`');
    expect(emulator.requests).toHaveLength(0);
  });

  it('explains a 404 as a server without an embeddings model', async () => {
    emulator.failNext({ kind: 'status', status: 404 });
    const e = await failure(provider.getEmbeddings(['alpha']));
    expect([e.status, e.url, e.retryable]).toEqual([404, `${emulator.url}/api/extra/embeddings`, false]);
    expect(e.message).toContain('no embeddings model loaded');
  });

  it('explains the empty vectors of a server with no embeddings model loaded', async () => {
    const empty = { object: 'list', data: [{ object: 'embedding', index: 0, embedding: [] }], model: 'inactive', usage: { prompt_tokens: 0, total_tokens: 0 } };
    emulator.failNext({ kind: 'status', status: 200, body: empty });
    const e = await failure(provider.getEmbeddings(['alpha']));
    expect(e.message).toContain('no embeddings model loaded');
    expect(e.retryable).toBe(false);
  });

  it('puts the vectors in the order of their index', async () => {
    const data = [
      { object: 'embedding', index: 1, embedding: [0, 1] },
      { object: 'embedding', index: 0, embedding: [1, 0] },
    ];
    emulator.failNext({ kind: 'status', status: 200, body: { object: 'list', data, model: 'koboldcpp/nomic', usage: { prompt_tokens: 2, total_tokens: 2 } } });
    const result = await provider.getEmbeddings(['alpha', 'beta']);
    expect(result.embeddings).toEqual([
      [1, 0],
      [0, 1],
    ]);
  });

  it('rejects a body of the wrong shape', async () => {
    emulator.failNext({ kind: 'wrong-shape' });
    const e = await failure(provider.getEmbeddings(['alpha']));
    expect(e.reason).toBe('bad_response');
    expect(e.message).toContain(`${emulator.url}/api/extra/embeddings`);
  });
});

describe('speech', () => {
  it('returns the WAV bytes and their MIME type', async () => {
    const result = await provider.getSpeech('Hello there');
    expect(result.mimeType).toBe('audio/wav');
    expect(Buffer.from(result.audio.subarray(0, 4)).toString('ascii')).toBe('RIFF');
    expect(Buffer.from(result.audio.subarray(8, 12)).toString('ascii')).toBe('WAVE');
    expect(emulator.lastRequest?.path).toBe('/api/extra/tts');
    expect(emulator.lastRequest?.json).toEqual({ input: 'Hello there', voice: 'kobo' });
  });

  it('sends the voice asked for', async () => {
    await provider.getSpeech('Hi', { voice: 'cheery' });
    expect(emulator.lastRequest?.json).toEqual({ input: 'Hi', voice: 'cheery' });
  });

  it('merges providerOptions into the body last', async () => {
    await provider.getSpeech('Hi', { voice: 'cheery', providerOptions: { seed: 42, voice: 'sleepy' } });
    expect(emulator.lastRequest?.json).toEqual({ input: 'Hi', voice: 'sleepy', seed: 42 });
  });

  it('refuses a format other than WAV and a speed other than 1 (the server has neither setting) before sending anything', async () => {
    for (const options of [{ format: 'mp3' }, { format: 'pcm' }, { speed: 1.5 }, { format: 'wav', speed: 0.5 }]) {
      const e = await provider.getSpeech('Hi', options).catch((error: unknown) => error);
      expect(CapabilityNotSupportedError.isInstance(e)).toBe(true);
    }
    expect(((await provider.getSpeech('Hi', { format: 'mp3' }).catch((e: unknown) => e)) as Error).message).toContain('"mp3"');
    expect(((await provider.getSpeech('Hi', { speed: 2 }).catch((e: unknown) => e)) as Error).message).toContain('`speed`');
    expect(emulator.requests).toHaveLength(0);
    const ok = await provider.getSpeech('Hi', { format: 'WAV', speed: 1 });
    expect(ok.mimeType).toBe('audio/wav');
    expect(emulator.lastRequest?.json).toEqual({ input: 'Hi', voice: 'kobo' });
  });

  it('maps errors of the TTS endpoint', async () => {
    emulator.failNext({ kind: 'status', status: 503 });
    const e = await failure(provider.getSpeech('Hi'));
    expect([e.status, e.url, e.retryable]).toEqual([503, `${emulator.url}/api/extra/tts`, true]);
  });
});

describe('transcription', () => {
  const audio = wavFile(pcmTone(50, 16000), 16000);

  it('sends the audio as base64 audio_data in JSON and returns the text', async () => {
    emulator.setReply({ transcription: 'Hello world' });
    const result = await provider.getTranscription(new Uint8Array(audio));
    expect(result.text).toBe('Hello world');
    const request = emulator.lastRequest!;
    expect(request.path).toBe('/api/extra/transcribe');
    expect(request.headers['content-type']).toMatch(/application\/json/);
    expect(request.json).toEqual({ audio_data: audio.toString('base64'), prompt: '', langcode: 'auto', suppress_non_speech: false });
  });

  it('sends the language and prompt asked for', async () => {
    await provider.getTranscription(new Uint8Array(audio), { language: 'de', prompt: 'Namen: Kobo' });
    expect(emulator.lastRequest?.json).toMatchObject({ langcode: 'de', prompt: 'Namen: Kobo' });
  });

  it('merges providerOptions into the body last', async () => {
    await provider.getTranscription(new Uint8Array(audio), { language: 'de', providerOptions: { suppress_non_speech: true, langcode: 'fr' } });
    expect(emulator.lastRequest?.json).toMatchObject({ langcode: 'fr', suppress_non_speech: true });
  });

  it('encodes only the bytes of a view into a larger buffer', async () => {
    const big = Buffer.concat([Buffer.from('junk'), audio, Buffer.from('junk')]);
    await provider.getTranscription(new Uint8Array(big.buffer, big.byteOffset + 4, audio.length));
    expect(emulator.lastRequest?.json.audio_data).toBe(audio.toString('base64'));
  });
});

describe('models and tokens', () => {
  const onPath = (path: string) => (request: RecordedRequest) => request.path === path;

  it('a context length of 0 is no context length', async () => {
    emulator.failNext({ kind: 'status', status: 200, body: { value: 0 } }, 1, onPath('/api/extra/true_max_context_length'));
    const [model] = await provider.listModels();
    expect(model!.id).toMatch(/^koboldcpp\//);
    expect(model).not.toHaveProperty('contextLength');
  });

  it('counts 0 tokens (an empty text) as 0, not as a missing count', async () => {
    emulator.failNext({ kind: 'status', status: 200, body: { value: 0, ids: [] } }, 1, onPath('/api/extra/tokencount'));
    expect(await provider.countTokens('')).toMatchObject({ tokens: 0, exact: true, ids: [] });
  });
});

describe('plugin and config', () => {
  it('declares every capability KoboldCpp offers', () => {
    expect([...plugin.capabilities].sort()).toEqual(['completion', 'embeddings', 'models', 'speech', 'streaming', 'structured_output', 'tokens', 'tools', 'transcription', 'vision']);
    for (const c of plugin.capabilities) expect(provider.supports(c)).toBe(true);
  });

  it('fills the defaults', async () => {
    const config = await aegis.getBackendConfig('defaults');
    expect(config).toMatchObject({
      base_url: 'http://localhost:5001',
      max_length: 512,
      trim_stop: true,
      instruct: 'chatml',
      voice: 'kobo',
      transcription_language: 'auto',
      suppress_non_speech: false,
    });
    expect(config).not.toHaveProperty('password');
  });

  it('redacts the password in profile listings', async () => {
    const kobold = (await aegis.profiles()).find((p) => p.name === 'kobold')!;
    expect(kobold.usable).toBe(true);
    expect(JSON.stringify(kobold.values)).not.toContain(PASSWORD);
  });

  it('rejects an unknown preset and an unknown tag', async () => {
    const badDir = mkdtempSync(join(tmpdir(), 'aegis-koboldcpp-bad-'));
    try {
      writeFileSync(
        join(badDir, 'backends.yaml'),
        ['- profile_name: bad', '  type: koboldcpp', '  instruct: gpt4', '  instruct_tags:', '    user_begin: "<u>"'].join('\n'),
      );
      const bad = createAegis({ configPath: join(badDir, 'backends.yaml'), env: {}, plugins: [plugin], discover: false });
      try {
        const messages = (await bad.validate()).map((i) => `${i.field}: ${i.message}`).join('\n');
        expect(messages).toContain('instruct:');
        expect(messages).toContain('user_begin');
      } finally {
        bad.close();
      }
    } finally {
      rmSync(badDir, { recursive: true, force: true });
    }
  });
});
