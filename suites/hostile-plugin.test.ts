/**
 * Hostile local plugins (issue "Security hardening", item 3 and the low items
 * on plugins): a package name that is a path out of the project, a symlink
 * out of it, a local folder claiming an allowed package's name, an entry point
 * that leads out of its folder, a factory that returns no provider, a stream
 * of numbers, an import that never settles, a shipped description with a
 * catastrophic regex or a `$ref` cycle. Each "evil" module writes a marker
 * file when it is imported: the marker's absence proves its code never ran.
 * The run that used to hang for ever (the regex) uses the built CLI in a child
 * process under a kill timer; the others run the CLI in-process.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { expectNoCanary, expectNoCanaryInCliOutputs, runCli } from './helpers.js';
import { CHILD_TEST_TIMEOUT_MS, hostileLayout, linkCore, linkIn, removeHostileLayouts, runCliChild } from './hostile-helpers.js';

afterAll(() => {
  expectNoCanaryInCliOutputs();
  removeHostileLayouts();
});

/** A module that leaves `marker` beside itself when imported, and exports a plugin-looking object for `type`. */
function evilModule(type: string): string {
  return [
    "import { writeFileSync } from 'node:fs';",
    "import { fileURLToPath } from 'node:url';",
    "writeFileSync(new URL('./IMPORTED', import.meta.url), 'the evil code ran');",
    `export default { apiVersion: 1, type: '${type}', capabilities: ['completion'], create() { return {}; } };`,
  ].join('\n');
}

/** package.json of a plugin folder: `name`, the provider types, and its entry point. */
function pluginPackage(name: string, types: string[], main = 'index.mjs', extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ name, version: '6.6.6', type: 'module', main, keywords: ['aegis-provider'], aegis: { apiVersion: 1, providers: types, ...extra } });
}

const profile = (type: string, name = 'evil') => `profiles:\n  - profile_name: ${name}\n    type: ${type}\n    model: m\n    api_key: \${AEGIS_CANARY}\n`;

function outputOf(result: { stdout: string; stderr: string }): string {
  const text = result.stdout + result.stderr;
  expectNoCanary(text);
  return text;
}

