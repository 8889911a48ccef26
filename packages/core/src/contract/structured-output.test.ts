/**
 * Checking a JSON answer against a JSON Schema: in the schema's own draft
 * (draft-07 tuples, as zod-to-json-schema and the AI SDK write them), with
 * its patterns under a time limit (a catastrophic one fails the answer
 * instead of blocking the event loop), and a quote of an answer that is not
 * JSON the secret scrubber can clean. Through a real loopback backend where a
 * call is made.
 */
import http from 'node:http';
import { z } from 'zod';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { BackendProvider, type ProviderContext } from './provider.js';
import { BaseBackendConfig } from './base-config.js';
import type { CallSettings } from './runtime.js';
import type { ChatMessage } from './messages.js';
import type { ProviderCompletion } from './tool-calls.js';
import { faultPosition, parseJson, structuredCheck } from './structured-output.js';
import { PATTERN_TIME_LIMIT_MS } from './safe-regexp.js';
import type { JsonSchema } from './tools.js';
import { HttpClient } from '../http/client.js';
import { StructuredOutputError } from '../errors/structured-output-error.js';
import { SecretScrubber } from '../secrets/scrubber.js';
import { listenOnLoopback, type Loopback } from '../__tests__/loopback.js';

/** What the backend answers, and the request bodies it got. */
let answer = '';
const bodies: any[] = [];
let loopback: Loopback;
let url: string;
const client = new HttpClient();

beforeAll(async () => {
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      bodies.push(JSON.parse(body));
      res.end(JSON.stringify({ text: answer, finishReason: 'stop' }));
    });
  });
  loopback = await listenOnLoopback(server);
  url = `${loopback.base}/chat`;
});
afterAll(async () => {
  await loopback.close();
  client.destroy();
});
beforeEach(() => {
  bodies.length = 0;
  answer = '';
});

/** Sends the call's response format as it reaches a plugin; returns the backend's text. */
class JsonProvider extends BackendProvider {
  protected override async doCompletion(messages: ChatMessage[], s: CallSettings): Promise<ProviderCompletion> {
    const { body } = await this.context.http.postJson<ProviderCompletion>(url, { messages, responseFormat: s.responseFormat }, this.requestOptions(s));
    return body;
  }
}

const SECRET = 'sk-live-Q7w8E9r0T1y2U3i4O5p6A7s8D9f0G1h2J3k4';
const secrets = new SecretScrubber();
secrets.add(SECRET);

function provider(Class: typeof JsonProvider = JsonProvider): JsonProvider {
  const config = BaseBackendConfig.parse({ profile_name: 'so', type: 'json', max_retries: 0 });
  const context: ProviderContext = {
    profileName: 'so',
    providerType: 'json',
    capabilities: ['completion', 'structured_output'],
    http: client,
    secrets,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    getProvider: () => Promise.reject(new Error('none')),
  };
  return new Class(config, context);
}

const ask: ChatMessage[] = [{ role: 'user', content: 'A point?' }];

