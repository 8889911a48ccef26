import { describe, expect, it } from '@jest/globals';
import { parseMultipart, multipartBoundary } from './multipart.js';
import { sampleOf } from './json-sample.js';
import { replyFor } from './tools.js';
import type { RecordedRequest } from './types.js';
import { pyJson } from './pyjson.js';
import { renderText, splitIntoChunks } from './text.js';

describe('splitIntoChunks', () => {
  it('splits into word-ish chunks that join back to the text', () => {
    const text = 'Hello! This is  a test, isn\'t it?\n';
    const chunks = splitIntoChunks(text);
    expect(chunks.join('')).toBe(text);
    expect(chunks.slice(0, 3)).toEqual(['Hello', '!', ' This']);
  });
});

describe('renderText', () => {
  it('applies stop sequences before max tokens', () => {
    const r = renderText({ chunks: ['ab', 'cd', 'ef'] }, '', { stop: ['d'], maxTokens: 5 });
    expect(r).toMatchObject({ chunks: ['ab', 'c'], text: 'abc', finishReason: 'stop', stopSequence: 'd', completionTokens: 2 });
    expect(renderText({ text: 'a b c' }, '', { maxTokens: 1 })).toMatchObject({ text: 'a', finishReason: 'length' });
    expect(renderText({ text: 'x', finishReason: 'tool_calls' }, '')).toMatchObject({ finishReason: 'tool_calls' });
  });
});

describe('pyJson', () => {
  it('writes like Python json.dumps', () => {
    expect(pyJson({ a: [1, null, true], b: { c: 'é\n' } })).toBe('{"a": [1, null, true], "b": {"c": "\\u00e9\\n"}}');
  });
});

describe('parseMultipart', () => {
  it('parses text fields and binary file parts', () => {
    const boundary = '----aegis123';
    const bin = Buffer.from([0, 1, 2, 13, 10, 255]);
    const body = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n`),
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a b.wav"\r\nContent-Type: audio/wav\r\n\r\n`),
      bin,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    expect(multipartBoundary(`multipart/form-data; boundary="${boundary}"`)).toBe(boundary);
    const form = parseMultipart(body, boundary);
    expect(form.fields).toEqual({ model: 'whisper-1' });
    expect(form.files.file).toEqual({ filename: 'a b.wav', contentType: 'audio/wav', data: bin });
  });
});

describe('sampleOf', () => {
  it('answers a tuple with one item per position, in either dialect', () => {
    const pair = [{ type: 'number' }, { type: 'string' }];
    expect(sampleOf({ type: 'array', items: pair, additionalItems: false })).toEqual([1, 'x']);
    expect(sampleOf({ type: 'array', prefixItems: pair, items: false })).toEqual([1, 'x']);
    expect(sampleOf({ type: 'array', items: { type: 'boolean' }, minItems: 2 })).toEqual([true, true]);
  });
});

describe('replyFor', () => {
  const reply = { text: 'calling', toolCalls: [{ name: 'get_time', arguments: {} }], afterToolResults: { text: 'It is noon.' } };
  const request = (messages: unknown[]) => ({ json: { messages } }) as unknown as RecordedRequest;
  const results = [{ role: 'user', content: 'time?' }, { role: 'tool_result', content: '12:00' }];

  it('answers afterToolResults when the last message is a tool result: role "tool", or as the wire reader says', () => {
    expect(replyFor(request([{ role: 'tool', content: '12:00' }]), reply)).toBe(reply.afterToolResults);
    // A wire of its own (role "tool_result"): unseen by default, seen through the reader.
    expect(replyFor(request(results), reply)).toBe(reply);
    const wire = {
      toolNames: () => [],
      assistantCalls: () => [],
      toolResults: () => [],
      endsWithToolResults: (req: RecordedRequest) => (req.json.messages as { role: string }[]).at(-1)?.role === 'tool_result',
    };
    expect(replyFor(request(results), reply, wire)).toBe(reply.afterToolResults);
    expect(replyFor(request([{ role: 'user', content: 'time?' }]), reply, wire)).toBe(reply);
  });
});
