import { describe, expect, it } from '@jest/globals';
import { z } from '@aegis/core';
import { parseRequest } from './validate.js';
import { parseChatRequest } from './chat.js';
import type { GatewayError } from '../errors.js';

function refusal(run: () => unknown): { status: number; message: string; param?: string; code?: string } {
  try {
    run();
  } catch (error) {
    const e = error as GatewayError;
    return { status: e.status, message: e.message, param: e.options.param, code: e.options.code };
  }
  throw new Error('expected a refusal');
}

const user = [{ role: 'user', content: 'Say hello.' }];

describe('request validation', () => {
  it('accepts a minimal chat request, and nulls where OpenAI allows them', () => {
    const request = parseChatRequest({ model: 'm', messages: user, temperature: null, stream: true, max_tokens: 5 });
    expect(request).toMatchObject({ model: 'm', stream: true, runtime: { maxTokens: 5 } });
    expect(request.runtime.temperature).toBeUndefined();
  });

  it('names a missing required parameter', () => {
    expect(refusal(() => parseChatRequest({ messages: user }))).toMatchObject({ status: 400, param: 'model', code: 'invalid_value' });
    expect(refusal(() => parseChatRequest({ model: 'm' }))).toMatchObject({ status: 400, param: 'messages' });
  });

  it('names the parameter inside the body that is wrong, with its path', () => {
    expect(refusal(() => parseChatRequest({ model: 'm', messages: [{ role: 'user', content: 5 }] }))).toMatchObject({
      param: 'messages[0].content',
      message: expect.stringContaining('Invalid value for "messages[0].content"'),
    });
    expect(refusal(() => parseChatRequest({ model: 'm', messages: user, temperature: 3 }))).toMatchObject({ param: 'temperature' });
    expect(refusal(() => parseChatRequest({ model: 'm', messages: [] }))).toMatchObject({ message: expect.stringContaining('at least one message') });
  });

  it('refuses an unknown parameter as OpenAI does, `__proto__` included', () => {
    expect(refusal(() => parseChatRequest({ model: 'm', messages: user, foo: 1 }))).toMatchObject({
      message: 'Unrecognized request argument supplied: foo',
      code: 'unknown_parameter',
    });
    const polluted = JSON.parse('{"model":"m","messages":[{"role":"user","content":"x"}],"__proto__":{"admin":true}}');
    expect(refusal(() => parseChatRequest(polluted))).toMatchObject({ param: '__proto__', code: 'unknown_parameter' });
  });

  it('refuses a parameter it cannot honour by name, and lets its neutral value through', () => {
    expect(refusal(() => parseChatRequest({ model: 'm', messages: user, logit_bias: { 1: 2 } }))).toMatchObject({ status: 400, param: 'logit_bias' });
    expect(refusal(() => parseChatRequest({ model: 'm', messages: user, frequency_penalty: 0.5 }))).toMatchObject({ param: 'frequency_penalty' });
    expect(parseChatRequest({ model: 'm', messages: user, frequency_penalty: 0, logprobs: false }).model).toBe('m');
  });

  it('applies a default to an absent parameter, as the object schema would', () => {
    const schema = z.object({ input: z.string(), format: z.string().default('json'), tag: z.string().optional() });
    expect(parseRequest(schema, { input: 'x' })).toEqual({ input: 'x', format: 'json' });
    expect(parseRequest(schema, { input: 'x', format: 'text', tag: 't' })).toEqual({ input: 'x', format: 'text', tag: 't' });
    expect(refusal(() => parseRequest(schema, { format: 'text' }))).toMatchObject({ param: 'input' });
  });
});
