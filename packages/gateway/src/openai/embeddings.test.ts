/**
 * `dimensions` on /v1/embeddings, with the official openai client, through
 * the gateway over the OpenAI emulator (which shortens its vectors when asked)
 * and the KoboldCpp emulator (whose API cannot: the plugin refuses it).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import OpenAI from 'openai';
import { createTestAegis, startKoboldCppEmulator, type Emulator, type TestAegis } from '@aegis/testkit';
import koboldcppPlugin from '@aegis/provider-koboldcpp';
import { createGateway, type Gateway } from '../index.js';
import { backendsYaml, PLUGINS, startBackends, UPSTREAM_ENV, type Backends } from '../__tests__/harness.js';

let backends: Backends;
let kobold: Emulator;
let test: TestAegis;
let gateway: Gateway;
let client: OpenAI;

beforeAll(async () => {
  [backends, kobold] = await Promise.all([startBackends(), startKoboldCppEmulator()]);
  const yaml = backendsYaml(
    backends,
    `  - profile_name: kobold
    type: koboldcpp
    base_url: ${kobold.baseUrl}
    max_retries: 0
`,
  );
  test = createTestAegis({ plugins: [...PLUGINS, koboldcppPlugin], profiles: yaml, env: UPSTREAM_ENV });
  gateway = await createGateway(test.aegis, { accessLog: false, defaultMetrics: false });
  const { url } = await gateway.listen({ port: 0, host: '127.0.0.1' });
  client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused-on-loopback', maxRetries: 0 });
});

afterAll(async () => {
  await gateway?.close({ timeoutMs: 0 });
  test?.close();
  await Promise.all([backends?.close(), kobold?.close()]);
});

beforeEach(() => {
  backends.openai.reset();
  kobold.reset();
});

describe('embeddings input', () => {
  it('token arrays (the backends take text) are a 400 naming input, never embedded as their digits', async () => {
    for (const input of [[1, 2, 3], [[1, 2], [3]], ['text', 5]]) {
      const error = await client.embeddings.create({ model: 'chat', input: input as string[], encoding_format: 'float' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect((error as InstanceType<typeof OpenAI.APIError>).param).toBe('input');
    }
    expect(backends.openai.requests).toHaveLength(0);
  });
});

describe('embeddings with dimensions', () => {
  it('passes dimensions to the backend and returns vectors of that length, in both encodings', async () => {
    const floats = await client.embeddings.create({ model: 'chat', input: ['alpha', 'beta'], dimensions: 256, encoding_format: 'float' });
    expect(backends.openai.lastRequest!.json).toMatchObject({ input: ['alpha', 'beta'], dimensions: 256 });
    expect(floats.data.map((d) => d.embedding.length)).toEqual([256, 256]);
    // The client's default (base64) decodes to the same length.
    const byDefault = await client.embeddings.create({ model: 'chat', input: 'alpha', dimensions: 256 });
    expect(byDefault.data[0]!.embedding).toHaveLength(256);
  });

  it('takes null as absent (OpenAI\'s schema allows it): the model\'s own length, nothing sent upstream', async () => {
    const own = await client.embeddings.create({ model: 'chat', input: 'alpha', encoding_format: 'float' });
    const nulled = await client.embeddings.create({ model: 'chat', input: 'alpha', encoding_format: 'float', dimensions: null as unknown as number });
    expect(backends.openai.lastRequest!.json).not.toHaveProperty('dimensions');
    expect(nulled.data[0]!.embedding).toHaveLength(own.data[0]!.embedding.length);
    expect(own.data[0]!.embedding.length).not.toBe(256);
  });

  it('refuses a dimensions that is not a positive integer, naming it, before any backend call', async () => {
    for (const dimensions of [0, -3, 2.5, '256']) {
      const error = await client.embeddings.create({ model: 'chat', input: 'alpha', dimensions: dimensions as number }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect((error as InstanceType<typeof OpenAI.APIError>).param).toBe('dimensions');
    }
    expect(backends.openai.requests).toHaveLength(0);
  });

  it('a backend that cannot shorten its vectors (KoboldCpp) is a 400 naming dimensions; without it, the same model answers', async () => {
    const error = await client.embeddings.create({ model: 'kobold', input: 'alpha', dimensions: 256 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    const refused = error as InstanceType<typeof OpenAI.APIError>;
    expect(refused.param).toBe('dimensions');
    expect(refused.code).toBe('capability_not_supported');
    expect(refused.message).toMatch(/model "kobold" does not support embeddings with `dimensions`/);
    expect(kobold.requests).toHaveLength(0);

    const plain = await client.embeddings.create({ model: 'kobold', input: 'alpha', encoding_format: 'float' });
    expect(plain.data[0]!.embedding.length).toBeGreaterThan(0);
  });
});
