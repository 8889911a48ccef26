import { describe, expect, it } from '@jest/globals';
import { z } from '@aegis/core';
import { parseRequest, type Settled } from './validate.js';
import { chatSchema, parseChatRequest, SETTLED } from './chat.js';
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

describe('parameters taken as they are', () => {
  const text = { role: 'user', content: 'hi' };
  const candidates: Record<string, unknown[]> = {
    model: ['m', '', 5, null, undefined, ['m'], { toString: () => 'm' }],
    stream: [true, false, null, undefined, 'true', 0, 1],
    messages: [
      [text],
      [text, { role: 'system', content: '', name: 'n' }, { role: 'assistant', content: 'a' }],
      [],
      [{ role: 'user', content: 5 }],
      [{ role: 'user', content: 'x', name: 5 }],
      [{ role: 'bogus', content: 'x' }],
      [{ role: 'user' }],
      [{ content: 'x' }],
      [{ role: 'user', content: 'x', extra: 1 }],
      [{ role: 'user', content: null }],
      [{ role: 'user', content: [{ type: 'text', text: 'x' }] }],
      [{ role: 'tool', content: 'x', tool_call_id: 'c' }],
      JSON.parse('[{"role":"user","content":"x","__proto__":{"admin":true}}]'),
      [Object.create({ role: 'user', content: 'x' })],
      [[text]],
      'hi',
      [null],
    ],
  };

  it('takes without the schema only values the schema returns unchanged', () => {
    let taken = 0;
    for (const [param, values] of Object.entries(candidates)) {
      for (const value of values) {
        const body = { model: 'm', messages: [text], [param]: value };
        const outcome = (settled: Settled) => {
          try {
            return { ok: parseRequest(chatSchema, body, {}, settled) };
          } catch (error) {
            return { refused: (error as GatewayError).message };
          }
        };
        const strict = outcome({});
        expect({ param, value, outcome: outcome(SETTLED) }).toEqual({ param, value, outcome: strict });
        if (SETTLED[param]!(value)) {
          expect({ param, value, ok: 'ok' in strict }).toEqual({ param, value, ok: true });
          taken++;
        }
      }
    }
    expect(taken).toBe(6);
  });
});

describe('messages as the contract carries them', () => {
  it("a tool message without a name is named after the call it answers (for backends that want the tool's name)", () => {
    const request = parseChatRequest({
      model: 'm',
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'call_1', content: '18 C' },
        { role: 'tool', tool_call_id: 'call_1', name: 'own_name', content: '18 C' },
      ],
    });
    expect(request.messages[1]).toMatchObject({ role: 'assistant', toolCalls: [{ id: 'call_1', name: 'get_weather', arguments: { city: 'Paris' } }] });
    expect(request.messages[2]).toEqual({ role: 'tool', content: '18 C', toolCallId: 'call_1', name: 'get_weather' });
    expect(request.messages[3]).toMatchObject({ name: 'own_name' });
  });

  it('text parts of a message are one text, joined by line breaks (not glued together)', () => {
    const parts = [{ type: 'text', text: 'Be brief.' }, { type: 'text', text: 'Answer in French.' }];
    const request = parseChatRequest({ model: 'm', messages: [{ role: 'system', content: parts }, { role: 'user', content: parts }] });
    expect(request.messages.map((m) => m.content)).toEqual(['Be brief.\nAnswer in French.', 'Be brief.\nAnswer in French.']);
  });
});

describe('tools, calls and images refused before any backend call', () => {
  const tool = (name: string) => ({ type: 'function', function: { name, parameters: { type: 'object', properties: {} } } });

  it('two tools with one name are a 400 naming the second (which one would the model call?)', () => {
    expect(refusal(() => parseChatRequest({ model: 'm', messages: user, tools: [tool('f'), tool('g'), tool('f')] }))).toMatchObject({ status: 400, param: 'tools[2].function.name', code: 'invalid_value' });
  });

  it("a call's empty arguments are no arguments; arguments that are not a JSON object are a 400 naming them", () => {
    const turn = (args: string) => ({
      model: 'm',
      messages: [...user, { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'now', arguments: args } }] }, { role: 'tool', tool_call_id: 'c1', content: '12:00' }],
    });
    for (const empty of ['', '  ']) expect(parseChatRequest(turn(empty)).messages[1]).toMatchObject({ toolCalls: [{ id: 'c1', name: 'now', arguments: {} }] });
    for (const bad of ['{', '[1]', '"x"'])
      expect(refusal(() => parseChatRequest(turn(bad)))).toMatchObject({ status: 400, param: 'messages[1].tool_calls[0].function.arguments', code: 'invalid_value' });
  });

  it('a data: image URL that is not data:image/<type>;base64 is a 400 naming it', () => {
    const image = (url: string) => ({ model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'what is it?' }, { type: 'image_url', image_url: { url } }] }] });
    for (const url of ['data:text/plain;base64,aGk=', 'data:image/png,rawbytes', 'data:,x'])
      expect(refusal(() => parseChatRequest(image(url)))).toMatchObject({ status: 400, param: 'messages[0].content[1].image_url.url', code: 'invalid_value' });
    expect(parseChatRequest(image('data:image/png;base64,iVBORw0KGgo=')).messages[0]!.content).toEqual([
      { type: 'text', text: 'what is it?' },
      { type: 'image', image: 'data:image/png;base64,iVBORw0KGgo=' },
    ]);
  });
});
