import { afterEach, describe, expect, it } from '@jest/globals';
import { createAegis } from '../aegis.js';
import { PluginError } from '../errors/plugin-error.js';
import { BackendProvider, BaseBackendConfig, definePlugin, PLUGIN_API_VERSION, secret, z, type CompletionResult } from '../index.js';
import { installPlugin, loads, makeApp, pluginSource, type FakeApp } from './fixtures.js';

let app: FakeApp;
afterEach(() => app?.cleanup());

const profiles = (...list: string[]) => list.join('\n') + '\n';

describe('plugin discovery and loading', () => {
  it('finds plugins among the application dependencies and imports one only when its type is first used, once', async () => {
    app = makeApp({ 'aegis-provider-alpha': '1', 'aegis-provider-beta': '1', 'left-pad': '1' });
    installPlugin(app, 'aegis-provider-alpha', ['alpha_t']);
    installPlugin(app, 'aegis-provider-beta', ['beta_t']);
    app.write('node_modules/left-pad/package.json', { name: 'left-pad', version: '1.0.0' });
    app.write('backends.yaml', profiles('- profile_name: a', '  type: alpha_t', '  temperature: 0.25', '- profile_name: b', '  type: beta_t'));
    const aegis = createAegis({ cwd: app.dir, env: {} });
    const before = loads('beta_t');
    const p1 = await aegis.getProviderForProfile('a');
    const p2 = await aegis.getProviderForProfile('a');
    expect(p1).toBe(p2);
    expect(loads('beta_t')).toBe(before);
    const result = await p1.getCompletion([{ role: 'user', content: 'ping' }]);
    expect(result.text).toBe('alpha_t says: ping (t=0.25)');
  });

  it('an unknown type lists the installed types, and never makes a package name up from it', async () => {
    app = makeApp({ 'aegis-provider-alpha2': '1' });
    installPlugin(app, 'aegis-provider-alpha2', ['alpha2']);
    app.write('backends.yaml', profiles('- profile_name: x', '  type: mystery_llm'));
    const aegis = createAegis({ cwd: app.dir, env: {} });
    const error = await aegis.getProviderForProfile('x').catch((e: unknown) => e);
    expect(PluginError.isInstance(error)).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain('backends.yaml:2: profile "x"'); // the line of `type:`
    expect(message).toContain('unknown provider type "mystery_llm": no installed plugin provides it');
    expect(message).toContain('Installed types: alpha2');
    expect(message).not.toMatch(/mystery-llm|npm install/);
    expect(message).toContain('list a local plugin under "plugins:"');
  });

  it('a typo of an installed type suggests that type and names no package', async () => {
    app = makeApp({ 'aegis-provider-ollama': '1' });
    installPlugin(app, 'aegis-provider-ollama', ['ollama']);
    app.write('backends.yaml', profiles('- profile_name: x', '  type: ollamma'));
    const known = { ollama: '@aegis/provider-ollama', vllm: '@aegis/provider-vllm' };
    const error = (await createAegis({ cwd: app.dir, env: {}, knownPlugins: known }).getProviderForProfile('x').catch((e: unknown) => e)) as Error;
    expect(error.message).toContain('unknown provider type "ollamma". Did you mean "ollama"? Installed types: ollama.');
    expect(error.message).not.toMatch(/npm install|ollamma\b.*provider-|provider-ollamma/);
  });

  it('a known plugin that is not installed (or a typo of one) is named by its real package', async () => {
    app = makeApp({ 'aegis-provider-ollama': '1' });
    installPlugin(app, 'aegis-provider-ollama', ['ollama']);
    app.write('backends.yaml', profiles('- profile_name: x', '  type: vllm', '- profile_name: y', '  type: vlm'));
    const aegis = createAegis({ cwd: app.dir, env: {}, knownPlugins: { ollama: '@aegis/provider-ollama', vllm: '@aegis/provider-vllm' } });
    const exact = (await aegis.getProviderForProfile('x').catch((e: unknown) => e)) as Error;
    expect(exact.message).toContain('unknown provider type "vllm": no installed plugin provides it.');
    expect(exact.message).toContain('It is provided by the plugin package @aegis/provider-vllm: npm install @aegis/provider-vllm');
    const typo = (await aegis.getProviderForProfile('y').catch((e: unknown) => e)) as Error;
    expect(typo.message).toContain('Did you mean "vllm"? It is provided by the plugin package @aegis/provider-vllm: npm install @aegis/provider-vllm');
    expect(typo.message).not.toContain('provider-vlm');
  });

  it('a misspelt type gets a did-you-mean', async () => {
    app = makeApp({ 'aegis-provider-llama': '1' });
    installPlugin(app, 'aegis-provider-llama', ['ollama_like']);
    app.write('backends.yaml', profiles('- profile_name: x', '  type: olama_like'));
    const issues = await createAegis({ cwd: app.dir, env: {} }).validate();
    expect(issues).toEqual([
      expect.objectContaining({ line: 2, profile: 'x', field: 'type', message: expect.stringContaining('unknown provider type "olama_like". Did you mean "ollama_like"?') }),
    ]);
  });

  it('two packages claiming one type is an error naming both', async () => {
    app = makeApp({ 'aegis-provider-one': '1', 'aegis-provider-two': '1' });
    installPlugin(app, 'aegis-provider-one', ['dup_t']);
    installPlugin(app, 'aegis-provider-two', ['dup_t']);
    app.write('backends.yaml', profiles('- profile_name: d', '  type: dup_t'));
    const error = (await createAegis({ cwd: app.dir, env: {} }).getProviderForProfile('d').catch((e: unknown) => e)) as PluginError;
    expect(error.kind).toBe('duplicate_type');
    expect(error.message).toContain('"aegis-provider-one"');
    expect(error.message).toContain('"aegis-provider-two"');
  });

  it('an apiVersion mismatch names both versions, without importing the plugin', async () => {
    app = makeApp({ 'aegis-provider-future': '1' });
    installPlugin(app, 'aegis-provider-future', ['future_t'], { apiVersion: 2 });
    app.write('backends.yaml', profiles('- profile_name: f', '  type: future_t'));
    const error = (await createAegis({ cwd: app.dir, env: {} }).getProviderForProfile('f').catch((e: unknown) => e)) as PluginError;
    expect(error.kind).toBe('incompatible_api');
    expect(error.message).toContain('plugin API version 2');
    expect(error.message).toContain('implements version 1');
    expect(loads('future_t')).toBe(0);
  });

  it('a plugin whose code claims another apiVersion than its manifest is refused too', async () => {
    app = makeApp({ 'aegis-provider-liar': '1' });
    installPlugin(app, 'aegis-provider-liar', ['liar_t'], { apiVersion: 3, manifestApiVersion: 1 });
    app.write('backends.yaml', profiles('- profile_name: l', '  type: liar_t'));
    const error = (await createAegis({ cwd: app.dir, env: {} }).getProviderForProfile('l').catch((e: unknown) => e)) as PluginError;
    expect(error.kind).toBe('incompatible_api');
    expect(error.message).toContain('version 3');
  });

  it('a plugin that throws on import is a PluginError naming the package; other types keep working', async () => {
    app = makeApp({ 'aegis-provider-broken': '1', 'aegis-provider-fine': '1' });
    installPlugin(app, 'aegis-provider-broken', ['broken_t'], { throwOnImport: 'kaboom at import' });
    installPlugin(app, 'aegis-provider-fine', ['fine_t']);
    app.write('backends.yaml', profiles('- profile_name: broken', '  type: broken_t', '- profile_name: fine', '  type: fine_t'));
    const aegis = createAegis({ cwd: app.dir, env: {} });
    const error = (await aegis.getProviderForProfile('broken').catch((e: unknown) => e)) as PluginError;
    expect(error.kind).toBe('load_failed');
    expect(error.message).toContain('plugin package "aegis-provider-broken" failed to load: kaboom at import');
    const fine = await aegis.getProviderForProfile('fine');
    expect((await fine.getCompletion([{ role: 'user', content: 'ok?' }])).text).toContain('fine_t says: ok?');
  });

  it('loads local plugins listed under plugins: in backends.yaml (a file and a package directory)', async () => {
    app = makeApp();
    app.write('local/my-plugin.js', pluginSource('local_file_t'));
    app.write('pkgs/dirplug/package.json', {
      name: 'dirplug',
      version: '0.0.1',
      type: 'module',
      main: 'main.js',
      aegis: { apiVersion: 1, providers: ['local_dir_t'] },
    });
    app.write('pkgs/dirplug/main.js', pluginSource('local_dir_t'));
    app.write(
      'backends.yaml',
      profiles('plugins:', '  - ./local/my-plugin.js', '  - ./pkgs/dirplug', 'profiles:', '  - profile_name: lf', '    type: local_file_t', '  - profile_name: ld', '    type: local_dir_t'),
    );
    const aegis = createAegis({ cwd: app.dir, env: {} });
    expect((await aegis.getCompletion('lf', 'a')).text).toContain('local_file_t says: a');
    expect((await aegis.getCompletion('ld', 'b')).text).toContain('local_dir_t says: b');
  });

  it('reports a plugins: entry that is missing', async () => {
    app = makeApp();
    app.write('backends.yaml', profiles('plugins:', '  - ./nowhere.js', '  - aegis-provider-not-installed', 'profiles: []'));
    const issues = await createAegis({ cwd: app.dir, env: {} }).validate();
    const text = issues.map((i) => `${i.line}: ${i.message}`).join('\n');
    expect(text).toContain('2: local plugin "./nowhere.js" not found');
    expect(text).toContain('3: plugin package "aegis-provider-not-installed" is not installed; run: npm install aegis-provider-not-installed');
  });

  it('plugins passed in code win over installed packages of the same type', async () => {
    app = makeApp({ 'aegis-provider-alpha3': '1' });
    installPlugin(app, 'aegis-provider-alpha3', ['alpha3']);
    app.write('backends.yaml', profiles('- profile_name: a', '  type: alpha3'));
    const { definePlugin } = await import('../plugins/define-plugin.js');
    const { BaseBackendConfig } = await import('../contract/base-config.js');
    const { BackendProvider } = await import('../contract/provider.js');
    class InCode extends BackendProvider {
      protected override async doCompletion() {
        return { text: 'in code', finishReason: 'stop' as const };
      }
    }
    const plugin = definePlugin({
      apiVersion: 1,
      type: 'alpha3',
      configSchema: BaseBackendConfig,
      capabilities: ['completion'],
      create: (c, ctx) => new InCode(c, ctx),
    });
    const aegis = createAegis({ cwd: app.dir, env: {}, plugins: [plugin] });
    expect((await aegis.getCompletion('a', 'x')).text).toBe('in code');
  });

  it('lists plugins with their capabilities', async () => {
    app = makeApp({ 'aegis-provider-listed': '1' });
    installPlugin(app, 'aegis-provider-listed', ['listed_t']);
    app.write('backends.yaml', '[]\n');
    const [summary] = await createAegis({ cwd: app.dir, env: {} }).plugins();
    expect(summary).toMatchObject({ name: 'aegis-provider-listed', version: '1.2.3', types: ['listed_t'], capabilities: { listed_t: ['completion'] } });
  });

  it('validates profiles against the plugin schema and redacts secrets in listings', async () => {
    app = makeApp({ 'aegis-provider-val': '1' });
    installPlugin(app, 'aegis-provider-val', ['val_t']);
    app.write('.env', 'VAL_KEY=sk-canary-0000-secret\n');
    app.write('backends.yaml', profiles('- profile_name: good', '  type: val_t', '  api_key: ${VAL_KEY}', '- profile_name: bad', '  type: val_t', '  modle: x', '  api_key: ${VAL_KEY}'));
    const aegis = createAegis({ cwd: app.dir, env: {} });
    const list = await aegis.profiles();
    expect(list.map((p) => [p.name, p.usable])).toEqual([['good', true], ['bad', false]]);
    expect(JSON.stringify(list)).not.toContain('sk-canary-0000-secret');
    expect(list[0]!.values.api_key).toBe('***');
    expect(list[1]!.issues[0]!.message).toContain('did you mean "model"');
    expect((await aegis.getBackendConfig('good')).api_key).toBe('sk-canary-0000-secret');
  });

  it("redacts a plugin-marked secret of a profile that does not validate, and names it among the profile's secret fields", async () => {
    // A name the credential heuristic does not take for a secret: only the plugin's schema says it is one.
    const coded = definePlugin({
      apiVersion: PLUGIN_API_VERSION,
      type: 'coded_t',
      configSchema: BaseBackendConfig.extend({ access_code: secret(z.string()) }),
      capabilities: ['completion'],
      create: (config, context) =>
        new (class extends BackendProvider {
          protected override async doCompletion(): Promise<CompletionResult> {
            return { text: 'ok', finishReason: 'stop' };
          }
        })(config, context),
    });
    app = makeApp();
    app.write(
      'backends.yaml',
      profiles('- profile_name: typo', '  type: coded_t', '  access_code: plain-code-0123456789', '  temprature: 1', '- profile_name: unset', '  type: coded_t', '  access_code: ${CODE_NOT_SET}'),
    );
    const list = await createAegis({ cwd: app.dir, env: {}, plugins: [coded], discover: false }).profiles();
    expect(list.map((p) => [p.name, p.usable, p.secretFields])).toEqual([
      ['typo', false, ['access_code']],
      ['unset', false, ['access_code']],
    ]);
    expect(list[0]!.values.access_code).toBe('***');
    expect(JSON.stringify(list)).not.toContain('plain-code-0123456789');
  });

  it('allow_plugins: only the listed packages are loaded; others are listed as not loaded', async () => {
    app = makeApp({ 'aegis-provider-ok': '1', 'aegis-provider-nope': '1' });
    installPlugin(app, 'aegis-provider-ok', ['ok_t']);
    installPlugin(app, 'aegis-provider-nope', ['nope_t']);
    app.write('backends.yaml', profiles('allow_plugins:', '  - aegis-provider-ok', 'profiles:', '  - profile_name: ok', '    type: ok_t', '  - profile_name: nope', '    type: nope_t'));
    const aegis = createAegis({ cwd: app.dir, env: {} });
    expect((await aegis.getCompletion('ok', 'x')).text).toContain('ok_t says');
    const error = (await aegis.getProviderForProfile('nope').catch((e: unknown) => e)) as PluginError;
    expect(error.kind).toBe('not_allowed');
    expect(error.message).toContain('"aegis-provider-nope" is not listed under allow_plugins');
    expect(loads('nope_t')).toBe(0);
    const listing = await aegis.plugins();
    expect(listing.find((p) => p.name === 'aegis-provider-nope')?.error).toContain('not loaded');
  });

  it('refuses a local plugin outside the project directory unless allow_plugins names it', async () => {
    app = makeApp();
    const outside = makeApp();
    try {
      outside.write('plug.js', pluginSource('outside_t'));
      const rel = `../${outside.dir.split('/').pop()}/plug.js`;
      app.write('backends.yaml', profiles('plugins:', `  - ${rel}`, 'profiles:', '  - profile_name: o', '    type: outside_t'));
      const issues = await createAegis({ cwd: app.dir, env: {} }).validate();
      expect(issues.map((i) => i.message).join('\n')).toContain(`local plugin "${rel}" is outside the project directory`);
      expect(loads('outside_t')).toBe(0);

      app.write('backends.yaml', profiles('plugins:', `  - ${rel}`, 'allow_plugins:', `  - ${rel}`, 'profiles:', '  - profile_name: o', '    type: outside_t'));
      expect((await createAegis({ cwd: app.dir, env: {} }).getCompletion('o', 'y')).text).toContain('outside_t says: y');
    } finally {
      outside.cleanup();
    }
  });

  it('lists and validates from a shipped description without importing the plugin', async () => {
    const { definePlugin } = await import('../plugins/define-plugin.js');
    const { BaseBackendConfig } = await import('../contract/base-config.js');
    const { describePlugins } = await import('../plugins/description.js');
    const { secret } = await import('../secrets/secret-fields.js');
    const { z } = await import('zod');
    const plugin = definePlugin({
      apiVersion: 1,
      type: 'shipped_t',
      description: 'described, never imported',
      configSchema: BaseBackendConfig.extend({ type: z.literal('shipped_t'), model: z.string(), access: secret(z.string()).optional() }),
      capabilities: ['completion', 'embeddings'],
      create: () => {
        throw new Error('not called');
      },
    });
    app = makeApp({ 'aegis-provider-shipped': '1' });
    installPlugin(app, 'aegis-provider-shipped', ['shipped_t'], { throwOnImport: 'this plugin must not be imported' });
    const pkgPath = 'node_modules/aegis-provider-shipped/package.json';
    const { readFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const pkg = JSON.parse(readFileSync(join(app.dir, pkgPath), 'utf8'));
    pkg.aegis.description = './aegis-plugin.json';
    app.write(pkgPath, pkg);
    app.write('node_modules/aegis-provider-shipped/aegis-plugin.json', describePlugins([plugin]));
    app.write('.env', 'SHIPPED_ACCESS=shipped-access-canary-123\n');
    app.write(
      'backends.yaml',
      profiles('- profile_name: ok', '  type: shipped_t', '  model: m', '  access: ${SHIPPED_ACCESS}', '- profile_name: bad', '  type: shipped_t', '  modle: m', '  timeout: soon'),
    );
    const aegis = createAegis({ cwd: app.dir, env: {} });
    const [summary] = await aegis.plugins();
    expect(summary).toMatchObject({ name: 'aegis-provider-shipped', types: ['shipped_t'], capabilities: { shipped_t: ['completion', 'embeddings'] } });
    expect(summary!.error).toBeUndefined();
    const issues = await aegis.validate({ importPlugins: false });
    const text = issues.map((i) => `${i.line} ${i.profile} ${i.field}: ${i.message}`).join('\n');
    expect(text).toContain('5 bad model: missing required field');
    expect(text).toContain('7 bad modle: unknown field "modle"; did you mean "model"?');
    expect(text).toContain('8 bad timeout: expected a number');
    expect(issues.some((i) => i.profile === 'ok')).toBe(false);
    expect(loads('shipped_t')).toBe(0);
    expect(aegis.redact('x shipped-access-canary-123 y')).toBe('x *** y');
  });
});
