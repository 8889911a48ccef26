/**
 * A client's `response_format` schema through the gateway: a draft-07 tuple
 * (the AI SDK's `generateObject` with `z.tuple`) validated as draft-07 and
 * sent on as written, a catastrophic `pattern` that fails the answer after a
 * bounded time instead of blocking the gateway, and an answer that is not
 * JSON quoted so that the upstream key in it is scrubbed. The emulators behind.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { generateObject } from 'ai';
import { z } from '@aegis/core';
import { backendsYaml, startBackends, startGateway, UPSTREAM_ENV, type Backends, type RunningGateway } from './__tests__/harness.js';

let backends: Backends;
let running: RunningGateway;

beforeAll(async () => {
  backends = await startBackends();
  running = await startGateway(backendsYaml(backends));
});
afterAll(async () => {
  await running?.close();
  await backends?.close();
});
beforeEach(() => {
  backends.openai.reset();
  backends.ollama.reset();
});

async function chat(body: Record<string, unknown>): Promise<{ status: number; json: any }> {
  const res = await fetch(`${running.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: await res.json() };
}

const Point = z.object({ point: z.tuple([z.number(), z.number()]) });

describe('a draft-07 schema from a client', () => {
  it('generateObject with z.tuple: the AI SDK\'s draft-07 schema reaches the backend as written, the answer is checked as draft-07', async () => {
    const provider = createOpenAICompatible({ name: 'aegis', baseURL: `${running.url}/v1`, apiKey: 'unused', supportsStructuredOutputs: true });
    backends.openai.setReply({ text: '{"point":[3,-4]}' });
    const { object } = await generateObject({ model: provider.chatModel('chat'), schema: Point, prompt: 'A point', maxRetries: 0 });
    expect(object).toEqual({ point: [3, -4] });
    const sent = backends.openai.lastRequest!.json.response_format.json_schema.schema;
    expect(sent.$schema).toBe('http://json-schema.org/draft-07/schema#');
    expect(sent.properties.point).toMatchObject({ items: [{ type: 'number' }, { type: 'number' }] });

    // Through Ollama too (`format`), with the same schema.
    backends.ollama.setReply({ text: '{"point":[1,2]}' });
    const viaOllama = await generateObject({ model: provider.chatModel('llama'), schema: Point, prompt: 'A point', maxRetries: 0 });
    expect(viaOllama.object).toEqual({ point: [1, 2] });
    expect(backends.ollama.lastRequest!.json.format.$schema).toBe('http://json-schema.org/draft-07/schema#');
  });

  it('an answer off the tuple is the gateway\'s 502, with draft-07\'s reason', async () => {
    const schema = z.toJSONSchema(Point, { target: 'draft-7' });
    expect(schema).toMatchObject({ $schema: 'http://json-schema.org/draft-07/schema#', properties: { point: { items: [{}, {}] } } });
    backends.openai.setReply({ text: '{"point":[1,"2"]}' });
    const off = await chat({ model: 'chat', messages: [{ role: 'user', content: 'x' }], response_format: { type: 'json_schema', json_schema: { name: 'p', schema } } });
    expect(off.status).toBe(502);
    expect(off.json.error.message).toContain('/point/1: must be number');
  });
});

describe('a catastrophic pattern in a client\'s schema', () => {
  it('fails the answer with the pattern named, after the time limit, and the gateway answers again', async () => {
    backends.openai.setReply({ text: JSON.stringify({ x: `${'a'.repeat(39)}!` }) });
    const schema = { type: 'object', properties: { x: { type: 'string', pattern: '^(a+)+$' } }, required: ['x'] };
    const evil = await chat({ model: 'chat', messages: [{ role: 'user', content: 'x' }], response_format: { type: 'json_schema', json_schema: { name: 'r', schema } } });
    expect(evil.status).toBe(502);
    expect(evil.json.error).toMatchObject({ code: 'invalid_structured_output' });
    expect(evil.json.error.message).toContain('the pattern "^(a+)+$" took too long on the answer');

    backends.openai.setReply({ text: '{"x":"aaaa"}' });
    const fine = await chat({ model: 'chat', messages: [{ role: 'user', content: 'x' }], response_format: { type: 'json_schema', json_schema: { name: 'r', schema } } });
    expect(fine.status).toBe(200);
    expect(fine.json.choices[0].message.content).toBe('{"x":"aaaa"}');
  });
});

describe('an answer that is not JSON', () => {
  it('is quoted cut with "…": the upstream key straddling the cut is scrubbed from the error', async () => {
    const key = UPSTREAM_ENV.UPSTREAM_KEY;
    backends.openai.setReply({ text: `${'x'.repeat(110)}${key}` });
    const cut = await chat({ model: 'chat', messages: [{ role: 'user', content: 'x' }], response_format: { type: 'json_object' } });
    expect(cut.status).toBe(502);
    const message: string = cut.json.error.message;
    expect(message).toContain("(Unexpected token 'x' at position 0)");
    // The quote's 120 characters end 10 characters into the key: that piece is scrubbed before the cut.
    expect(message).toContain(`"${'x'.repeat(110)}***…"`);
    expect(message).not.toContain(key.slice(0, 8));
  });
});
