import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { formatIssue, type ConfigIssue } from '../errors/index.js';
import { secret } from '../secrets/index.js';
import { parseConfigText } from './load-config.js';
import { validateProfile } from './validate.js';

const FILE = 'backends.yaml';

const schema = z.object({
  profile_name: z.string(),
  type: z.string(),
  model: z.string(),
  timeout: z.number().optional(),
  stream: z.boolean().optional(),
  mode: z.enum(['chat', 'completion']).optional(),
  api_key: z.string().optional(),
  options: z.object({ num_ctx: z.number(), stop: z.array(z.number()).optional() }).optional(),
});

function profileOf(lines: string[], env: Record<string, string> = {}) {
  const config = parseConfigText(['- profile_name: p', '  type: t', ...lines, ''].join('\n'), FILE, env);
  expect(config.issues).toEqual([]);
  return config.profiles[0]!;
}

function issuesOf(lines: string[], s: z.ZodObject<any> = schema, env: Record<string, string> = {}): ConfigIssue[] {
  const result = validateProfile(profileOf(lines, env), s);
  if (result.ok) throw new Error(`expected validation to fail, got ${JSON.stringify(result.config)}`);
  return result.issues;
}

const formatted = (issues: ConfigIssue[]) => issues.map(formatIssue);

describe('validateProfile', () => {
  it('accepts a valid profile and returns the parsed config', () => {
    const result = validateProfile(profileOf(['  model: m']), schema);
    expect(result).toEqual({ ok: true, config: { profile_name: 'p', type: 't', model: 'm' } });
  });

  it('coerces strings to numbers and booleans', () => {
    const result = validateProfile(profileOf(['  model: m', '  timeout: "30"', '  stream: "yes"']), schema);
    expect(result).toEqual({ ok: true, config: { profile_name: 'p', type: 't', model: 'm', timeout: 30, stream: true } });
    const off = validateProfile(profileOf(['  model: m', '  stream: "False"']), schema);
    expect(off.ok && off.config['stream']).toBe(false);
  });

  it('coerces values that came from environment variables', () => {
    const result = validateProfile(profileOf(['  model: m', '  timeout: ${T}', '  stream: ${S}'], { T: '2.5', S: 'no' }), schema);
    expect(result.ok && result.config).toMatchObject({ timeout: 2.5, stream: false });
  });

  it('coerces at any depth: nested objects and lists', () => {
    const result = validateProfile(profileOf(['  model: m', '  options:', '    num_ctx: "4096"', '    stop: ["1", 2, "3e2"]']), schema);
    expect(result.ok && result.config['options']).toEqual({ num_ctx: 4096, stop: [1, 2, 300] });
  });

  it('coerces inside unions and through wrappers', () => {
    const s = z.object({
      profile_name: z.string(),
      type: z.string(),
      n: z.union([z.number(), z.literal('auto')]),
      d: z.number().default(1),
      i: z.number().int().min(1).nullable().optional(),
    });
    const result = validateProfile(profileOf(['  n: "7"', '  d: "2"', '  i: "3"']), s);
    expect(result).toEqual({ ok: true, config: { profile_name: 'p', type: 't', n: 7, d: 2, i: 3 } });
  });

  it('does not mutate the profile values or the schema', () => {
    const profile = profileOf(['  model: m', '  timeout: "30"']);
    const shapeBefore = Object.keys(schema.shape);
    validateProfile(profile, schema);
    expect(profile.values['timeout']).toBe('30');
    expect(Object.keys(schema.shape)).toEqual(shapeBefore);
    expect(schema.safeParse({ profile_name: 'p', type: 't', model: 'm', timeout: '30' }).success).toBe(false);
  });

  it('reports an unknown field with did-you-mean at the key line', () => {
    expect(formatted(issuesOf(['  modle: m']))).toEqual([
      `${FILE}:1:3: profile "p", field "model": missing required field; expected a string`,
      `${FILE}:3:3: profile "p", field "modle": unknown field "modle"; did you mean "model"?`,
    ]);
  });

  it('reports an unknown field without a close match by listing the allowed fields', () => {
    expect(formatted(issuesOf(['  model: m', '  colour: blue']))).toEqual([
      `${FILE}:4:3: profile "p", field "colour": unknown field "colour"; allowed fields: profile_name, type, model, timeout, stream, mode, api_key, options`,
    ]);
  });

  it('reports unknown nested fields with the nested path', () => {
    expect(formatted(issuesOf(['  model: m', '  options:', '    num_ctx: 1', '    num_ctxx: 2']))).toEqual([
      `${FILE}:6:5: profile "p", field "options.num_ctxx": unknown field "num_ctxx"; did you mean "num_ctx"?`,
    ]);
  });

  it('suggests the snake_case name for a camelCase key', () => {
    expect(issuesOf(['  model: m', '  Api-Key: x'])[0]!.message).toBe('unknown field "Api-Key"; did you mean "api_key"?');
  });

  it('reports a wrong type in plain words', () => {
    expect(formatted(issuesOf(['  model: m', '  timeout: abc']))).toEqual([
      `${FILE}:4:3: profile "p", field "timeout": expected a number, got a string "abc"`,
    ]);
    expect(issuesOf(['  model: [a]'])[0]!.message).toBe('expected a string, got a list');
    expect(issuesOf(['  model: m', '  stream: maybe'])[0]!.message).toBe('expected a boolean (true or false), got a string "maybe"');
  });

  it('reports nested wrong types with the dotted path and the nested line', () => {
    expect(formatted(issuesOf(['  model: m', '  options:', '    num_ctx: lots', '    stop: [1, x]']))).toEqual([
      `${FILE}:5:5: profile "p", field "options.num_ctx": expected a number, got a string "lots"`,
      `${FILE}:6:15: profile "p", field "options.stop[1]": expected a number, got a string "x"`,
    ]);
  });

  it('lists the allowed values of an enum', () => {
    expect(formatted(issuesOf(['  model: m', '  mode: chatt']))).toEqual([
      `${FILE}:4:3: profile "p", field "mode": expected one of "chat", "completion", got a string "chatt"`,
    ]);
  });

  it('lists the allowed values when an enum field is missing', () => {
    const s = z.object({ profile_name: z.string(), type: z.string(), mode: z.enum(['chat', 'completion']) });
    expect(issuesOf([], s)[0]!.message).toBe('missing required field; expected one of "chat", "completion"');
  });

  it('describes bounds', () => {
    const s = z.object({ profile_name: z.string(), type: z.string(), retries: z.number().int().min(0).max(5) });
    expect(issuesOf(['  retries: 9'], s)[0]!.message).toBe('expected a number at most 5, got the number 9');
  });

  it("uses the schema's own message for a format instead of the regular expression", () => {
    const DURATION = /^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$|^[-+]?(\d+(\.\d*)?|\.\d+)$/;
    const s = z.object({
      profile_name: z.string(),
      type: z.string(),
      keep_alive: z.union([z.number(), z.string().regex(DURATION, 'a duration such as "5m", "1h" or "-1"')]).optional(),
      code: z.string().regex(/^[A-Z]{3}$/, { error: 'Must be three capital letters' }).optional(),
      plain: z.string().regex(/^x+$/).optional(),
    });
    expect(formatted(issuesOf(['  keep_alive: forever'], s))).toEqual([
      `${FILE}:3:3: profile "p", field "keep_alive": expected a duration such as "5m", "1h" or "-1", got a string "forever"`,
    ]);
    expect(issuesOf(['  keep_alive: forever'], s)[0]!.message).not.toContain('(ns|us|');
    // A sentence rather than a description of the value.
    expect(issuesOf(['  code: abc'], s)[0]!.message).toBe('Must be three capital letters, got a string "abc"');
    // Without a message of its own, the pattern is all there is.
    expect(issuesOf(['  plain: y'], s)[0]!.message).toBe('expected a string matching /^x+$/, got a string "y"');
  });

  it("uses the schema's own message for other checks, and ours for zod's default messages", () => {
    const s = z.object({
      profile_name: z.string(),
      type: z.string(),
      retries: z.number().max(5, { message: 'at most 5 retries' }).optional(),
      mode: z.enum(['a', 'b'], { error: 'one of the two modes, "a" or "b"' }).optional(),
      url: z.url().optional(),
      count: z.number().int().optional(),
    });
    expect(issuesOf(['  retries: 9'], s)[0]!.message).toBe('expected at most 5 retries, got the number 9');
    expect(issuesOf(['  mode: c'], s)[0]!.message).toBe('expected one of the two modes, "a" or "b", got a string "c"');
    expect(issuesOf(['  url: nope'], s)[0]!.message).toBe('expected a valid URL, got a string "nope"');
    expect(issuesOf(['  count: many'], s)[0]!.message).toBe('expected a number, got a string "many"');
    expect(issuesOf(['  count: 1.5'], s)[0]!.message).toBe('expected an integer, got the number 1.5');
  });

  it('names the profile line for a missing required field', () => {
    expect(formatted(issuesOf([]))).toEqual([`${FILE}:1:3: profile "p", field "model": missing required field; expected a string`]);
  });

  it('reports all problems of a profile together, in file order, with the profile issues', () => {
    const issues = issuesOf(['  modle: m', '  timeout: soon', '  mode: x', '  api_key: ${KEY}', '  options:', '    num_ctx: big']);
    expect(issues.map((i) => [i.line, i.field])).toEqual([
      [1, 'model'],
      [3, 'modle'],
      [4, 'timeout'],
      [5, 'mode'],
      [6, 'api_key'],
      [8, 'options.num_ctx'],
    ]);
    expect(issues.find((i) => i.field === 'api_key')!.message).toMatch(/environment variable "KEY" is not set/);
  });

  it('accepts profile_name and type even when the schema does not list them', () => {
    const s = z.object({ model: z.string() });
    expect(validateProfile(profileOf(['  model: m']), s)).toEqual({ ok: true, config: { model: 'm' } });
  });

  it('lets a loose schema accept extra keys', () => {
    const s = z.looseObject({ profile_name: z.string(), type: z.string() });
    expect(validateProfile(profileOf(['  extra: 1']), s).ok).toBe(true);
  });
});

