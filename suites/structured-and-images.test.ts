/**
 * Structured output and image input on every backend: one zod schema, one
 * `responseFormat`, a typed object back from each emulator; the schema and the
 * image bytes reach each backend in its own wire form.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { CapabilityNotSupportedError, StructuredOutputError, z, type BackendProvider } from '@aegis/core';
import { createTestAegis, drain, rejection, startEmulator, type Emulator, type EmulatorKind, type TestAegis } from '@aegis/testkit';
import koboldcpp from '@aegis/provider-koboldcpp';
import ollama from '@aegis/provider-ollama';
import openai from '@aegis/provider-openai';
import vllm from '@aegis/provider-vllm';

const KINDS = ['openai', 'vllm', 'ollama', 'koboldcpp'] as const;
type Kind = (typeof KINDS)[number];

const Weather = z.object({
  city: z.string(),
  units: z.enum(['c', 'f']),
  temperature: z.number().default(20),
});

/** A 1x1 PNG. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
const PNG_BASE64 = PNG.toString('base64');

let emulators: Record<Kind, Emulator>;
let test: TestAegis;
const provider = (kind: Kind): Promise<BackendProvider> => test.provider(kind);
const lastBody = (kind: Kind) => emulators[kind].lastRequest!.json as Record<string, any>;

beforeAll(async () => {
  const started = await Promise.all(KINDS.map((k) => startEmulator(k as EmulatorKind)));
  emulators = Object.fromEntries(KINDS.map((k, i) => [k, started[i]!])) as Record<Kind, Emulator>;
  test = createTestAegis({
    plugins: [openai, vllm, ollama, koboldcpp],
    profiles: [
      { profile_name: 'openai', type: 'openai', base_url: emulators.openai.baseUrl, api_key: 'sk-structured-test-1', model: 'gpt-4o-mini', max_retries: 0 },
      { profile_name: 'vllm', type: 'vllm', base_url: emulators.vllm.baseUrl, model: 'Qwen/Qwen2.5-1.5B-Instruct', max_retries: 0 },
      { profile_name: 'ollama', type: 'ollama', base_url: emulators.ollama.url, model: 'llama3.2', max_retries: 0 },
      { profile_name: 'koboldcpp', type: 'koboldcpp', base_url: emulators.koboldcpp.url, max_retries: 0 },
    ],
  });
});

afterAll(async () => {
  test.close();
  await Promise.all(Object.values(emulators).map((e) => e.close()));
});

const ask = [{ role: 'user' as const, content: "What's the weather like in Paris?" }];

describe.each(KINDS)('structured output on %s', (kind) => {
  it('returns a typed object from one zod schema (getObject)', async () => {
    emulators[kind].reset();
    emulators[kind].setReply({ text: '{"city": "Paris", "units": "c"}' });
    const { object, text } = await (await provider(kind)).getObject(ask, { schema: Weather, name: 'weather' });
    // zod's output: the default applied, the type inferred (object.temperature is a number).
    expect(object).toEqual({ city: 'Paris', units: 'c', temperature: 20 });
    const celsius: number = object.temperature;
    expect(celsius).toBe(20);
    expect(text).toBe('{"city": "Paris", "units": "c"}');
  });

  it("sends the schema in the backend's own form", async () => {
    emulators[kind].reset();
    await (await provider(kind)).getObject(ask, { schema: Weather, name: 'weather' });
    const body = lastBody(kind);
    const schemaOnWire = {
      openai: () => body.response_format.json_schema.schema,
      vllm: () => body.response_format.json_schema.schema,
      ollama: () => body.format,
      koboldcpp: () => JSON.parse(body.grammar),
    }[kind]();
    expect(schemaOnWire).toMatchObject({ type: 'object', properties: { city: { type: 'string' }, units: { enum: ['c', 'f'] } } });
    expect(schemaOnWire.required).toEqual(expect.arrayContaining(['city', 'units']));
    if (kind === 'openai') {
      expect(body.response_format).toMatchObject({ type: 'json_schema', json_schema: { name: 'weather', strict: false } });
    }
  });

  it('answers a schema the emulator fills itself, as a constrained model would', async () => {
    emulators[kind].reset();
    const { object } = await (await provider(kind)).getObject(ask, { schema: Weather });
    expect(Weather.safeParse(object).success).toBe(true);
  });

  it('raises StructuredOutputError with the raw text and the issues for a non-conforming answer', async () => {
    emulators[kind].reset();
    emulators[kind].setReply({ text: '{"city": 42}' });
    const error = await rejection((await provider(kind)).getObject(ask, { schema: Weather }));
    expect(StructuredOutputError.isInstance(error)).toBe(true);
    const e = error as StructuredOutputError;
    expect(e.text).toBe('{"city": 42}');
    expect(e.issues.map((i) => i.path).sort()).toEqual(['/city', '/units']);
    expect(e.retryable).toBe(false);
    expect(e.message).toContain(`profile "${kind}"`);
  });

  it('raises StructuredOutputError for an answer that is not JSON', async () => {
    emulators[kind].reset();
    emulators[kind].setReply({ text: 'Sunny, 20 degrees.' });
    const error = await rejection((await provider(kind)).getCompletion(ask, { responseFormat: { type: 'json' } }));
    expect(StructuredOutputError.isInstance(error)).toBe(true);
    expect((error as StructuredOutputError).issues[0]!.message).toMatch(/not valid JSON/);
  });

  it('validates against a plain JSON Schema too, and any JSON with { type: "json" }', async () => {
    emulators[kind].reset();
    emulators[kind].setReply({ text: '{"n": 3}' });
    const p = await provider(kind);
    const ok = await p.getCompletion(ask, { responseFormat: { type: 'json', schema: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] } } });
    expect(ok.object).toEqual({ n: 3 });
    const bad = await rejection(p.getCompletion(ask, { responseFormat: { type: 'json', schema: { type: 'object', properties: { n: { type: 'string' } }, required: ['n'] } } }));
    expect((bad as StructuredOutputError).issues).toEqual([{ path: '/n', message: 'must be string' }]);
    const any = await p.getCompletion(ask, { responseFormat: { type: 'json' } });
    expect(any.object).toEqual({ n: 3 });
    // A schema that names its draft (draft-07, as other tools write it) is validated too.
    const draft7 = { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] };
    expect((await p.getCompletion(ask, { responseFormat: { type: 'json', schema: draft7 } })).object).toEqual({ n: 3 });
  });

  it('streams the partial text and validates the whole at the end', async () => {
    emulators[kind].reset();
    emulators[kind].setReply({ chunks: ['{"city": ', '"Oslo", ', '"units": "c"}'] });
    const stream = (await provider(kind)).streamCompletion(ask, { responseFormat: { type: 'json', schema: Weather } });
    const { deltas, error } = await drain(stream);
    expect(error).toBeUndefined();
    expect(deltas.join('')).toBe('{"city": "Oslo", "units": "c"}');
    expect((await stream.result).object).toEqual({ city: 'Oslo', units: 'c', temperature: 20 });

    emulators[kind].setReply({ chunks: ['{"city": ', '"Oslo"}'] });
    const broken = (await provider(kind)).streamCompletion(ask, { responseFormat: { type: 'json', schema: Weather } });
    const drained = await drain(broken);
    expect(drained.deltas.join('')).toBe('{"city": "Oslo"}');
    expect(StructuredOutputError.isInstance(drained.error)).toBe(true);
    expect(StructuredOutputError.isInstance(await rejection(broken.result))).toBe(true);
  });
});

describe.each(KINDS)('image input on %s', (kind) => {
  const look = [
    {
      role: 'user' as const,
      content: [
        { type: 'text' as const, text: 'What is in this image?' },
        { type: 'image' as const, image: new Uint8Array(PNG) },
      ],
    },
  ];

  it("delivers the image bytes intact in the backend's own form", async () => {
    emulators[kind].reset();
    await (await provider(kind)).getCompletion(look);
    const body = lastBody(kind);
    if (kind === 'openai' || kind === 'vllm') {
      expect(body.messages[0].content).toEqual([
        { type: 'text', text: 'What is in this image?' },
        { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG_BASE64}` } },
      ]);
    } else if (kind === 'ollama') {
      expect(body.messages[0]).toEqual({ role: 'user', content: 'What is in this image?', images: [PNG_BASE64] });
    } else {
      expect(body.images).toEqual([PNG_BASE64]);
      expect(body.prompt).toContain('What is in this image?');
      expect(body.prompt).not.toContain(PNG_BASE64);
    }
    expect(Buffer.from(JSON.stringify(body).match(/iVBOR[A-Za-z0-9+/=]+/)![0], 'base64').equals(PNG)).toBe(true);
  });

  it('passes an https image URL where the backend takes one, and refuses it before any request where it does not', async () => {
    emulators[kind].reset();
    const remote = [{ role: 'user' as const, content: [{ type: 'image' as const, image: new URL('https://example.org/cat.png') }] }];
    const p = await provider(kind);
    if (kind === 'openai' || kind === 'vllm') {
      await p.getCompletion(remote);
      expect(lastBody(kind).messages[0].content).toEqual([{ type: 'image_url', image_url: { url: 'https://example.org/cat.png' } }]);
    } else {
      const error = await rejection(p.getCompletion(remote));
      expect(CapabilityNotSupportedError.isInstance(error)).toBe(true);
      expect((error as Error).message).toContain('images given as URLs');
      expect(emulators[kind].requests).toHaveLength(0);
    }
  });
});
