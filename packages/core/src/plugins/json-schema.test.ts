import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { BackendProvider } from '../contract/provider.js';
import { BaseBackendConfig } from '../contract/base-config.js';
import { definePlugin } from './define-plugin.js';
import { backendsJsonSchema } from './json-schema.js';

class Nothing extends BackendProvider {}

const plugin = definePlugin({
  apiVersion: 1,
  type: 'probe',
  configSchema: BaseBackendConfig.extend({
    base_url: z.string().url(),
    model: z.string(),
    temperature: z.number().min(0).max(2).optional(),
    stream_usage: z.boolean().default(true),
    mode: z.enum(['fast', 'careful']).default('fast'),
  }),
  capabilities: ['completion'],
  create: (_config, context) => new Nothing({ profile_name: 'x', type: 'probe' } as never, context),
});

async function validator(): Promise<(value: unknown) => boolean> {
  const { default: Ajv2020 } = (await import('ajv/dist/2020.js')) as unknown as { default: new (options: object) => { compile(schema: object): (value: unknown) => boolean } };
  return new Ajv2020({ strict: false, validateFormats: false }).compile(backendsJsonSchema([plugin]));
}

describe('the editor schema of backends.yaml', () => {
  it('takes what aegis validate takes: ${VAR} references for checked values, numbers and booleans written as strings', async () => {
    const valid = await validator();
    const profile = (fields: Record<string, unknown>) => [{ profile_name: 'p', type: 'probe', base_url: 'http://127.0.0.1:1/v1', model: 'm', ...fields }];
    expect(valid(profile({}))).toBe(true);
    expect(valid(profile({ timeout: '${TIMEOUT:-600}', temperature: '0.3', stream_usage: 'yes', mode: '${MODE}', base_url: '${BASE_URL:-http://localhost:11434}' }))).toBe(true);
    expect(valid(profile({ temperature: 3 }))).toBe(false);
    expect(valid(profile({ timeout: 'soon' }))).toBe(false);
    expect(valid(profile({ stream_usage: 'maybe' }))).toBe(false);
    expect(valid(profile({ mode: 'reckless' }))).toBe(false);
    expect(valid(profile({ unknown_field: 1 }))).toBe(false);
  });

  it('keeps a field\'s description where an editor shows it', () => {
    const defs = backendsJsonSchema([plugin]).$defs as Record<string, { properties: Record<string, { description?: string; anyOf?: unknown[] }> }>;
    const timeout = defs.profile_probe!.properties.timeout!;
    expect(timeout.description).toMatch(/Deadline/);
    expect(timeout.anyOf).toHaveLength(3);
  });
});
