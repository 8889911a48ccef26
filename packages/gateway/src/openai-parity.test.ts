/**
 * Answers and requests as OpenAI's own, over an OpenAI upstream the test
 * scripts (a node:http server on loopback), with the official `openai`
 * client: refusals (structured output the model declines), usage when the
 * backend reports none, the current platform fields of the Chat Completions
 * API, image `detail`, secrets a backend interleaves with other channels or
 * leaves held when its stream breaks, and a transcription's `language`.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import OpenAI, { toFile } from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import type { ChatCompletionCreateParamsBase } from 'openai/resources/chat/completions/completions';
import { z } from '@aegis/core';
import { wavFile, pcmTone } from '@aegis/testkit';
import { startGateway, UPSTREAM_ENV, type RunningGateway } from './__tests__/harness.js';

const KEY = UPSTREAM_ENV.UPSTREAM_KEY;

/** What the scripted upstream answers a chat call with: a JSON body, or SSE deltas (then a cut connection with `cut`). */
interface Script {
  message?: Record<string, unknown>;
  usage?: Record<string, number>;
  deltas?: Record<string, unknown>[];
  cut?: boolean;
  /** The answer's finish_reason (default "stop"), whole or in the stream's last chunk. */
  finish?: string;
  /** An error answer instead: this status, with `{ error }` as OpenAI's body. */
  status?: number;
  error?: Record<string, unknown>;
}

interface Upstream {
  baseUrl: string;
  /** The chat bodies received, in order. */
  bodies: Record<string, unknown>[];
  script: Script;
  transcription: Record<string, unknown>;
  /** The multipart bodies of the transcriptions received (latin1), in order. */
  uploads: string[];
  /** The usage an embeddings answer reports. */
  embeddingsUsage: Record<string, number>;
  close(): Promise<void>;
}

async function startUpstream(): Promise<Upstream> {
  const up: Omit<Upstream, 'baseUrl' | 'close'> = { bodies: [], script: {}, transcription: { text: '' }, uploads: [], embeddingsUsage: {} };
  const frame = (delta: Record<string, unknown>, finish: string | null = null) =>
    `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => {
      if (req.url?.endsWith('/audio/transcriptions')) {
        up.uploads.push(Buffer.concat(parts).toString('latin1'));
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(up.transcription));
        return;
      }
      if (req.url?.endsWith('/audio/speech')) {
        up.bodies.push(JSON.parse(Buffer.concat(parts).toString('utf8')) as Record<string, unknown>);
        res.writeHead(200, { 'content-type': 'audio/flac' });
        res.end(Buffer.from('fLaC-audio'));
        return;
      }
      if (req.url?.endsWith('/embeddings')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.5, -0.25] }], model: 'm', usage: up.embeddingsUsage }));
        return;
      }
      const body = JSON.parse(Buffer.concat(parts).toString('utf8')) as Record<string, unknown>;
      up.bodies.push(body);
      const { script } = up;
      if (script.status) {
        res.writeHead(script.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: script.error }));
        return;
      }
      if (body.stream === true) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        let out = frame({ role: 'assistant', content: '' });
        for (const delta of script.deltas ?? []) out += frame(delta);
        if (script.cut) {
          // The connection breaks mid-answer, once what was sent has left.
          res.write(out, () => setTimeout(() => res.destroy(), 20));
          return;
        }
        out += frame({}, script.finish ?? 'stop');
        if (script.usage) out += `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: script.usage })}\n\n`;
        res.end(`${out}data: [DONE]\n\n`);
        return;
      }
      const answer: Record<string, unknown> = {
        id: 'c',
        object: 'chat.completion',
        created: 1,
        model: 'm',
        choices: [{ index: 0, message: { role: 'assistant', content: 'Hello', refusal: null, ...script.message }, logprobs: null, finish_reason: script.finish ?? 'stop' }],
      };
      if (script.usage) answer.usage = script.usage;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(up, {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
}

let upstream: Upstream;
let gw: RunningGateway;
let client: OpenAI;

beforeAll(async () => {
  upstream = await startUpstream();
  gw = await startGateway(`profiles:
  - profile_name: gpt
    type: openai
    base_url: ${upstream.baseUrl}
    api_key: \${UPSTREAM_KEY}
    model: gpt-4o
    max_retries: 0
