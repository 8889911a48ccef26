/**
 * The gateway driven by clients nobody here wrote: the official `openai`
 * client, the AI SDK's OpenAI-compatible provider, and curl; the emulators
 * behind it, and a fallback profile whose first member is dead.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import OpenAI, { toFile } from 'openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { generateText, streamText } from 'ai';
import { wavFile, pcmTone } from '@aegis/testkit';
import { backendsYaml, startBackends, startGateway, type Backends, type RunningGateway } from './__tests__/harness.js';

const run = promisify(execFile);

let backends: Backends;
let gw: RunningGateway;
let client: OpenAI;

beforeAll(async () => {
  backends = await startBackends();
  gw = await startGateway(backendsYaml(backends));
  client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'unused-on-loopback', maxRetries: 0 });
});

afterAll(async () => {
  await gw?.close();
  await backends?.close();
});

beforeEach(() => {
  backends.openai.reset();
  backends.ollama.reset();
});

describe('the official openai client', () => {
  it('lists the usable profiles under their own names (no gateway section)', async () => {
    const models = [];
    for await (const model of client.models.list()) models.push(model.id);
    expect(models).toEqual(['chat', 'llama', 'dead', 'safe']);
    expect((await client.models.retrieve('llama')).id).toBe('llama');
  });

  it('gets a chat completion, with usage, through the openai plugin', async () => {
    backends.openai.setReply({ text: 'Hi from upstream', promptTokens: 7, completionTokens: 4 });
    const answer = await client.chat.completions.create({
      model: 'chat',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hello' },
      ],
      temperature: 0.3,
      max_tokens: 20,
    });
    expect(answer.choices[0]!.message.content).toBe('Hi from upstream');
    expect(answer.choices[0]!.finish_reason).toBe('stop');
    expect(answer.model).toBe('chat');
    expect(answer.usage).toMatchObject({ prompt_tokens: 7, completion_tokens: 4, total_tokens: 11 });
    const sent = backends.openai.lastRequest!.json;
    expect(sent).toMatchObject({ model: 'gpt-4o-mini', temperature: 0.3, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello' }] });
    // The upstream key is the profile's, never the caller's.
    expect(backends.openai.lastRequest!.headers.authorization).toBe('Bearer sk-upstream-secret-0123456789');
  });

  it('streams a chat completion through the ollama plugin, delta by delta, with usage', async () => {
    backends.ollama.setReply({ chunks: ['One', ' two', ' three'], promptTokens: 3, completionTokens: 3 });
    const stream = await client.chat.completions.create({
      model: 'llama',
      messages: [{ role: 'user', content: 'Count' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const deltas: string[] = [];
    let finish: string | null | undefined;
    let usage: unknown;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice?.delta.content) deltas.push(choice.delta.content);
      if (choice?.finish_reason) finish = choice.finish_reason;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(deltas).toEqual(['One', ' two', ' three']);
    expect(finish).toBe('stop');
    expect(usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 });
  });

  it('answers through the fallback profile whose first member is dead, streamed and not', async () => {
    backends.ollama.setReply({ text: 'from the second member' });
    const answer = await client.chat.completions.create({ model: 'safe', messages: [{ role: 'user', content: 'hi' }] });
    expect(answer.choices[0]!.message.content).toBe('from the second member');
    const stream = await client.chat.completions.create({ model: 'safe', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('from the second member');
  });

  it('gets embeddings as floats and in the base64 encoding the client asks for by default', async () => {
    const floats = await client.embeddings.create({ model: 'llama', input: ['alpha', 'beta'], encoding_format: 'float' });
    expect(floats.data).toHaveLength(2);
    const byDefault = await client.embeddings.create({ model: 'llama', input: ['alpha', 'beta'] });
    expect(byDefault.data.map((d) => d.index)).toEqual([0, 1]);
    // The client decoded base64 little-endian float32: the same vectors, to float32 precision.
    byDefault.data.forEach((d, i) => {
      expect(d.embedding).toHaveLength(floats.data[i]!.embedding.length);
      d.embedding.forEach((v, j) => expect(v).toBeCloseTo(floats.data[i]!.embedding[j]!, 5));
    });
  });

  it('makes speech and transcribes a multipart upload', async () => {
    const speech = await client.audio.speech.create({ model: 'chat', input: 'Hello there', voice: 'alloy', response_format: 'wav' });
    expect(speech.headers.get('content-type')).toMatch(/audio/);
    const audio = Buffer.from(await speech.arrayBuffer());
    expect(audio.subarray(0, 4).toString('latin1')).toBe('RIFF');
    expect(backends.openai.lastRequest!.json).toMatchObject({ input: 'Hello there', voice: 'alloy', response_format: 'wav' });

    backends.openai.setReply({ transcription: 'what was said' });
    const wav = wavFile(pcmTone(0.1));
    const text = await client.audio.transcriptions.create({ model: 'chat', file: await toFile(wav, 'clip.wav', { type: 'audio/wav' }), language: 'en' });
    expect(text.text).toBe('what was said');
    const upload = backends.openai.lastRequest!.form!;
    expect(upload.fields.language).toBe('en');
    expect(Buffer.compare(upload.files.file!.data, Buffer.from(wav))).toBe(0);
  });

  it('reports errors as OpenAI does: unknown model 404, missing capability 400 naming it, bad parameter 400', async () => {
    const notFound = await client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(notFound).toBeInstanceOf(OpenAI.NotFoundError);
    expect((notFound as InstanceType<typeof OpenAI.APIError>).code).toBe('model_not_found');

    const noSpeech = await client.audio.speech.create({ model: 'llama', input: 'x', voice: 'alloy' }).catch((e: unknown) => e);
    expect(noSpeech).toBeInstanceOf(OpenAI.BadRequestError);
    expect((noSpeech as Error).message).toMatch(/model "llama" does not support speech/);

    const legacy = await client.chat.completions
      .create({ model: 'chat', messages: [{ role: 'user', content: 'x' }], functions: [{ name: 'f', parameters: {} }] })
      .catch((e: unknown) => e);
    expect(legacy).toBeInstanceOf(OpenAI.BadRequestError);
    expect((legacy as InstanceType<typeof OpenAI.APIError>).param).toBe('functions');
    expect((legacy as Error).message).toMatch(/unsupported parameter "functions"/);
    expect(backends.openai.requests).toHaveLength(0);
  });

  it('passes an upstream 429 on with Retry-After, then answers 429 from its cooldown without calling the backend', async () => {
    backends.openai.failNext({ kind: 'status', status: 429, retryAfter: '7' });
    const limited = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect((limited as InstanceType<typeof OpenAI.APIError>).headers?.get('retry-after')).toBe('7');
    const calls = backends.openai.requests.length;
    const again = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(OpenAI.RateLimitError);
    expect(Number((again as InstanceType<typeof OpenAI.APIError>).headers?.get('retry-after'))).toBeGreaterThan(0);
    expect(backends.openai.requests.length).toBe(calls);
    // The cooldown is the profile's: other models are unaffected.
    await expect(client.chat.completions.create({ model: 'llama', messages: [{ role: 'user', content: 'x' }] })).resolves.toBeDefined();
  });
});

describe('the AI SDK (OpenAI-compatible provider)', () => {
  const provider = () => createOpenAICompatible({ name: 'aegis', baseURL: `${gw.url}/v1`, apiKey: 'unused', includeUsage: true });

  it('generateText', async () => {
    backends.ollama.setReply({ text: 'AI SDK says hi', promptTokens: 5, completionTokens: 4 });
    const { text, finishReason, usage } = await generateText({ model: provider().chatModel('llama'), prompt: 'Hello', maxRetries: 0 });
    expect(text).toBe('AI SDK says hi');
    expect(finishReason).toBe('stop');
    expect(usage.inputTokens).toBe(5);
    expect(usage.outputTokens).toBe(4);
  });

  it('streamText, through the fallback whose first member is dead', async () => {
    backends.ollama.setReply({ chunks: ['stream', 'ed ', 'text'] });
    const result = streamText({ model: provider().chatModel('safe'), prompt: 'Hello', maxRetries: 0 });
    const parts: string[] = [];
    for await (const delta of result.textStream) parts.push(delta);
    expect(parts.join('')).toBe('streamed text');
    expect(await result.finishReason).toBe('stop');
  });
});

describe('curl', () => {
  it('gets a completion, a stream ending in [DONE], and an OpenAI-format error', async () => {
    backends.ollama.setReply({ chunks: ['a', 'b'] });
    const body = JSON.stringify({ model: 'llama', messages: [{ role: 'user', content: 'hi' }] });
    const plain = await run('curl', ['-sS', '-H', 'content-type: application/json', '-d', body, `${gw.url}/v1/chat/completions`]);
    expect(JSON.parse(plain.stdout).choices[0].message.content).toBe('ab');

    const streamed = await run('curl', ['-sSN', '-H', 'content-type: application/json', '-d', JSON.stringify({ ...JSON.parse(body), stream: true }), `${gw.url}/v1/chat/completions`]);
    const events = streamed.stdout.split('\n\n').filter(Boolean);
    expect(events.at(-1)).toBe('data: [DONE]');
    expect(events.slice(0, -1).map((e) => JSON.parse(e.slice('data: '.length)).choices[0].delta.content ?? '').join('')).toBe('ab');

    const bad = await run('curl', ['-sS', '-w', '\n%{http_code}', '-H', 'content-type: application/json', '-d', '{"model":"chat","messages":[]}', `${gw.url}/v1/chat/completions`]);
    const [json, status] = bad.stdout.split('\n');
    expect(status).toBe('400');
    expect(JSON.parse(json!).error).toMatchObject({ type: 'invalid_request_error', param: 'messages' });
  });
});