describe('plugin trust', () => {
  it('a "package name" that climbs out of the project (x/../../../outside/evil) is refused, never imported', async () => {
    // Taken as a name, it would be looked up as project/node_modules/x/../../../outside/evil = <root>/outside/evil.
    const { root, project } = hostileLayout(`plugins:\n  - x/../../../outside/evil\n${profile('evil_t')}`, {
      'outside/evil/package.json': pluginPackage('evil', ['evil_t']),
      'outside/evil/index.mjs': evilModule('evil_t'),
    });
    const validate = await runCli(['validate'], project);
    expect(validate.code).toBe(1);
    expect(outputOf(validate)).toContain('backends.yaml:2: field "plugins": "x/../../../outside/evil" is neither a package name nor a path');
    const complete = await runCli(['complete', '-p', 'evil', 'hi'], project);
    expect(complete.code).not.toBe(0);
    expect(outputOf(complete)).toContain('unknown provider type "evil_t"');
    const plugins = await runCli(['plugins', '--json'], project);
    expect(plugins.stdout).not.toContain('evil_t');
    expect(existsSync(join(root, 'outside/evil/IMPORTED'))).toBe(false);
  });

  it('a symlink inside the project that leads outside is judged by where it leads', async () => {
    const { root, project } = hostileLayout(`plugins:\n  - ./plugins/innocent\n  - ./plugins/innocent.mjs\n${profile('evil_t')}`, {
      'outside/evil/package.json': pluginPackage('evil', ['evil_t']),
      'outside/evil/index.mjs': evilModule('evil_t'),
      'outside/file/evil.mjs': evilModule('evil_file_t'),
    });
    linkIn(project, 'plugins/innocent', join(root, 'outside/evil'));
    linkIn(project, 'plugins/innocent.mjs', join(root, 'outside/file/evil.mjs'));
    const validate = await runCli(['validate'], project);
    expect(validate.code).toBe(1);
    const text = outputOf(validate);
    expect(text).toContain(`backends.yaml:2: field "plugins": local plugin "./plugins/innocent" (it leads to ${join(root, 'outside/evil')}) is outside the project directory`);
    expect(text).toContain(`backends.yaml:3: field "plugins": local plugin "./plugins/innocent.mjs" (it leads to ${join(root, 'outside/file/evil.mjs')}) is outside the project directory`);
    await runCli(['complete', '-p', 'evil', 'hi'], project);
    await runCli(['plugins'], project);
    expect(existsSync(join(root, 'outside/evil/IMPORTED'))).toBe(false);
    expect(existsSync(join(root, 'outside/file/IMPORTED'))).toBe(false);
  });

  it('the same symlinked plugin loads once allow_plugins names it (by its path)', async () => {
    const { root, project } = hostileLayout(`plugins:\n  - ./plugins/innocent.mjs\nallow_plugins:\n  - ./plugins/innocent.mjs\n${profile('evil_file_t')}`, {
      'outside/file/evil.mjs': evilModule('evil_file_t'),
    });
    linkIn(project, 'plugins/innocent.mjs', join(root, 'outside/file/evil.mjs'));
    const validate = await runCli(['validate'], project);
    expect(outputOf(validate)).not.toContain('outside the project directory');
    expect(existsSync(join(root, 'outside/file/IMPORTED'))).toBe(true);
  });

  it('a local folder claiming an allowed package name in its package.json is not that package', async () => {
    const { root, project } = hostileLayout(
      `plugins:\n  - ./vendor/provider-ollama\nallow_plugins:\n  - "@aegis/provider-ollama"\n${profile('spoof_t', 'spoof')}`,
      {
        'project/vendor/provider-ollama/package.json': pluginPackage('@aegis/provider-ollama', ['spoof_t']),
        'project/vendor/provider-ollama/index.mjs': evilModule('spoof_t'),
      },
    );
    const complete = await runCli(['complete', '-p', 'spoof', 'hi'], project);
    expect(complete.code).not.toBe(0);
    expect(outputOf(complete)).toContain('is not listed under allow_plugins in backends.yaml (a local plugin is allowed by its path, not by the name in its package.json)');
    const plugins = await runCli(['plugins', '--json'], project);
    const listed = JSON.parse(plugins.stdout) as { name: string; error?: string }[];
    expect(listed.find((p) => p.name === '@aegis/provider-ollama')?.error).toContain('not loaded');
    expect(existsSync(join(root, 'project/vendor/provider-ollama/IMPORTED'))).toBe(false);
  });

  it("a local folder whose entry point leads out of it is refused", async () => {
    const { root, project } = hostileLayout(`plugins:\n  - ./vendor/sneaky\n${profile('sneaky_t')}`, {
      'project/vendor/sneaky/package.json': pluginPackage('sneaky', ['sneaky_t'], '../../../outside/evil.mjs'),
      'outside/evil.mjs': evilModule('sneaky_t'),
    });
    const validate = await runCli(['validate'], project);
    expect(validate.code).toBe(1);
    expect(outputOf(validate)).toContain(`local plugin "./vendor/sneaky": its entry point (${join(root, 'outside/evil.mjs')}) lies outside the plugin's directory`);
    await runCli(['complete', '-p', 'evil', 'hi'], project);
    expect(existsSync(join(root, 'outside/IMPORTED'))).toBe(false);
  });
});

/** A local plugin module (importing the repository's core) with two broken providers. */
const BROKEN_PLUGINS = `
import { BackendProvider, BaseBackendConfig, definePlugin, z } from '@aegis/core';
class Numbers extends BackendProvider {
  async *doStream() { yield 'fine so far '; yield 42; }
}
class Objects extends BackendProvider {
  async *doStream() { yield [{ text: 'x' }]; }
}
const schema = (type) => BaseBackendConfig.extend({ type: z.literal(type), model: z.string() });
export default [
  definePlugin({ apiVersion: 1, type: 'not_a_provider', configSchema: schema('not_a_provider'), capabilities: ['completion'], create: () => ({ hello: 'I am no provider' }) }),
  definePlugin({ apiVersion: 1, type: 'number_deltas', configSchema: schema('number_deltas'), capabilities: ['completion', 'streaming'], create: (c, ctx) => new Numbers(c, ctx) }),
  definePlugin({ apiVersion: 1, type: 'object_deltas', configSchema: schema('object_deltas'), capabilities: ['completion', 'streaming'], create: (c, ctx) => new Objects(c, ctx) }),
];
`;

