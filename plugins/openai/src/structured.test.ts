/**
 * Strict mode only for schemas OpenAI's strict mode takes: a closed object at
 * the root, every property required, and only the keywords its Structured
 * Outputs guide lists (a schema it would refuse with a 400 goes non-strict,
 * and core still validates the answer against it).
 */
import { describe, expect, it } from '@jest/globals';
import { toJsonSchema } from '@aegis/core';
import { z } from 'zod';
import { isStrictCompatible, toWireResponseFormat } from './structured.js';

const closed = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  type: 'object',
  properties,
  required: Object.keys(properties),
  additionalProperties: false,
  ...extra,
});

describe('isStrictCompatible', () => {
  it('a zod object with every field required is strict (core closes z.object)', () => {
    const schema = toJsonSchema(z.object({ city: z.string(), at: z.object({ lat: z.number(), lon: z.number() }), tags: z.array(z.string()) }), 'test');
    expect(schema.additionalProperties).toBe(false);
    expect(isStrictCompatible(schema)).toBe(true);
    expect(toWireResponseFormat({ type: 'json', schema })).toMatchObject({ type: 'json_schema', json_schema: { strict: true } });
  });

  it('an optional or defaulted field, or an open nested object, is not strict', () => {
    expect(isStrictCompatible(toJsonSchema(z.object({ city: z.string().optional() }), 'test'))).toBe(false);
    expect(isStrictCompatible(toJsonSchema(z.object({ units: z.enum(['c', 'f']).default('c') }), 'test'))).toBe(false);
    expect(isStrictCompatible(closed({ at: { type: 'object', properties: { lat: { type: 'number' } }, required: ['lat'] } }))).toBe(false);
  });

  it('a nested object without properties is strict only when closed', () => {
    expect(isStrictCompatible(closed({ meta: { type: 'object' } }))).toBe(false);
    expect(isStrictCompatible(closed({ meta: { type: ['object', 'null'] } }))).toBe(false);
    expect(isStrictCompatible(closed({ meta: { type: 'object', additionalProperties: false } }))).toBe(true);
  });

  it('keywords strict mode refuses are not strict: minLength, default, allOf, a tuple', () => {
    expect(isStrictCompatible(toJsonSchema(z.object({ name: z.string().min(1) }), 'test'))).toBe(false);
    expect(isStrictCompatible(closed({ n: { type: 'number', default: 1 } }))).toBe(false);
    expect(isStrictCompatible(closed({ n: { allOf: [{ type: 'number' }] } }))).toBe(false);
    expect(isStrictCompatible(closed({ pair: { type: 'array', items: [{ type: 'number' }, { type: 'number' }] } }))).toBe(false);
  });

  it('the constraints strict mode lists are strict: pattern, format, bounds, minItems, anyOf, $defs', () => {
    const schema = closed(
      {
        code: { type: 'string', pattern: '^[A-Z]{3}$', description: 'IATA' },
        when: { type: 'string', format: 'date-time' },
        n: { type: 'integer', minimum: 0, exclusiveMaximum: 10, multipleOf: 2 },
        xs: { type: 'array', items: { $ref: '#/$defs/x' }, minItems: 1, maxItems: 3 },
        maybe: { anyOf: [{ type: 'string' }, { type: 'null' }] },
      },
      { $defs: { x: closed({ v: { type: 'boolean' } }) } },
    );
    expect(isStrictCompatible(schema)).toBe(true);
  });

  it('definitions (draft-07) are checked as $defs are', () => {
    const ref = { x: { $ref: '#/definitions/x' } };
    expect(isStrictCompatible(closed(ref, { definitions: { x: closed({ v: { type: 'boolean' } }) } }))).toBe(true);
    expect(isStrictCompatible(closed(ref, { definitions: { x: { type: 'object', properties: { v: { type: 'boolean' } } } } }))).toBe(false);
  });

  it('an untyped subschema (z.any(), z.unknown()) is not strict', () => {
    expect(isStrictCompatible(toJsonSchema(z.object({ data: z.any() }), 'test'))).toBe(false);
    expect(isStrictCompatible(toJsonSchema(z.object({ data: z.unknown() }), 'test'))).toBe(false);
    expect(isStrictCompatible(closed({ data: { description: 'anything' } }))).toBe(false);
  });

  it('a root that is not an object is not strict', () => {
    expect(isStrictCompatible({ type: 'array', items: { type: 'string' } })).toBe(false);
    expect(isStrictCompatible({ anyOf: [closed({ a: { type: 'string' } })] })).toBe(false);
  });

  it('z.looseObject and a catchall stay open (and so not strict)', () => {
    expect(toJsonSchema(z.looseObject({ a: z.string() }), 'test').additionalProperties).toEqual({});
    expect(isStrictCompatible(toJsonSchema(z.object({ a: z.string() }).catchall(z.number()), 'test'))).toBe(false);
  });
});

describe('toWireResponseFormat', () => {
  const schema = closed({ a: { type: 'string' } });

  it('JSON without a schema is json_object; text is nothing', () => {
    expect(toWireResponseFormat({ type: 'json' })).toEqual({ type: 'json_object' });
    expect(toWireResponseFormat({ type: 'text' })).toBeUndefined();
    expect(toWireResponseFormat(undefined)).toBeUndefined();
  });

  it('a schema goes as json_schema named "response" unless named; a name keeps letters, digits, "_" and "-", at most 64', () => {
    expect(toWireResponseFormat({ type: 'json', schema })).toEqual({ type: 'json_schema', json_schema: { name: 'response', schema, strict: true } });
    const named = (name: string) => (toWireResponseFormat({ type: 'json', schema, name }) as { json_schema: { name: string } }).json_schema.name;
    expect(named('car-description')).toBe('car-description');
    expect(named('my format!')).toBe('my_format_');
    expect(named('x'.repeat(70))).toBe('x'.repeat(64));
    expect(toWireResponseFormat({ type: 'json', schema, name: 'car', description: 'A car.' })).toMatchObject({ json_schema: { name: 'car', description: 'A car.' } });
  });
});