async function failure(promise: Promise<unknown>): Promise<StructuredOutputError> {
  try {
    await promise;
  } catch (error) {
    if (StructuredOutputError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a StructuredOutputError');
}

async function check(schema: JsonSchema, text: string): Promise<unknown> {
  const checker = structuredCheck({ type: 'json', schema })!;
  await checker.ready();
  return checker.check(text);
}

/** A tuple of two numbers as draft-07 writes it (zod-to-json-schema, the AI SDK's zod 3 schemas). */
const DRAFT7_POINT = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  type: 'object',
  properties: { point: { type: 'array', items: [{ type: 'number' }, { type: 'number' }], additionalItems: false, minItems: 2, maxItems: 2 } },
  required: ['point'],
  additionalProperties: false,
};

describe('a JSON Schema is validated in its own draft', () => {
  it('getObject with a draft-07 tuple: the schema reaches the backend as written, the answer is checked as draft-07', async () => {
    answer = '{"point": [1.5, -2]}';
    const { object } = await provider().getObject(ask, { schema: DRAFT7_POINT, name: 'point' });
    expect(object).toEqual({ point: [1.5, -2] });
    expect(bodies[0].responseFormat).toEqual({ type: 'json', schema: DRAFT7_POINT, name: 'point' });

    // Each member of the tuple has its own schema, and nothing may follow them (additionalItems: false).
    answer = '{"point": ["a", 2]}';
    expect((await failure(provider().getObject(ask, { schema: DRAFT7_POINT }))).issues).toEqual([{ path: '/point/0', message: 'must be number' }]);
    answer = '{"point": [1, 2, 3]}';
    const extra = await failure(provider().getObject(ask, { schema: DRAFT7_POINT }));
    expect(extra.issues.map((i) => i.path)).toContain('/point');
    expect(extra.message).toMatch(/must NOT have more than 2 items/);
  });

  it('a tuple written as a list of items is draft-07 without a $schema too; 2020-12 tuples (prefixItems) still work', async () => {
    const { $schema: _, ...undeclared } = DRAFT7_POINT;
    await expect(check(undeclared, '{"point":[1,2]}')).resolves.toEqual({ point: [1, 2] });
    expect((await failure(check(undeclared, '{"point":[1,"b"]}'))).issues).toEqual([{ path: '/point/1', message: 'must be number' }]);

    const nested = { type: 'object', properties: { path: { type: 'array', items: { type: 'array', items: [{ type: 'string' }, { type: 'integer' }], additionalItems: false } } } };
    await expect(check(nested, '{"path":[["a",1],["b",2]]}')).resolves.toEqual({ path: [['a', 1], ['b', 2]] });
    await expect(failure(check(nested, '{"path":[["a",1,true]]}'))).resolves.toBeInstanceOf(StructuredOutputError);

    const modern = { type: 'array', prefixItems: [{ type: 'string' }, { type: 'number' }], items: false };
    await expect(check(modern, '["a", 1]')).resolves.toEqual(['a', 1]);
    expect((await failure(check(modern, '["a", 1, 2]'))).issues[0]!.message).toMatch(/must NOT have more than 2 items/);
    const declared = { $schema: 'https://json-schema.org/draft/2020-12/schema', ...modern };
    await expect(check(declared, '["a", 1]')).resolves.toEqual(['a', 1]);
    // A list of items in a schema that says it is 2020-12 is invalid there: a TypeError before any request.
    await expect(check({ $schema: 'https://json-schema.org/draft/2020-12/schema', type: 'array', items: [{ type: 'string' }] }, '["a"]')).rejects.toThrow(TypeError);
  });

  it('two schemas with the same $id, one after the other: each is compiled and used', async () => {
    await expect(check({ $id: 'https://example.com/answer', type: 'string' }, '"a"')).resolves.toBe('a');
    await expect(check({ $id: 'https://example.com/answer', type: 'number' }, '2')).resolves.toBe(2);
  });
});

describe('patterns run under a time limit', () => {
  const evil = { type: 'object', properties: { x: { type: 'string', pattern: '^(a+)+$' } }, required: ['x'] };

  it('a catastrophic pattern on a 40-character answer fails the answer, naming the pattern, instead of running for hours', async () => {
    answer = JSON.stringify({ x: `${'a'.repeat(39)}!` });
    const error = await failure(provider().getCompletion(ask, { responseFormat: { type: 'json', schema: evil } }));
    expect(error.message).toContain(`the pattern "^(a+)+$" took too long on the answer (more than ${PATTERN_TIME_LIMIT_MS} ms`);
    expect(error.issues).toEqual([{ path: '', message: expect.stringContaining('took too long') }]);
    expect(error.text).toBe(answer);

    // The same schema on a fine answer, and a mismatch it finds quickly.
    answer = '{"x": "aaaa"}';
    expect((await provider().getCompletion(ask, { responseFormat: { type: 'json', schema: evil } })).object).toEqual({ x: 'aaaa' });
    answer = '{"x": "ab"}';
    expect((await failure(provider().getCompletion(ask, { responseFormat: { type: 'json', schema: evil } }))).issues).toEqual([
      { path: '/x', message: 'must match pattern "^(a+)+$"' },
    ]);
  });

  it('patternProperties and propertyNames go through the same engine', async () => {
    const byName = { type: 'object', patternProperties: { '^(a+)+$': { type: 'number' } } };
    const error = await failure(check(byName, JSON.stringify({ [`${'a'.repeat(39)}!`]: 1 })));
    expect(error.message).toMatch(/the pattern "\^\(a\+\)\+\$" took too long/);
    const names = { type: 'object', propertyNames: { pattern: '^(a+)+$' } };
    expect((await failure(check(names, JSON.stringify({ [`${'a'.repeat(39)}!`]: 1 })))).message).toMatch(/took too long/);
  });

  it('ordinary patterns validate as before, each its own (two patterns of one schema are not mixed up)', async () => {
    const schema = {
      type: 'object',
      properties: { code: { type: 'string', pattern: '^[A-Z]{3}$' }, zip: { type: 'string', pattern: '^\\d{5}$' } },
      patternProperties: { '^x-': { type: 'string' } },
      required: ['code', 'zip'],
    };
    await expect(check(schema, '{"code":"EUR","zip":"75001","x-a":"b"}')).resolves.toEqual({ code: 'EUR', zip: '75001', 'x-a': 'b' });
    expect((await failure(check(schema, '{"code":"75001","zip":"EUR","x-a":1}'))).issues).toEqual([
      { path: '/code', message: 'must match pattern "^[A-Z]{3}$"' },
      { path: '/zip', message: 'must match pattern "^\\d{5}$"' },
      { path: '/x-a', message: 'must be string' },
    ]);
  });
});

describe('an answer that is not JSON', () => {
  it('quotes its start cut with "…", so a secret straddling the cut is scrubbed; V8\'s own quote is left out', async () => {
    answer = `${'x'.repeat(100)}${SECRET}`;
    const cut = await failure(provider().getCompletion(ask, { responseFormat: { type: 'json' } }));
    expect(cut.message).toContain(`(Unexpected token 'x' at position 0): "${'x'.repeat(100)}***…"`);
    for (let i = 0; i + 8 <= SECRET.length; i++) expect(cut.message).not.toContain(SECRET.slice(i, i + 8));

    answer = `${SECRET} is the key`;
    const start = await failure(provider().getCompletion(ask, { responseFormat: { type: 'json' } }));
    expect(start.message).toContain(`(Unexpected token 's' at position 0): "*** is the key"`);
    expect(start.message).not.toContain('sk-live');
    expect(start.issues).toEqual([{ path: '', message: "not valid JSON: Unexpected token 's' at position 0" }]);
  });

  it('says where the fault is', () => {
    const message = (text: string): string => {
      try {
        parseJson(text);
      } catch (error) {
        return (error as StructuredOutputError).issues[0]!.message;
      }
      throw new Error('parsed');
    };
    expect(message('{"a": 1, "b": sk-live-Q7w8E9r0}')).toBe("not valid JSON: Unexpected token 's' at position 14");
    expect(message('{"a" 1}')).toBe("not valid JSON: Expected ':' after property name in JSON at position 5");
    expect(message('{"a":')).toBe('not valid JSON: Unexpected end of JSON input');
    expect(message('```json\n[1,]\n```')).toBe("not valid JSON: Unexpected token ']' at position 3");
  });

  it('faultPosition finds the character JSON.parse calls an unexpected token, and nothing in JSON', () => {
    // Deterministic pseudo-random texts from JSON's own characters.
    let seed = 42;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const pieces = ['{', '}', '[', ']', ',', ':', '"', '"a"', '1', '-', '0', '.5', 'e3', 'true', 'tru', 'null', ' ', '\\', '\\u00e9', 'x', "'"];
    let tokens = 0;
    let valid = 0;
    for (let n = 0; n < 5_000; n++) {
      let text = '';
      for (let k = random(8) + 1; k > 0; k--) text += pieces[random(pieces.length)];
      let message: string;
      try {
        JSON.parse(text);
        valid++;
        expect(faultPosition(text)).toBeUndefined();
        continue;
      } catch (error) {
        message = (error as Error).message;
      }
      const at = faultPosition(text);
      expect(at).toBeDefined();
      const token = /^Unexpected token '([\s\S])'/.exec(message);
      if (token) {
        tokens++;
        expect([text, text[at!]]).toEqual([text, token[1]]);
      }
      const position = /at position (\d+)/.exec(message);
      if (position && /^Unexpected (non-whitespace|number)/.test(message)) expect([text, at]).toEqual([text, Number(position[1])]);
    }
    expect(tokens).toBeGreaterThan(250);
    expect(valid).toBeGreaterThan(25);
  });
});

describe("Ajv's registry, shared by every call of a draft", () => {
  const check = async (schema: JsonSchema, text: string) => {
    const c = structuredCheck({ type: 'json', schema })!;
    await c.ready();
    return c.check(text);
  };
  const plain: JsonSchema = { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] };

  it("a schema whose $id is the draft's meta-schema is refused, and later schemas of that draft still validate", async () => {
    await expect(check({ $id: 'https://json-schema.org/draft/2020-12/schema', type: 'object' }, '{}')).rejects.toThrow(/\$id .* is reserved/);
    await expect(check({ $id: 'http://json-schema.org/draft-07/schema#', items: [{}] }, '[1]')).rejects.toThrow(/\$id .* is reserved/);
    expect(await check({ ...plain, title: 'after' }, '{"a":"x"}')).toEqual({ a: 'x' });
    expect(await check({ $schema: 'http://json-schema.org/draft-07/schema#', ...plain, title: 'after' }, '{"a":"x"}')).toEqual({ a: 'x' });
  });

  it('nested $ids are not kept: the same ids in another schema compile again', async () => {
    const nested = (title: string): JsonSchema => ({ title, type: 'object', properties: { a: { $id: 'https://example.test/item', type: 'string' } }, required: ['a'] });
    expect(await check(nested('one'), '{"a":"x"}')).toEqual({ a: 'x' });
    expect(await check(nested('two'), '{"a":"y"}')).toEqual({ a: 'y' });
  });
});