describe('validateProfile never shows secrets', () => {
  const CANARY = 'sk-canary-0123456789';
  const secretSchema = z.object({
    profile_name: z.string(),
    type: z.string(),
    api_key: z.number(), // wrong on purpose: the string value must not be echoed
    password: z.enum(['a', 'b']),
    bearer: secret(z.string().min(50)),
    auth: z.object({ token: z.boolean() }),
    model: z.enum(['x', 'y']),
  });

  it('omits the value of secret fields and of values from environment variables', () => {
    const issues = issuesOf(
      [
        '  api_key: ${API_KEY}',
        `  password: ${CANARY}`,
        '  bearer: ${API_KEY}',
        '  auth:',
        `    token: ${CANARY}`,
        '  model: ${API_KEY}',
      ],
      secretSchema,
      { API_KEY: CANARY },
    );
    expect(issues).toHaveLength(5);
    for (const issue of issues) {
      expect(formatIssue(issue)).not.toContain(CANARY);
      expect(formatIssue(issue)).not.toContain('sk-canary');
    }
    const byField = Object.fromEntries(issues.map((i) => [i.field, i.message]));
    expect(byField['api_key']).toBe('expected a number, got a string');
    expect(byField['password']).toBe('expected one of "a", "b", got a string');
    expect(byField['bearer']).toBe('expected at least 50 characters, got a string');
    expect(byField['auth.token']).toBe('expected a boolean (true or false), got a string');
    expect(byField['model']).toBe('expected one of "x", "y", got a string (from an environment variable; value not shown)');
  });

  it("does not use a schema's own message that would show a secret or a value from the environment", () => {
    const s = z.object({
      profile_name: z.string(),
      type: z.string(),
      api_key: z.string().regex(/^key-/, { error: (issue) => `not a key: ${String(issue.input)}` }),
      region: z.string().regex(/^eu-/, { error: (issue) => `an EU region, not ${String(issue.input)}` }),
    });
    const issues = issuesOf([`  api_key: ${CANARY}`, '  region: ${REGION}'], s, { REGION: 'us-canary-east' });
    const text = formatted(issues).join('\n');
    expect(text).not.toContain(CANARY);
    expect(text).not.toContain('us-canary-east');
    expect(Object.fromEntries(issues.map((i) => [i.field, i.message]))).toEqual({
      api_key: 'expected a string matching /^key-/, got a string',
      region: 'expected a string matching /^eu-/, got a string (from an environment variable; value not shown)',
    });
  });

  it("does not use a schema's own message that quotes a value from the environment held in a list", () => {
    const s = z.object({
      profile_name: z.string(),
      type: z.string(),
      labels: z.array(z.string()).max(1, { error: (issue) => `one label at most, not ${(issue.input as string[]).join(' and ')}` }),
    });
    const issues = issuesOf(['  labels:', '    - public', '    - ${LABEL}'], s, { LABEL: 'tok-canary-0123456789' });
    expect(formatted(issues).join('\n')).not.toContain('tok-canary');
    expect(issues.map((i) => [i.field, i.message])).toEqual([['labels', 'expected at most 1 item, got 2 items']]);
  });

  // A refinement's issue (zod code "custom") is the plugin's own message: vetted as a schema's own message is.
  it("a refinement's message that quotes a value from the environment or a secret field's value does not show it", () => {
    const s = z.object({
      profile_name: z.string(),
      type: z.string(),
      region: z.string().refine((v) => v.startsWith('eu-'), { error: (issue) => `an EU region, not ${String(issue.input)}` }),
      api_key: z.string().refine((v) => v.startsWith('key-'), { error: (issue) => `not a key: ${String(issue.input)}` }),
    });
    const issues = issuesOf(['  region: ${REGION}', `  api_key: ${CANARY}`], s, { REGION: 'us-canary-east' });
    expect(issues).toHaveLength(2);
    const text = formatted(issues).join('\n');
    expect(text).not.toContain('us-canary-east');
    expect(text).not.toContain(CANARY);
    expect(issues.map((i) => [i.field, i.message])).toEqual([
      ['region', "failed the plugin's check (its message would show a secret)"],
      ['api_key', "failed the plugin's check (its message would show a secret)"],
    ]);
    // A refinement's message that shows nothing hidden is the plugin's words, as written.
    const plain = issuesOf(['  region: us-east-1'], s.pick({ profile_name: true, type: true, region: true }));
    expect(plain.map((i) => i.message)).toEqual(['an EU region, not us-east-1']);
  });

  it('never shows a value typed where a key was meant (a missing space after the colon)', () => {
    const issues = issuesOf(['  model: m', '  api_key:sk-live-canary-0123456789: 1']);
    const text = JSON.stringify(issues) + formatted(issues).join('\n');
    expect(text).not.toContain('sk-live-canary');
    expect(formatted(issues)).toEqual([expect.stringContaining('field "api_key…": unknown field "api_key…"; did you mean "api_key"?')]);
  });
});
