/**
 * A refusal (OpenAI's `message.refusal` / `delta.refusal`, `content` null) is
 * the model's answer apart from the text: `result.refusal` and `refusal-delta`
 * events, and with a JSON response format it is not checked as JSON (it is
 * not an answer that missed the schema, and asking again would meet it again).
 * The bodies are shaped as OpenAI's spec has them (`refusal` beside `content`).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { StructuredOutputError, type ChatMessage } from '@aegis/core';
import { collect, startReplayServer, type Emulator } from '@aegis/testkit';
import { z } from 'zod';
import { harness, rejection, type Harness } from './__tests__/harness.js';
import plugin from './index.js';

const REFUSAL = "I'm sorry, I cannot help with that.";
const completion = JSON.stringify({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1,
  model: 'gpt-4o',
  choices: [{ index: 0, message: { role: 'assistant', content: null, refusal: REFUSAL }, logprobs: null, finish_reason: 'stop' }],
  usage: { prompt_tokens: 5, completion_tokens: 9, total_tokens: 14 },
});
const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
const stream =
  chunk({ role: 'assistant', content: null, refusal: '' }) + chunk({ refusal: "I'm sorry, " }) + chunk({ refusal: 'I cannot help with that.' }) + chunk({}, 'stop') + 'data: [DONE]\n\n';

const ask: ChatMessage[] = [{ role: 'user', content: 'Say something you should not.' }];
const schema = z.object({ answer: z.string() });
let whole: Emulator;
let streamed: Emulator;
let h: Harness;

beforeAll(async () => {
  whole = await startReplayServer([{ body: completion }]);
  streamed = await startReplayServer([{ body: stream }]);
  const base = { type: 'openai', api_key: 'sk-test-refusal-0000', model: 'gpt-4o', max_retries: 2 };
  h = harness(plugin, [
    { ...base, profile_name: 'whole', base_url: whole.baseUrl },
    { ...base, profile_name: 'streamed', base_url: streamed.baseUrl },
  ]);
});
afterAll(async () => {
  h.close();
  await whole.close();
  await streamed.close();
});
beforeEach(() => {
  whole.reset();
  streamed.reset();
});

describe('a refusal', () => {
  it('is result.refusal, not the text', async () => {
    const result = await (await h.provider('whole')).getCompletion(ask);
    expect(result.refusal).toBe(REFUSAL);
    expect(result.text).toBe('');
    expect(result.finishReason).toBe('stop');
  });

  it('with a JSON response format: passed on without an object, not checked, not retried', async () => {
    const result = await (await h.provider('whole')).getCompletion(ask, { responseFormat: { type: 'json', schema } });
    expect(result.refusal).toBe(REFUSAL);
    expect('object' in result).toBe(false);
    expect(whole.requests).toHaveLength(1);
  });

  it('getObject: a StructuredOutputError saying the model refused, sent once', async () => {
    const e = await rejection((await h.provider('whole')).getObject(ask, { schema }));
    expect(StructuredOutputError.isInstance(e)).toBe(true);
    expect((e as StructuredOutputError).message).toContain(`the model refused to answer: ${REFUSAL}`);
    expect((e as StructuredOutputError).text).toBe(REFUSAL);
    expect((e as StructuredOutputError).retryable).toBe(false);
    expect(whole.requests).toHaveLength(1);
  });

  it('streamed: refusal-delta events and result.refusal; no text deltas; JSON format not checked', async () => {
    const stream = (await h.provider('streamed')).streamCompletion(ask, { responseFormat: { type: 'json', schema } });
    const events = await collect(stream.events());
    expect(events.filter((e) => e.type === 'refusal-delta').map((e) => (e as { text: string }).text)).toEqual(["I'm sorry, ", 'I cannot help with that.']);
    expect(events.some((e) => e.type === 'text-delta')).toBe(false);
    const result = await stream.result;
    expect(result.refusal).toBe(REFUSAL);
    expect(result.text).toBe('');
    expect('object' in result).toBe(false);
    expect(streamed.requests).toHaveLength(1);
  });
});