`);
  client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'unused-on-loopback', maxRetries: 0 });
});
afterAll(async () => {
  await gw?.close();
  await upstream?.close();
});
beforeEach(() => {
  upstream.bodies.length = 0;
  upstream.script = {};
});

const user = [{ role: 'user' as const, content: 'x'.repeat(40) }];

function post(body: unknown): Promise<Response> {
  return fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** The chunks of an SSE answer (without [DONE]). */
function chunksOf(sse: string): Record<string, any>[] {
  return sse
    .split('\n\n')
    .filter((e) => e.startsWith('data: {'))
    .map((e) => JSON.parse(e.slice('data: '.length)) as Record<string, any>);
}

describe('refusals', () => {
  const Answer = z.object({ answer: z.string() });
  const refusal = "I'm sorry, I cannot help with that.";

  it('non-streamed: message.refusal with content null, a 200 the client parses to null, after one upstream call', async () => {
    upstream.script = { message: { content: null, refusal }, usage: { prompt_tokens: 5, completion_tokens: 9, total_tokens: 14 } };
    // The client's default retries: a refusal is an answer, never something to retry.
    const retrying = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'unused-on-loopback' });
    const parsed = await retrying.chat.completions.parse({ model: 'gpt', messages: user, response_format: zodResponseFormat(Answer as never, 'a') });
    const message = parsed.choices[0]!.message;
    expect(message).toMatchObject({ role: 'assistant', content: null, refusal, parsed: null });
    expect(upstream.bodies).toHaveLength(1);

    // Without a response format, and with a secret in it: scrubbed like the text.
    upstream.script = { message: { content: null, refusal: `not with ${KEY}` } };
    const plain = await client.chat.completions.create({ model: 'gpt', messages: user });
    expect(plain.choices[0]!.message).toMatchObject({ content: null, refusal: 'not with ***' });

    // An answer that is not one: refusal null, as before.
    upstream.script = {};
    expect((await client.chat.completions.create({ model: 'gpt', messages: user })).choices[0]!.message).toMatchObject({ content: 'Hello', refusal: null });
  });

  it("streamed: delta.refusal chunks the client's stream helper reassembles, scrubbed across deltas", async () => {
    upstream.script = { deltas: [{ refusal: "I'm sorry, " }, { refusal: 'I cannot help with that.' }] };
    const deltas: string[] = [];
    const stream = client.chat.completions.stream({ model: 'gpt', messages: user, response_format: zodResponseFormat(Answer as never, 'a') });
    stream.on('refusal.delta', ({ delta }) => deltas.push(delta));
    const final = await stream.finalChatCompletion();
    expect(deltas.join('')).toBe(refusal);
    expect(final.choices[0]!.message).toMatchObject({ refusal, parsed: null });
    expect(upstream.bodies).toHaveLength(1);

    upstream.script = { deltas: [{ refusal: `not with ${KEY.slice(0, 10)}` }, { refusal: `${KEY.slice(10)}, sorry` }] };
    const sse = await (await post({ model: 'gpt', stream: true, messages: user })).text();
    expect(chunksOf(sse).map((c) => c.choices[0]?.delta?.refusal ?? '').join('')).toBe('not with ***, sorry');
    expect(sse).not.toContain(KEY.slice(0, 8));
  });
});

describe('finish reasons', () => {
  it("the backend's length and content_filter are passed on as such, streamed (in the last chunk) or not", async () => {
    for (const finish of ['length', 'content_filter']) {
      upstream.script = { finish, deltas: [{ content: 'Hel' }] };
      const whole = await client.chat.completions.create({ model: 'gpt', messages: user });
      expect(whole.choices[0]!.finish_reason).toBe(finish);
      const chunks = chunksOf(await (await post({ model: 'gpt', stream: true, messages: user })).text());
      const reasons = chunks.map((c) => c.choices[0]?.finish_reason).filter((r) => r !== null && r !== undefined);
      expect(reasons).toEqual([finish]);
      expect(chunks.at(-1)!.choices[0].finish_reason).toBe(finish);
    }
  });
});

describe('usage', () => {
  // 40 characters of prompt: 10 tokens; "Hello" answered: 2.
  it('a backend that reports none: the estimate the limits use, not zeros, streamed or not', async () => {
    const answer = await client.chat.completions.create({ model: 'gpt', messages: user });
    expect(answer.usage).toEqual({ prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 });

    upstream.script = { deltas: [{ content: 'Hello there, ' }, { content: 'sailor!' }] };
    const stream = await client.chat.completions.create({ model: 'gpt', messages: user, stream: true, stream_options: { include_usage: true } });
    let usage: unknown;
    for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
    // 20 characters answered: 5 tokens.
    expect(usage).toEqual({ prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 });
  });

  it("the backend's counts where it gives them, an estimate only for what it leaves out", async () => {
    upstream.script = { usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 11 } };
    expect((await client.chat.completions.create({ model: 'gpt', messages: user })).usage).toEqual({ prompt_tokens: 7, completion_tokens: 3, total_tokens: 11 });
    upstream.script = { usage: { prompt_tokens: 7 } };
    expect((await client.chat.completions.create({ model: 'gpt', messages: user })).usage).toEqual({ prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 });
  });
});

describe('the parameters of the installed openai client', () => {
  /**
   * One value for every top-level parameter of the client's
   * ChatCompletionCreateParams, and what the gateway does with it: `ok`
   * (honoured, or accepted and not forwarded), or refused by name.
   */
  const SAMPLES: { [K in keyof Required<ChatCompletionCreateParamsBase>]: [unknown, 'ok' | 'refused'] } = {
    model: ['gpt', 'ok'],
    messages: [user, 'ok'],
    audio: [{ voice: 'alloy', format: 'mp3' }, 'refused'],
    frequency_penalty: [0.5, 'refused'],
    function_call: ['auto', 'refused'],
    functions: [[{ name: 'f' }], 'refused'],
    logit_bias: [{ '1': 2 }, 'refused'],
    logprobs: [true, 'refused'],
    max_completion_tokens: [5, 'ok'],
    max_tokens: [5, 'ok'],
    metadata: [{ k: 'v' }, 'ok'],
    modalities: [['text', 'audio'], 'refused'],
    moderation: [{ model: 'omni-moderation-latest' }, 'refused'],
    n: [2, 'refused'],
    parallel_tool_calls: [true, 'ok'],
    prediction: [{ type: 'content', content: 'x' }, 'refused'],
    presence_penalty: [0.5, 'refused'],
    prompt_cache_key: ['thread-9', 'ok'],
    prompt_cache_options: [{ mode: 'implicit' }, 'ok'],
    prompt_cache_retention: ['24h', 'refused'],
    reasoning_effort: ['max', 'ok'],
    response_format: [{ type: 'text' }, 'ok'],
    safety_identifier: ['u-123', 'ok'],
    seed: [1, 'ok'],
    service_tier: ['flex', 'ok'],
    stop: ['x', 'ok'],
    store: [false, 'ok'],
    stream: [false, 'ok'],
    // Only with `stream`: refused by name without it.
    stream_options: [{ include_usage: true }, 'refused'],
    temperature: [0.5, 'ok'],
    tool_choice: ['none', 'ok'],
    tools: [[{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: {} } } }], 'ok'],
    top_logprobs: [2, 'refused'],
    top_p: [0.5, 'ok'],
    user: ['u-123', 'ok'],
    verbosity: ['low', 'refused'],
    web_search_options: [{}, 'refused'],
  };
  /** Accepted, and not forwarded: OpenAI platform fields. */
  const NOT_FORWARDED = ['user', 'safety_identifier', 'prompt_cache_key', 'prompt_cache_options', 'metadata', 'store', 'service_tier'];

  it('covers every parameter the installed client declares', () => {
    const declarations = path.join(path.dirname(createRequire(import.meta.url).resolve('openai')), 'resources/chat/completions/completions.d.ts');
    const source = readFileSync(declarations, 'utf8');
    const body = /export interface ChatCompletionCreateParamsBase \{([\s\S]*?)\n\}/.exec(source)![1]!;
    const declared = [...body.matchAll(/^ {4}([a-z_]+)\??:/gm)].map((m) => m[1]);
    expect(declared.sort()).toEqual(Object.keys(SAMPLES).sort());
  });

  it('honours or accepts each, or refuses it by name: never as an unknown argument', async () => {
    const outcomes: Record<string, unknown> = {};
    for (const [param, [value]] of Object.entries(SAMPLES)) {
      upstream.bodies.length = 0;
      const response = await post({ model: 'gpt', messages: user, [param]: value });
      const json = (await response.json()) as { error?: { param?: string; code?: string; message: string } };
      const outcome = response.status === 200 ? 'ok' : json.error?.param === param && json.error.code !== 'unknown_parameter' ? 'refused' : `${response.status} ${JSON.stringify(json.error)}`;
      outcomes[param] = outcome;
      if (outcome === 'refused') expect(json.error!.message).not.toMatch(/Unrecognized/);
      if (outcome === 'refused' && param !== 'stream_options') expect({ param, code: json.error!.code }).toEqual({ param, code: 'unsupported_parameter' });
      if (NOT_FORWARDED.includes(param)) expect({ param, forwarded: param in (upstream.bodies[0] ?? {}) }).toEqual({ param, forwarded: false });
    }
    expect(outcomes).toEqual(Object.fromEntries(Object.entries(SAMPLES).map(([param, [, expected]]) => [param, expected])));
    const verbosity = await client.chat.completions.create({ model: 'gpt', messages: user, verbosity: 'low' }).catch((e: unknown) => e);
    expect(verbosity).toMatchObject({ status: 400, param: 'verbosity', code: 'unsupported_parameter' });
  });

  it("an image's detail other than auto is refused by name, before any upstream call", async () => {
    const image = (detail: unknown) => ({ model: 'gpt', messages: [{ role: 'user', content: [{ type: 'text', text: 'read it' }, { type: 'image_url', image_url: { url: 'https://example.com/receipt.png', detail } }] }] });
    for (const detail of ['high', 'low']) {
      const refused = await post(image(detail));
      expect(refused.status).toBe(400);
      expect(((await refused.json()) as { error: unknown }).error).toMatchObject({ param: 'messages[0].content[1].image_url.detail', code: 'unsupported_parameter' });
    }
    expect(upstream.bodies).toHaveLength(0);
    for (const detail of ['auto', null]) expect((await post(image(detail))).status).toBe(200);
  });
});

describe("the answer's shape, as OpenAI's", () => {
  it('non-streamed: a chatcmpl- id, created in seconds, logprobs and system_fingerprint null, nothing else', async () => {
    const before = Math.floor(Date.now() / 1000);
    const body = (await (await post({ model: 'gpt', messages: user })).json()) as Record<string, any>;
    const after = Math.ceil(Date.now() / 1000);
    expect(Object.keys(body).sort()).toEqual(['choices', 'created', 'id', 'model', 'object', 'system_fingerprint', 'usage']);
    expect(body).toMatchObject({ object: 'chat.completion', model: 'gpt', system_fingerprint: null });
    expect(body.id).toMatch(/^chatcmpl-[0-9a-f]{32}$/);
    // Unix seconds, as OpenAI's (not milliseconds: a client shows it as a date).
    expect(Number.isInteger(body.created) && body.created >= before && body.created <= after).toBe(true);
    expect(body.choices).toEqual([{ index: 0, message: { role: 'assistant', content: 'Hello', refusal: null }, logprobs: null, finish_reason: 'stop' }]);
  });

  it('streamed: every chunk with the same id, created and model and choice index 0; the role first, an empty delta with the finish reason last, then [DONE]; usage only when asked', async () => {
    upstream.script = { deltas: [{ content: 'Hel' }, { content: 'lo' }] };
    const before = Math.floor(Date.now() / 1000);
    const sse = await (await post({ model: 'gpt', stream: true, messages: user })).text();
    const after = Math.ceil(Date.now() / 1000);
    expect(sse.endsWith('data: [DONE]\n\n')).toBe(true);
    const chunks = chunksOf(sse);
    const { id, created } = chunks[0]!;
    expect(id).toMatch(/^chatcmpl-[0-9a-f]{32}$/);
    expect(Number.isInteger(created) && created >= before && created <= after).toBe(true);
    for (const chunk of chunks) {
      expect(chunk).toMatchObject({ id, object: 'chat.completion.chunk', created, model: 'gpt', system_fingerprint: null });
      expect(chunk.choices).toHaveLength(1);
      expect(chunk.choices[0]).toMatchObject({ index: 0, logprobs: null });
      expect(chunk).not.toHaveProperty('usage');
    }
    expect(chunks[0]!.choices[0]).toEqual({ index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null });
    expect(chunks.slice(1, -1).map((c) => c.choices[0].delta)).toEqual([{ content: 'Hel' }, { content: 'lo' }]);
    expect(chunks.at(-1)!.choices[0]).toEqual({ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' });

    // With include_usage: one more chunk, choices empty, before [DONE].
    const withUsage = chunksOf(await (await post({ model: 'gpt', stream: true, messages: user, stream_options: { include_usage: true } })).text());
    expect(withUsage.at(-1)).toMatchObject({ object: 'chat.completion.chunk', choices: [], usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 } });
    expect(withUsage.filter((c) => 'usage' in c)).toHaveLength(1);
    // include_usage false: none.
    expect(chunksOf(await (await post({ model: 'gpt', stream: true, messages: user, stream_options: { include_usage: false } })).text()).filter((c) => 'usage' in c)).toHaveLength(0);
  });
});

describe('what the request asks reaches the backend', () => {
  it('max_completion_tokens (over max_tokens), a stop string, seed and message names, as the client sent them', async () => {
    const named = [{ role: 'system', content: 'be brief', name: 'rules' }, { role: 'user', content: 'x'.repeat(40), name: 'ann' }];
    expect((await post({ model: 'gpt', messages: named, max_completion_tokens: 7, stop: 'END', seed: 42 })).status).toBe(200);
    expect(upstream.bodies[0]).toMatchObject({ max_completion_tokens: 7, stop: ['END'], seed: 42, messages: named });
    // Both: the newer max_completion_tokens, as OpenAI takes it (max_tokens is deprecated).
    expect((await post({ model: 'gpt', messages: user, max_tokens: 9, max_completion_tokens: 7 })).status).toBe(200);
    expect(upstream.bodies[1]).toMatchObject({ max_completion_tokens: 7 });
    expect((await post({ model: 'gpt', messages: user, max_tokens: 9, stop: ['a', 'b'] })).status).toBe(200);
    expect(upstream.bodies[2]).toMatchObject({ max_completion_tokens: 9, stop: ['a', 'b'] });
  });

  it('a tool without parameters is one with an empty parameter list; tool_choice "none" is passed on, not dropped', async () => {
    const tools = [{ type: 'function', function: { name: 'now' } }];
    expect((await post({ model: 'gpt', messages: user, tools, tool_choice: 'none' })).status).toBe(200);
    // OpenAI: "Omitting parameters defines a function with an empty parameter list" (a backend may refuse a schema without a type).
    expect(upstream.bodies[0]!.tools).toEqual([{ type: 'function', function: { name: 'now', parameters: { type: 'object', properties: {} } } }]);
    // With tools at hand, "none" is what keeps the model from calling one.
    expect(upstream.bodies[0]!.tool_choice).toBe('none');
  });
});

describe('secrets a stream carries', () => {
  it('a key sent in short content pieces between reasoning deltas never goes out whole', async () => {
    const deltas: Record<string, unknown>[] = [];
    for (let i = 0; i < KEY.length; i += 7) deltas.push({ content: KEY.slice(i, i + 7) }, { reasoning: '.' });
    upstream.script = { deltas: [{ content: 'key: ' }, ...deltas, { content: ' end' }] };
    const sse = await (await post({ model: 'gpt', stream: true, messages: user })).text();
    const chunks = chunksOf(sse);
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? '').join('')).toBe('key: *** end');
    expect(chunks.map((c) => c.choices[0]?.delta?.reasoning ?? '').join('')).toBe('.'.repeat(deltas.length / 2));
    expect(sse).not.toContain(KEY.slice(0, 8));
  });

  it('what a channel holds back goes out, scrubbed, before the error event when the backend breaks off', async () => {
    upstream.script = { deltas: [{ content: 'the answer is sk' }, { reasoning: `thinking ${KEY.slice(0, 12)}` }], cut: true };
    const sse = await (await post({ model: 'gpt', stream: true, messages: user })).text();
    const chunks = chunksOf(sse);
    expect(chunks.at(-1)).toHaveProperty('error');
    expect(sse).not.toContain('[DONE]');
    expect(chunks.map((c) => c.choices?.[0]?.delta?.content ?? '').join('')).toBe('the answer is sk');
    expect(chunks.map((c) => c.choices?.[0]?.delta?.reasoning ?? '').join('')).toBe('thinking ***');
    expect(sse).not.toContain(KEY.slice(0, 8));
  });
});

describe("the backend's error codes", () => {
  it('a 400 keeps the code and param OpenAI gave (context_length_exceeded), for clients that act on them', async () => {
    upstream.script = {
      status: 400,
      error: { message: "This model's maximum context length is 128000 tokens.", type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' },
    };
    const error = (await client.chat.completions.create({ model: 'gpt', messages: user }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(400);
    expect(error.code).toBe('context_length_exceeded');
    expect(error.param).toBe('messages');
  });

  it('a spent quota (429 insufficient_quota) is passed on with its code and x-should-retry: false: the client does not retry it', async () => {
    upstream.script = { status: 429, error: { message: 'You exceeded your current quota.', type: 'insufficient_quota', param: null, code: 'insufficient_quota' } };
    const retrying = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'unused-on-loopback', maxRetries: 2 });
    const error = (await retrying.chat.completions.create({ model: 'gpt', messages: user }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(429);
    expect(error.code).toBe('insufficient_quota');
    expect(error.headers?.get('x-should-retry')).toBe('false');
    expect(error.headers?.get('retry-after')).toBeNull();
    expect(upstream.bodies).toHaveLength(1);
  });
});

describe('speech', () => {
  it('voice, speed and response_format reach the backend; the audio comes back with its type', async () => {
    const response = await fetch(`${gw.url}/v1/audio/speech`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'gpt', input: 'hello', voice: 'nova', speed: 1.5, response_format: 'flac' }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('audio/flac');
    expect(Buffer.from(await response.arrayBuffer()).toString()).toBe('fLaC-audio');
    expect(upstream.bodies).toHaveLength(1);
    expect(upstream.bodies[0]).toMatchObject({ input: 'hello', voice: 'nova', speed: 1.5, response_format: 'flac' });
  });
});

describe('embeddings', () => {
  it("usage.total_tokens is the prompt's count when the backend reports only prompt_tokens (nothing else is counted)", async () => {
    upstream.embeddingsUsage = { prompt_tokens: 3 };
    const answer = await client.embeddings.create({ model: 'gpt', input: 'alpha', encoding_format: 'float' });
    expect(answer.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
    expect(answer.data[0]!.embedding).toEqual([0.5, -0.25]);
  });
});

describe('transcriptions', () => {
  it('every string passed on from the result is scrubbed: the language too', async () => {
    upstream.transcription = { text: `your key is ${KEY}`, language: KEY };
    const file = await toFile(wavFile(pcmTone(0.05)), 'clip.wav', { type: 'audio/wav' });
    const verbose = await client.audio.transcriptions.create({ model: 'gpt', file, response_format: 'verbose_json' });
    expect(verbose).toMatchObject({ text: 'your key is ***', language: '***' });
    expect(JSON.stringify(verbose)).not.toContain(KEY);
  });

  it('response_format text is the text itself as text/plain; json (the default) is { text } only; verbose_json adds task and language', async () => {
    upstream.transcription = { text: 'hello there', language: 'en' };
    const form = (fields: Record<string, string>) => {
      const data = new FormData();
      data.set('model', 'gpt');
      data.set('file', new Blob([new Uint8Array(wavFile(pcmTone(0.05)))], { type: 'audio/wav' }), 'clip.wav');
      for (const [name, value] of Object.entries(fields)) data.set(name, value);
      return data;
    };
    const transcribe = (fields: Record<string, string>) => fetch(`${gw.url}/v1/audio/transcriptions`, { method: 'POST', body: form(fields) });

    const text = await transcribe({ response_format: 'text' });
    expect(text.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await text.text()).toBe('hello there');
    const file = await toFile(wavFile(pcmTone(0.05)), 'clip.wav', { type: 'audio/wav' });
    expect(await client.audio.transcriptions.create({ model: 'gpt', file, response_format: 'text' })).toBe('hello there');

    const byDefault = await transcribe({});
    expect(byDefault.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await byDefault.json()).toEqual({ text: 'hello there' });
    expect(await (await transcribe({ response_format: 'json' })).json()).toEqual({ text: 'hello there' });
    expect(await (await transcribe({ response_format: 'verbose_json' })).json()).toEqual({ task: 'transcribe', language: 'en', text: 'hello there' });

    // A streamed transcription is not served: refused by name, before any upstream call (never answered as JSON).
    upstream.uploads.length = 0;
    const streamed = await transcribe({ stream: 'true' });
    expect(streamed.status).toBe(400);
    expect(((await streamed.json()) as { error: unknown }).error).toMatchObject({ param: 'stream', code: 'unsupported_parameter' });
    expect(upstream.uploads).toHaveLength(0);
    expect((await transcribe({ stream: 'false' })).status).toBe(200);
  });

  it("a file sent without its type (application/octet-stream) reaches the backend typed by its extension", async () => {
    upstream.uploads.length = 0;
    upstream.transcription = { text: 'ok' };
    for (const name of ['clip.mp3', 'clip.FLAC', 'clip.webm']) {
      const file = await toFile(Buffer.from(wavFile(pcmTone(0.05))), name, { type: 'application/octet-stream' });
      await client.audio.transcriptions.create({ model: 'gpt', file });
    }
    const types = upstream.uploads.map((body) => /name="file"[^\r]*\r\nContent-Type: ([^\r]+)/i.exec(body)?.[1]);
    expect(types).toEqual(['audio/mpeg', 'audio/flac', 'audio/webm']);
  });
});