/** A backend whose model declines: no JSON at all, its refusal in the result's `refusal`. */
class RefusingProvider extends JsonProvider {
  protected override async doCompletion(): Promise<ProviderCompletion> {
    return { text: '', refusal: 'I can not help with that.', finishReason: 'content_filter' };
  }
}

describe('a refusal', () => {
  it('is passed on by getCompletion as it is, without an object, not checked as JSON', async () => {
    const result = await provider(RefusingProvider).getCompletion(ask, { responseFormat: { type: 'json', schema: DRAFT7_POINT } });
    expect(result.refusal).toBe('I can not help with that.');
    expect('object' in result).toBe(false);
  });

  it('is a StructuredOutputError from getObject that names the refusal, not an answer that is not JSON', async () => {
    const error = await failure(provider(RefusingProvider).getObject(ask, { schema: DRAFT7_POINT }));
    expect(error.message).toBe('the model refused to answer: I can not help with that.');
    expect(error.text).toBe('I can not help with that.');
    expect(error.issues).toEqual([{ path: '', message: 'the model refused to answer' }]);
  });
});

describe('a zod schema', () => {
  it("getObject returns what the schema parses the answer to (defaults filled in, transforms applied), not the raw JSON", async () => {
    answer = '{"city": " Oslo "}';
    const schema = z.object({ city: z.string().transform((c) => c.trim()), days: z.number().default(1) });
    const result = await provider().getObject(ask, { schema });
    expect(result.object).toEqual({ city: 'Oslo', days: 1 });
  });
});
