/**
 * A member's answer that misses the response schema (StructuredOutputError)
 * moves a fallback on only when its `fallback_on` lists `structured_output`.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { StructuredOutputError, z } from '@aegis/core';
import { createTestAegis, rejection, startOllamaEmulator, type Emulator, type TestAegis } from '@aegis/testkit';
import ollama from '@aegis/provider-ollama';
import routerPlugins from './index.js';

const City = z.object({ city: z.string() });
const ask = [{ role: 'user' as const, content: 'Which city?' }];

let sloppy: Emulator;
let exact: Emulator;
let test: TestAegis;

beforeAll(async () => {
  [sloppy, exact] = await Promise.all([startOllamaEmulator(), startOllamaEmulator()]);
  test = createTestAegis({
    plugins: [ollama, ...routerPlugins],
    profiles: [
      { profile_name: 'sloppy', type: 'ollama', base_url: sloppy.url, model: 'llama3.2', max_retries: 0 },
      { profile_name: 'exact', type: 'ollama', base_url: exact.url, model: 'llama3.2', max_retries: 0 },
      { profile_name: 'strict_chain', type: 'fallback', profiles: ['sloppy', 'exact'], fallback_on: ['connection', 'structured_output'] },
      { profile_name: 'default_chain', type: 'fallback', profiles: ['sloppy', 'exact'] },
    ],
  });
});

afterAll(async () => {
  test.close();
  await Promise.all([sloppy.close(), exact.close()]);
});

beforeEach(() => {
  sloppy.reset();
  exact.reset();
  sloppy.setReply({ text: '{"town": "Oslo"}' });
  exact.setReply({ text: '{"city": "Oslo"}' });
});

describe('fallback_on: structured_output', () => {
  it('moves on to the next member when configured, and returns its typed object', async () => {
    const { object } = await (await test.provider('strict_chain')).getObject(ask, { schema: City });
    expect(object).toEqual({ city: 'Oslo' });
    expect([sloppy.requests.length, exact.requests.length]).toEqual([1, 1]);
    // The schema reached each member in its own wire form.
    expect(exact.lastRequest!.json.format).toMatchObject({ properties: { city: { type: 'string' } } });
  });

  it('is not in the default: the member’s StructuredOutputError is thrown, with its raw text', async () => {
    const error = await rejection((await test.provider('default_chain')).getObject(ask, { schema: City }));
    expect(StructuredOutputError.isInstance(error)).toBe(true);
    expect((error as StructuredOutputError).text).toBe('{"town": "Oslo"}');
    expect(exact.requests).toHaveLength(0);
  });
});