describe('plugins that break the contract', () => {
  const yaml = `plugins:\n  - ./broken.mjs\nprofiles:\n  - profile_name: np\n    type: not_a_provider\n    model: m\n  - profile_name: nums\n    type: number_deltas\n    model: m\n  - profile_name: objs\n    type: object_deltas\n    model: m\n`;

  it('a factory that returns no provider: validate says so (a PluginError), and complete fails with it', async () => {
    const { project } = hostileLayout(yaml, { 'project/broken.mjs': BROKEN_PLUGINS });
    linkCore(project);
    const validate = await runCli(['validate'], project);
    expect(validate.code).toBe(1);
    const text = outputOf(validate);
    expect(text).toContain('profile "np"');
    expect(text).toContain('plugin for type "not_a_provider" returned an object without the provider methods (getCompletion, streamCompletion, ...) from create() for profile "np"');
    expect(text).not.toContain('profile "nums"');
    const complete = await runCli(['complete', '-p', 'np', 'hi'], project);
    expect(complete.code).not.toBe(0);
    expect(outputOf(complete)).toContain('returned an object without the provider methods');
    expect(complete.stderr).not.toContain('is not a function');
  });

  it('a stream of numbers or objects is a typed ProviderError naming the profile, not "value.every is not a function"', async () => {
    const { project } = hostileLayout(yaml, { 'project/broken.mjs': BROKEN_PLUGINS });
    linkCore(project);
    const nums = await runCli(['complete', '-p', 'nums', '--stream', 'hi'], project);
    expect(nums.code).not.toBe(0);
    expect(outputOf(nums)).toContain('profile "nums" (number_deltas): a provider\'s stream yielded 42, which is neither text nor a stream part');
    expect(nums.stdout).toContain('fine so far');
    const objs = await runCli(['complete', '-p', 'objs', '--stream', 'hi'], project);
    expect(objs.code).not.toBe(0);
    const text = outputOf(objs);
    expect(text).toContain('profile "objs" (object_deltas): a provider\'s stream yielded {"text":"x"}, which is neither text nor a stream part');
    expect(text).not.toContain('is not a function');
  });

  it('a plugin whose import never settles: plugins, complete and validate end with a PluginError after the import time limit', async () => {
    // A fresh project (a fresh module) per run: each import is a new one that never settles.
    const stuck = () =>
      hostileLayout(`plugins:\n  - ./stuck.mjs\n${profile('stuck_t', 'stuck')}`, { 'project/stuck.mjs': 'await new Promise(() => {});\nexport default {};\n' }).project;
    // The import never settles, so the timer is the only way out: no race with the clock.
    const env = { AEGIS_PLUGIN_IMPORT_TIMEOUT_MS: '200' };
    const plugins = await runCli(['plugins'], stuck(), env);
    expect(outputOf(plugins)).toContain('local plugin "./stuck.mjs" did not finish loading within 200 ms');
    const complete = await runCli(['complete', '-p', 'stuck', 'hi'], stuck(), env);
    expect(complete.code).not.toBe(0);
    expect(outputOf(complete)).toContain('did not finish loading within 200 ms');
    const validate = await runCli(['validate'], stuck(), env);
    expect(validate.code).toBe(1);
    expect(outputOf(validate)).toContain('backends.yaml:2: field "plugins": local plugin "./stuck.mjs" did not finish loading within 200 ms');
  });
});

/** A plugin folder that ships a description (no code runs with --no-import) for `type`, with `configSchema`. */
function describedPlugin(type: string, configSchema: Record<string, unknown> | string): Record<string, string> {
  const schemaJson = typeof configSchema === 'string' ? configSchema : JSON.stringify(configSchema);
  return {
    [`project/described/package.json`]: pluginPackage('described', [type], 'index.mjs', { description: './aegis-plugin.json' }),
    [`project/described/index.mjs`]: evilModule(type),
    [`project/described/aegis-plugin.json`]: `{"apiVersion": 1, "providers": {${JSON.stringify(type)}: {"capabilities": ["completion"], "configSchema": ${schemaJson}}}}`,
  };
}

