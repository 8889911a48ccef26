import { z } from 'zod';
import type { AegisPlugin } from './define-plugin.js';
import { httpSectionSchema } from '../config/http-section.js';

type JsonSchema = Record<string, unknown>;

/** The JSON Schema of one plugin's profile (input form: fields with defaults are optional). */
export function profileJsonSchema(plugin: AegisPlugin): JsonSchema {
  const schema = z.toJSONSchema(plugin.configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  delete schema.$schema;
  const properties = { ...(schema.properties as Record<string, JsonSchema> | undefined) };
  properties.type = { const: plugin.type, description: plugin.description ?? `provider type ${plugin.type}` };
  return { ...schema, properties, additionalProperties: false, title: `${plugin.type} profile` };
}

/** The `http:` section (the connection pool every profile shares). */
function httpJsonSchema(): JsonSchema {
  const schema = z.toJSONSchema(httpSectionSchema, { io: 'input' }) as JsonSchema;
  delete schema.$schema;
  return { ...schema, description: 'the connection pool every profile of the file shares' };
}

/**
 * A JSON Schema for a whole backends.yaml, built from the installed plugins'
 * zod schemas, for editors (yaml-language-server) to complete and check profiles.
 */
export function backendsJsonSchema(plugins: readonly AegisPlugin[]): JsonSchema {
  const defs: Record<string, JsonSchema> = {};
  for (const plugin of plugins) defs[`profile_${plugin.type}`] = profileJsonSchema(plugin);
  const types = plugins.map((p) => p.type);
  const profile: JsonSchema = {
    type: 'object',
    required: ['profile_name', 'type'],
    properties: { profile_name: { type: 'string' }, type: { enum: types } },
    allOf: plugins.map((p) => ({
      if: { properties: { type: { const: p.type } }, required: ['type'] },
      then: { $ref: `#/$defs/profile_${p.type}` },
    })),
  };
  const profiles = { type: 'array', items: { $ref: '#/$defs/profile' } };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'AEGIS backends.yaml',
    oneOf: [
      profiles,
      {
        type: 'object',
        additionalProperties: false,
        properties: {
          plugins: { type: 'array', items: { type: 'string' }, description: 'plugin packages or local paths to load' },
          allow_plugins: { type: 'array', items: { type: 'string' }, description: 'the only plugin packages and paths that may be loaded' },
          profiles,
          http: httpJsonSchema(),
          gateway: { type: 'object', description: 'what `aegis serve` exposes, keys and limits (checked by @aegis/gateway)' },
        },
      },
    ],
    $defs: { profile, ...defs },
  };
}
