import { describe, expect, it } from '@jest/globals';
import { schemaDialect } from './schema-dialect.js';

describe('schemaDialect', () => {
  it('is the draft $schema names, however the URL is written', () => {
    expect(schemaDialect({ $schema: 'http://json-schema.org/draft-07/schema#' })).toBe('draft-07');
    expect(schemaDialect({ $schema: 'https://json-schema.org/draft-07/schema' })).toBe('draft-07');
    expect(schemaDialect({ $schema: 'http://json-schema.org/draft-04/schema#' })).toBe('draft-07');
    expect(schemaDialect({ $schema: 'https://json-schema.org/draft/2019-09/schema' })).toBe('2019-09');
    expect(schemaDialect({ $schema: 'https://json-schema.org/draft/2020-12/schema', items: [{}] })).toBe('2020-12');
  });

  it('is draft-07 for an undeclared schema with a list of items anywhere in it, else 2020-12', () => {
    expect(schemaDialect({ type: 'object', properties: { p: { type: 'array', items: [{ type: 'number' }] } } })).toBe('draft-07');
    expect(schemaDialect({ anyOf: [{ $defs: { t: { items: [{}] } } }] })).toBe('draft-07');
    expect(schemaDialect({ $schema: 'urn:unknown', items: [{}] })).toBe('draft-07');
    expect(schemaDialect({ type: 'array', prefixItems: [{}], items: false })).toBe('2020-12');
    // Data and name lists are not schemas: a property named "items", a default holding one, a dependency list.
    expect(
      schemaDialect({
        type: 'object',
        properties: { items: { type: 'array', items: { type: 'string' } } },
        required: ['items'],
        default: { items: [1, 2] },
        enum: [{ items: [] }],
        dependencies: { items: ['other'] },
      }),
    ).toBe('2020-12');
  });

  it('walks a deep schema without recursion, and a shared or cyclic object once', () => {
    let deep: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < 50_000; i++) deep = { items: deep };
    expect(schemaDialect(deep)).toBe('2020-12');
    const cyclic: Record<string, unknown> = { type: 'object' };
    cyclic.properties = { self: cyclic };
    expect(schemaDialect(cyclic)).toBe('2020-12');
  });
});
