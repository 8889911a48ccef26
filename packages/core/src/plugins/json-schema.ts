import { z } from 'zod';
import type { AegisPlugin } from './define-plugin.js';
import { httpSectionSchema } from '../config/http-section.js';

type JsonSchema = Record<string, unknown>;

/**
 * The JSON Schema of one plugin's profile (input form: fields with defaults
 * are optional). `written`: as the values may be written in backends.yaml
 * (see asWritten; for editors), not as they are checked once substituted
 * (what a plugin ships, description.ts).
 */
export function profileJsonSchema(plugin: AegisPlugin, options: { written?: boolean } = {}): JsonSchema {
  const plain = z.toJSONSchema(plugin.configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const schema = options.written ? asWritten(plain) : plain;
  delete schema.$schema;
  const properties = { ...(schema.properties as Record<string, JsonSchema> | undefined) };
  properties.type = { const: plugin.type, description: plugin.description ?? `provider type ${plugin.type}` };
  return { ...schema, properties, additionalProperties: false, title: `${plugin.type} profile` };
}

/** The `http:` section (the connection pool every profile shares). */
function httpJsonSchema(): JsonSchema {
  const schema = asWritten(z.toJSONSchema(httpSectionSchema, { io: 'input' }) as JsonSchema);
  delete schema.$schema;
  return { ...schema, description: 'the connection pool every profile of the file shares' };
}

/**
 * A JSON Schema for a whole backends.yaml, built from the installed plugins'
 * zod schemas, for editors (yaml-language-server) to complete and check profiles.
 */
export function backendsJsonSchema(plugins: readonly AegisPlugin[]): JsonSchema {
  const defs: Record<string, JsonSchema> = {};
  for (const plugin of plugins) defs[`profile_${plugin.type}`] = profileJsonSchema(plugin, { written: true });
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

/** A `${VAR}` reference somewhere in a string: what it stands for is only known once it is substituted. */
const REFERENCE: JsonSchema = { type: 'string', pattern: '\\$\\{' };
/** What the loader takes for a number or a boolean written as a string (config/validate.ts coerces them). */
const NUMBER_TEXT: JsonSchema = { type: 'string', pattern: '^\\s*[+-]?(\\d+(\\.\\d*)?|\\.\\d+)([eE][+-]?\\d+)?\\s*$' };
const BOOLEAN_TEXT: JsonSchema = { type: 'string', pattern: '^\\s*(true|false|yes|no|on|off|True|False|Yes|No|On|Off|TRUE|FALSE|YES|NO|ON|OFF)\\s*$' };

/**
 * The schema of a value as it may be written in backends.yaml, so an editor
 * flags no more than `aegis validate` does: a number or a boolean may be
 * written as a string (`temperature: "0.3"`), and any checked value (a number,
 * a URL, one of a list) may be a `${VAR}` reference, checked once substituted.
 */
function asWritten(schema: JsonSchema): JsonSchema {
  const out: JsonSchema = { ...schema };
  for (const key of ['properties', '$defs'] as const) {
    const children = out[key] as Record<string, JsonSchema> | undefined;
    if (children) out[key] = Object.fromEntries(Object.entries(children).map(([name, child]) => [name, asWritten(child)]));
  }
  for (const key of ['items', 'additionalProperties'] as const) {
    const child = out[key];
    if (child && typeof child === 'object') out[key] = asWritten(child as JsonSchema);
  }
  for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
    const branches = out[key] as JsonSchema[] | undefined;
    if (branches) out[key] = branches.map(asWritten);
  }
  const type = out.type;
  const alternatives: JsonSchema[] = [];
  if (type === 'number' || type === 'integer') alternatives.push(NUMBER_TEXT, REFERENCE);
  else if (type === 'boolean') alternatives.push(BOOLEAN_TEXT, REFERENCE);
  else if (type === 'string' && (out.format !== undefined || out.pattern !== undefined || out.enum !== undefined || out.minLength !== undefined)) alternatives.push(REFERENCE);
  else if (type === undefined && (out.enum !== undefined || out.const !== undefined)) alternatives.push(REFERENCE);
  if (alternatives.length === 0) return out;
  // The description stays on the outside, where an editor shows it.
  const { description, default: fallback, ...checked } = out;
  return { ...(description === undefined ? {} : { description }), ...(fallback === undefined ? {} : { default: fallback }), anyOf: [checked, ...alternatives] };
}