const baseSchema = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  type: 'object',
  properties: { profile_name: { type: 'string' }, type: { type: 'string' }, api_key: { type: 'string' }, ...properties },
  required: ['profile_name', 'type'],
  additionalProperties: false,
  ...extra,
});

describe('hostile shipped descriptions (validate --no-import)', () => {
  it('a catastrophic regex pattern (^(a+)+$) is stopped by its time limit, in a child process under a kill timer', async () => {
    const files = describedPlugin('regex_t', baseSchema({ model: { type: 'string', pattern: '^(a+)+$' } }));
    const { root, project } = hostileLayout(`plugins:\n  - ./described\n${profile('regex_t')}`.replace('model: m', `model: ${'a'.repeat(48)}!`), files);
    const result = await runCliChild(['validate', '--no-import'], project);
    expect({ killed: result.killed, signal: result.signal, code: result.code }).toEqual({ killed: false, signal: null, code: 1 });
    const text = outputOf(result);
    expect(text).toContain('profile "evil"');
    expect(text).toContain('the regular expression /^(a+)+$/ of its shipped config schema ran for more than 1000 ms on a value');
    expect(existsSync(join(root, 'project/described/IMPORTED'))).toBe(false);
  }, CHILD_TEST_TIMEOUT_MS);

  it('a real pattern still validates from the description (the guard changes nothing else)', async () => {
    const files = describedPlugin('regex_t', baseSchema({ model: { type: 'string', pattern: '^[a-z]+-\\d+$' } }));
    const { project } = hostileLayout(`plugins:\n  - ./described\n${profile('regex_t')}`.replace('model: m', 'model: Not-Matching'), files);
    const bad = await runCli(['validate', '--no-import'], project);
    expect(bad.code).toBe(1);
    expect(outputOf(bad)).toContain('field "model"');
    const good = await runCli(['validate', '--no-import'], hostileLayout(`plugins:\n  - ./described\n${profile('regex_t')}`.replace('model: m', 'model: llama-3'), files).project);
    expect(outputOf(good)).toContain('1 profile OK');
  });

  it('a $ref cycle is a PluginError naming the cycle, not a stack overflow', async () => {
    const files = describedPlugin('cycle_t', baseSchema({ model: { $ref: '#/$defs/a' } }, { $defs: { a: { $ref: '#/$defs/b' }, b: { anyOf: [{ $ref: '#/$defs/a' }] } } }));
    const { root, project } = hostileLayout(`plugins:\n  - ./described\n${profile('cycle_t')}`, files);
    const result = await runCli(['validate', '--no-import'], project);
    expect(result.code).toBe(1);
    const text = outputOf(result);
    expect(text).toContain('its config schema refers to itself in a cycle (#/$defs/a → #/$defs/b → #/$defs/a)');
    expect(text).not.toMatch(/Maximum call stack|RangeError/);
    expect(existsSync(join(root, 'project/described/IMPORTED'))).toBe(false);
    const listing = await runCli(['plugins', '--json'], project);
    const listed = JSON.parse(listing.stdout) as { name: string; error?: string }[];
    expect(listed.find((p) => p.name === 'described')?.error).toContain('refers to itself in a cycle');
  });

  it('a schema nested thousands of levels deep is refused without recursion', async () => {
    // Written as text: building it as an object would overflow JSON.stringify itself.
    const deep = '{"type": "array", "items": '.repeat(5000) + '{"type": "string"}' + '}'.repeat(5000);
    const files = describedPlugin('deep_t', JSON.stringify(baseSchema({ model: 'DEEP' })).replace('"DEEP"', deep));
    const { project } = hostileLayout(`plugins:\n  - ./described\n${profile('deep_t')}`, files);
    const result = await runCli(['validate', '--no-import'], project);
    expect(result.code).toBe(1);
    expect(outputOf(result)).toContain('its config schema is nested more than 32 levels deep');
  });
});
