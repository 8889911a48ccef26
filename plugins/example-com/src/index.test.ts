import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createAegis, ProviderError, CapabilityNotSupportedError, type Aegis, type BackendProvider } from '@aegis/core';
import { startExampleComEmulator, type Emulator } from '@aegis/testkit';
import plugin from './index.js';

const KEY = 'ec-canary-key-9f8e7d';
let emulator: Emulator;
let aegis: Aegis;
let provider: BackendProvider;
let dir: string;
const hi = [{ role: 'user' as const, content: 'Say hello' }];

beforeAll(async () => {
  emulator = await startExampleComEmulator({ apiKey: KEY });
  dir = mkdtempSync(join(tmpdir(), 'aegis-example-com-'));
  writeFileSync(
    join(dir, 'backends.yaml'),
    [
      '- profile_name: example_com_default',
      '  type: example_com',
      `  llm_url: "${emulator.url}/v1/completion"`,
      '  api_key: ${EXAMPLE_COM_API_KEY}',
      '  model: example-model-v1',
      '  max_retries: 0',
      '- profile_name: wrong_key',
      '  type: example_com',
      `  llm_url: "${emulator.url}/v1/completion"`,
      '  api_key: not-the-key',
      '  max_retries: 0',
    ].join('\n'),
  );
  writeFileSync(join(dir, '.env'), `EXAMPLE_COM_API_KEY=${KEY}\n`);
  aegis = createAegis({ cwd: dir, env: {}, plugins: [plugin], discover: false });
  provider = await aegis.getProviderForProfile('example_com_default');
});

afterAll(async () => {
  aegis.close();
  await emulator.close();
  rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => emulator.reset());

async function failure(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(ProviderError.isInstance(error)).toBe(true);
  return error as ProviderError;
}

describe('aegis-provider-example-com', () => {
  it('gets a completion with the seed guide payload and the key from .env', async () => {
    emulator.setReply({ text: 'Hello from Example.com', promptTokens: 3, completionTokens: 4 });
    const result = await provider.getCompletion(hi);
    expect(result).toMatchObject({ text: 'Hello from Example.com', finishReason: 'stop', usage: { promptTokens: 3, completionTokens: 4 } });
    expect(emulator.lastRequest?.json).toMatchObject({ model: 'example-model-v1', prompt: 'Say hello', temp: 0.5 });
    expect(emulator.lastRequest?.headers.authorization).toBe(`Bearer ${KEY}`);
  });

  it('sends per-call settings over the profile defaults', async () => {
    await provider.getCompletion(hi, { temperature: 0.9, maxTokens: 12, stop: ['\n'] });
    expect(emulator.lastRequest?.json).toMatchObject({ temp: 0.9, max_tokens: 12, stop: ['\n'] });
  });

  it('streams deltas that add up to the final text', async () => {
    emulator.setReply({ chunks: ['Hel', 'lo', ', ', 'world'] });
    const stream = provider.streamCompletion(hi);
    const deltas: string[] = [];
    for await (const delta of stream) deltas.push(delta);
    expect(deltas).toEqual(['Hel', 'lo', ', ', 'world']);
    expect((await stream.result).text).toBe('Hello, world');
  });

  it('reports a truncated stream as an error with the partial text', async () => {
    emulator.setReply({ chunks: ['one ', 'two ', 'three'] });
    emulator.failNext({ kind: 'truncate', afterChunks: 2 });
    const stream = provider.streamCompletion(hi);
    const e = await failure(stream.result);
    expect(e.reason).toBe('truncated_stream');
    expect(e.partialText).toBe('one two ');
  });

  it('maps a wrong key to a 401 ProviderError naming the profile and URL, without the key', async () => {
    const wrong = await aegis.getProviderForProfile('wrong_key');
    const e = await failure(wrong.getCompletion(hi));
    expect(e.status).toBe(401);
    expect(e.retryable).toBe(false);
    expect(e.message).toContain('profile "wrong_key" (example_com)');
    expect(e.message).toContain(`${emulator.url}/v1/completion`);
    expect(e.message).not.toContain(KEY);
  });

  it('maps 429 with Retry-After and 500 as retryable', async () => {
    emulator.failNext({ kind: 'status', status: 429, retryAfter: '3' });
    const e429 = await failure(provider.getCompletion(hi));
    expect([e429.status, e429.retryable, e429.retryAfterMs]).toEqual([429, true, 3000]);
    emulator.failNext({ kind: 'status', status: 500 });
    const e500 = await failure(provider.getCompletion(hi));
    expect([e500.status, e500.retryable]).toEqual([500, true]);
  });

  it('rejects a body of the wrong shape', async () => {
    emulator.failNext({ kind: 'wrong-shape' });
    const e = await failure(provider.getCompletion(hi));
    expect(e.reason).toBe('bad_response');
    expect(e.message).toContain('data.choices[0].text');
  });

  it('does not offer embeddings, speech or transcription', async () => {
    for (const call of [() => provider.getEmbeddings(['x']), () => provider.getSpeech('x'), () => provider.getTranscription(new Uint8Array(4))]) {
      const e = await call().catch((err: unknown) => err);
      expect(CapabilityNotSupportedError.isInstance(e)).toBe(true);
    }
  });
});
