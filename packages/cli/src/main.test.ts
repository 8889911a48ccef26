import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { BackendProvider, BaseBackendConfig, definePlugin, PLUGIN_API_VERSION, secret, z, type CompletionResult } from '@aegis/core';
import { BACKENDS, PLUGINS, run, SECRET, speechCalls, tempProject, waitFor } from './__tests__/harness.js';
import { KNOWN_PLUGINS } from './known-plugins.js';

const dirs: string[] = [];
function project(...args: Parameters<typeof tempProject>): string {
  const dir = tempProject(...args);
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** The secret must not appear anywhere the CLI wrote. */
function expectNoSecret(result: { stdout: string; stderr: string }): void {
  expect(result.stdout).not.toContain(SECRET);
  expect(result.stderr).not.toContain(SECRET);
  // Not even a large piece of it.
  expect(result.stdout + result.stderr).not.toContain(SECRET.slice(3, 20));
}

const BROKEN = `${BACKENDS}- profile_name: broken
  type: mem
  api_key: \${SECRET}
  temprature: 0.5
- profile_name: ghost
  type: nosuchtype
`;

describe('the catalog of known plugins', () => {
  it('is exactly the types the plugin packages of this repository provide', () => {
    const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../..');
    const fromManifests: Record<string, string> = {};
    for (const dir of fs.readdirSync(path.join(root, 'plugins'))) {
      const pkg = JSON.parse(fs.readFileSync(path.join(root, 'plugins', dir, 'package.json'), 'utf8')) as { name: string; aegis: { providers: string[] } };
      for (const type of pkg.aegis.providers) fromManifests[type] = pkg.name;
    }
    expect(KNOWN_PLUGINS).toEqual(fromManifests);
  });

  it('names the real package for a known type that is not installed, and suggests an installed type for a typo', async () => {
    const result = await run(['validate'], { cwd: project(`${BACKENDS}- profile_name: v\n  type: vlm\n- profile_name: m\n  type: memm\n`) });
    expect(result.stdout).toContain('unknown provider type "vlm": no installed plugin provides it.');
    expect(result.stdout).toContain('Did you mean "vllm"? It is provided by the plugin package @aegis/provider-vllm: npm install @aegis/provider-vllm');
    expect(result.stdout).toMatch(/unknown provider type "memm"\. Did you mean "mem"\? Installed types: mem, textonly\.\n/);
  });
});

describe('aegis plugins', () => {
  it('lists each plugin with its types and capabilities', async () => {
    const result = await run(['plugins'], { cwd: project() });
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^PLUGIN\s+VERSION\s+TYPE\s+CAPABILITIES$/);
    expect(lines.find((l) => l.includes(' mem '))).toMatch(/mem\s+completion, streaming, embeddings, speech, transcription$/);
    expect(lines.find((l) => l.includes(' textonly '))).toMatch(/textonly\s+completion$/);
    expect(result.stderr).toBe('');
  });

  it('says why none was found: a package with the keyword but no "aegis" manifest, run in its own directory', async () => {
    const dir = project(BACKENDS, {
      'package.json': JSON.stringify({ name: 'aegis-provider-acme', version: '0.1.0', keywords: ['aegis-provider'] }),
    });
    const result = await run(['plugins'], { cwd: dir, plugins: [] });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('aegis: no provider plugins found');
    expect(result.stderr).toContain('aegis-provider-acme (package.json) has the "aegis-provider" keyword but no "aegis" manifest: add "aegis": { "apiVersion": 1');
    expect(result.stderr).toContain('is a plugin package itself');
    const plain = await run(['plugins'], { cwd: project(BACKENDS, { 'package.json': '{"name":"app"}' }), plugins: [] });
    expect(plain.stderr).toContain('Install one, e.g. npm install @aegis/provider-openai');
    expect(plain.stderr).not.toContain('keyword');
    // A manifest without the keyword is a plugin package too.
    const manifestOnly = project(BACKENDS, { 'package.json': JSON.stringify({ name: 'aegis-provider-acme', aegis: { apiVersion: 1, providers: ['acme'] } }) });
    const described = await run(['plugins'], { cwd: manifestOnly, plugins: [] });
    expect(described.stderr).toContain('aegis-provider-acme is a plugin package itself: to try it from here, list it in a backends.yaml beside it');
    expect(described.stderr).not.toContain('Install one');
  });

  it('prints JSON with --json', async () => {
    const result = await run(['plugins', '--json'], { cwd: project() });
    expect(result.code).toBe(0);
    const plugins = JSON.parse(result.stdout) as { types: string[]; capabilities: Record<string, string[]> }[];
    expect(plugins.map((p) => p.types)).toEqual([['mem'], ['textonly']]);
    expect(plugins[1]!.capabilities).toEqual({ textonly: ['completion'] });
  });

  it('shows an error column for a plugin that cannot be loaded', async () => {
    const dir = project(`plugins:\n  - ./broken-plugin.mjs\nprofiles:\n${BACKENDS.replace(/^/gm, '  ')}`, {
      'broken-plugin.mjs': 'throw new Error("boom at import");\n',
    });
    const result = await run(['plugins'], { cwd: dir });
    expect(result.code).toBe(1);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/CAPABILITIES\s+ERROR$/);
    expect(lines.find((l) => l.startsWith('./broken-plugin.mjs'))).toMatch(/failed to load: boom at import/);
  });

  it('says on stderr what a plugins: entry that found nothing is, and exits 1', async () => {
    const dir = project(`plugins:\n  - ./nope.mjs\nprofiles:\n${BACKENDS.replace(/^/gm, '  ')}`);
    const result = await run(['plugins'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^PLUGIN\s+VERSION\s+TYPE\s+CAPABILITIES$/m);
    expect(result.stderr).toMatch(/^aegis: backends\.yaml:2: .*\.\/nope\.mjs/m);
  });
});

describe('aegis schema', () => {
  it('prints a JSON Schema of backends.yaml built from the plugins', async () => {
    const result = await run(['schema'], { cwd: project() });
    expect(result.code).toBe(0);
    const schema = JSON.parse(result.stdout) as { $defs: Record<string, { properties: Record<string, unknown>; additionalProperties: boolean }> };
    expect(Object.keys(schema.$defs).sort()).toEqual(['profile', 'profile_mem', 'profile_textonly']);
    expect(schema.$defs.profile_mem!.properties.type).toEqual({ const: 'mem', description: expect.any(String) });
    expect(schema.$defs.profile_mem!.properties).toHaveProperty('api_key');
    expect(schema.$defs.profile_mem!.properties).toHaveProperty('timeout');
    expect(schema.$defs.profile_mem!.additionalProperties).toBe(false);
  });

  it('writes it to a file and tells the modeline to add', async () => {
    const dir = project();
    const result = await run(['schema', '-o', 'backends.schema.json'], { cwd: dir });
    expect(result.code).toBe(0);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'backends.schema.json'), 'utf8'))).toHaveProperty('$defs.profile_mem');
    expect(result.stderr).toContain('# yaml-language-server: $schema=backends.schema.json');
  });

  it("names the schema in the modeline from backends.yaml's folder, where the editor reads it", async () => {
    const dir = project();
    fs.mkdirSync(path.join(dir, 'conf'));
    fs.renameSync(path.join(dir, 'backends.yaml'), path.join(dir, 'conf', 'backends.yaml'));
    const result = await run(['--config', 'conf/backends.yaml', 'schema', '-o', 'conf/backends.schema.json'], { cwd: dir });
    expect(result.code).toBe(0);
    expect(fs.existsSync(path.join(dir, 'conf', 'backends.schema.json'))).toBe(true);
    expect(result.stderr).toContain('# yaml-language-server: $schema=backends.schema.json\n');
  });
});

describe('aegis profiles', () => {
  it('lists every profile, usable or not, and exits 0', async () => {
    const result = await run(['profiles'], { cwd: project(BROKEN) });
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+TYPE\s+USABLE\s+DESCRIPTION\s+PROBLEM$/);
    expect(lines[1]).toMatch(/^mem\s+mem\s+yes\s+In-memory backend$/);
    expect(lines[2]).toMatch(/^text\s+textonly\s+yes\s+Completions only$/);
    expect(lines[3]).toMatch(/^broken\s+mem\s+no\s+line 14, field "temprature": unknown field "temprature"; did you mean "temperature"\?$/);
    expect(lines[4]).toMatch(/^ghost\s+nosuchtype\s+no\s+line 16, field "type": unknown provider type "nosuchtype"/);
    expect(lines[4]).not.toContain('backends.yaml:15');
    expect(result.stderr).toContain('aegis validate');
    expectNoSecret(result);
  });

  it('shows a profile\'s missing plugin before its other problems (nothing else can be fixed first)', async () => {
    const backends = 'profiles:\n  - profile_name: later\n    api_key: ${UNSET_FOR_THIS_TEST}\n    type: nosuchtype\n';
    const result = await run(['profiles'], { cwd: project(backends) });
    const line = result.stdout.split('\n').find((l) => l.startsWith('later'))!;
    expect(line).toMatch(/no\s+line \d+, field "type": unknown provider type "nosuchtype"/);
    expect(line).toMatch(/\(\+1 more\)$/);
  });

  it('prints the summaries as JSON with the secrets redacted', async () => {
    const result = await run(['profiles', '--json'], { cwd: project(BROKEN) });
    expect(result.code).toBe(0);
    const profiles = JSON.parse(result.stdout) as { name: string; usable: boolean; values: Record<string, unknown> }[];
    expect(profiles.map((p) => [p.name, p.usable])).toEqual([
      ['mem', true],
      ['text', true],
      ['broken', false],
      ['ghost', false],
    ]);
    expect(profiles[0]!.values).toMatchObject({ profile_name: 'mem', api_key: '***', max_retries: 0 });
    expectNoSecret(result);
  });
});

describe('aegis validate', () => {
  it('says the profiles are OK and exits 0', async () => {
    const result = await run(['validate'], { cwd: project() });
    expect(result).toEqual({ code: 0, stdout: 'backends.yaml: 2 profiles OK\n', stderr: '' });
    const schemas = await run(['validate', '--no-import'], { cwd: project() });
    expect(schemas).toEqual({ code: 0, stdout: 'backends.yaml: 2 profiles OK (checked against the schemas plugins ship)\n', stderr: '' });
  });

  it('prints every problem with its location, then a summary, and exits 1', async () => {
    const result = await run(['validate'], { cwd: project(BROKEN) });
    expect(result.code).toBe(1);
    expect(result.stdout.trimEnd().split('\n')).toEqual([
      'backends.yaml:14:3: profile "broken", field "temprature": unknown field "temprature"; did you mean "temperature"?',
      expect.stringMatching(/^backends\.yaml:16:3: profile "ghost", field "type": unknown provider type "nosuchtype": no installed plugin provides it\. Installed types: .*mem/),
      'backends.yaml: 2 problems (2 of 4 profiles unusable)',
    ]);
    expectNoSecret(result);
  });

  describe('a ${VAR} that is not set here', () => {
    const UNSET = `${BACKENDS}- profile_name: cloud
  type: mem
  api_key: \${CLOUD_KEY}
`;
    const warning =
      'warning: backends.yaml:13:12: profile "cloud", field "api_key": not usable here: set CLOUD_KEY (in the environment or in .env)';

    it('is a warning naming the variable, and exit 0', async () => {
      const result = await run(['validate'], { cwd: project(UNSET) });
      expect(result).toEqual({
        code: 0,
        stdout: `${warning}\nbackends.yaml: 3 profiles, no problems; 1 not usable here until CLOUD_KEY is set (--strict makes that an error)\n`,
        stderr: '',
      });
    });

    it('is an error with --strict, and with CI=true unless --no-strict', async () => {
      const error = 'backends.yaml:13:12: profile "cloud", field "api_key": environment variable "CLOUD_KEY" is not set';
      for (const [args, env] of [
        [['validate', '--strict'], {}],
        [['validate'], { CI: 'true' }],
        [['validate', '--no-import'], { CI: '1' }],
      ] as const) {
        const result = await run([...args], { cwd: project(UNSET), env });
        expect(result.code).toBe(1);
        expect(result.stdout).toContain(error);
        expect(result.stdout).not.toContain('warning:');
      }
      const relaxed = await run(['validate', '--no-strict'], { cwd: project(UNSET), env: { CI: 'true' } });
      expect(relaxed.code).toBe(0);
      expect(relaxed.stdout).toContain(warning);
      const notCi = await run(['validate'], { cwd: project(UNSET), env: { CI: 'false' } });
      expect(notCi.code).toBe(0);
    });

    it('for a field the plugin marks secret, whatever its name, and for an entry of such a field', async () => {
      // Names the credential heuristic does not take for secrets: only the plugin's marking makes them one.
      const coded = definePlugin({
        apiVersion: PLUGIN_API_VERSION,
        type: 'coded',
        configSchema: BaseBackendConfig.extend({ access_code: secret(z.string().min(1)), access_codes: secret(z.array(z.string().min(1))).optional() }),
        capabilities: ['completion'],
        create: (config, context) =>
          new (class extends BackendProvider {
            protected override async doCompletion(): Promise<CompletionResult> {
              return { text: 'ok', finishReason: 'stop' };
            }
          })(config, context),
      });
      const yaml = `${BACKENDS}- profile_name: coded\n  type: coded\n  access_code: \${CODE_NOT_SET}\n  access_codes:\n    - \${CODES_NOT_SET}\n`;
      const result = await run(['validate'], { cwd: project(yaml), plugins: [...PLUGINS, coded] });
      expect(result.stdout).toContain('warning: backends.yaml:13:16: profile "coded", field "access_code": not usable here: set CODE_NOT_SET');
      expect(result.stdout).toMatch(/warning: backends\.yaml:15:\d+: profile "coded", field "access_codes\[0\]": not usable here: set CODES_NOT_SET/);
      expect(result.code).toBe(0);
    });

    it('only for a secret: an unset variable in another field is an error', async () => {
      const result = await run(['validate'], { cwd: project(`${BACKENDS}- profile_name: far\n  type: mem\n  description: \${WHERE_NOT_SET}\n`) });
      expect(result.code).toBe(1);
      expect(result.stdout).toContain('profile "far", field "description": environment variable "WHERE_NOT_SET" is not set');
      expect(result.stdout).not.toContain('warning:');
    });

    it('does not hide the real problems of the file', async () => {
      const result = await run(['validate'], { cwd: project(`${UNSET}  temprature: 1\n`) });
      expect(result.code).toBe(1);
      expect(result.stdout).toContain(warning);
      expect(result.stdout).toContain('unknown field "temprature"');
      expect(result.stdout).toMatch(/1 problem \(1 of 3 profiles unusable\); 1 not usable here until CLOUD_KEY is set/);
    });
  });

  describe('the gateway: section', () => {
    const withGateway = (gateway: string) => `profiles:\n${BACKENDS.trimEnd().replace(/^/gm, '  ')}\ngateway:\n${gateway}`;
    const SECTION = withGateway(`  models:
    fast: mem
  keys:
    - name: app
      key: \${GW_KEY}
    - name: other
      key: written-in-clear-0123456789
  foo: 1
`);

    it('is checked as aegis serve checks it: its fields, keys in clear, with or without importing plugins', async () => {
      for (const args of [['validate'], ['validate', '--no-import']]) {
        const result = await run(args, { cwd: project(SECTION) });
        expect(result.code).toBe(1);
        expect(result.stdout).toMatch(/^backends\.yaml:\d+:3: field "gateway\.foo": unknown field "foo"/m);
        expect(result.stdout).toMatch(/^backends\.yaml:\d+:7: field "gateway\.keys\[1\]\.key": write the key as a reference, e\.g\. key: \$\{AEGIS_GATEWAY_KEY_OTHER\}/m);
        // An unset key is a warning, as a profile's is; --strict makes it an error.
        expect(result.stdout).toMatch(/^warning: backends\.yaml:\d+:12: field "gateway\.keys\[0\]\.key": not usable here: set GW_KEY/m);
        expect(result.stdout).toMatch(/2 problems.*; the gateway not usable here until GW_KEY is set/);
        expect(result.stdout).not.toContain('written-in-clear');
      }
      const strict = await run(['validate', '--strict'], { cwd: project(SECTION) });
      expect(strict.stdout).toContain('field "gateway.keys[0].key": environment variable "GW_KEY" is not set');
    });

    it('names a model whose profile does not exist, and passes a valid section', async () => {
      const missing = await run(['validate'], { cwd: project(withGateway('  models:\n    fast: nope\n')) });
      expect(missing.code).toBe(1);
      expect(missing.stdout).toMatch(/field "gateway\.models\.fast": no profile named "nope"; profiles in this file: mem, text/);
      const valid = withGateway('  models:\n    fast: mem\n  keys:\n    - name: app\n      key: ${GW_KEY}\n');
      const ok = await run(['validate'], { cwd: project(valid), env: { GW_KEY: 'a-gateway-key-of-enough-length' } });
      expect(ok).toEqual({ code: 0, stdout: 'backends.yaml: 2 profiles OK\n', stderr: '' });
    });
  });

  it('reports YAML syntax errors the same way, and the summary names the file', async () => {
    const result = await run(['validate'], { cwd: project('- profile_name: a\n  type: [oops\n') });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^backends\.yaml:\d+:\d+: YAML syntax error/);
    expect(result.stdout).toMatch(/\nbackends\.yaml: 1 problem\n$/);
    expect(result.stdout).not.toContain('configuration:');
  });

  it('reports a missing config file as an aegis: line, like every message of the CLI', async () => {
    const result = await run(['--config', 'missing.yaml', 'validate'], { cwd: project() });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^aegis: no config file \/\S+\/missing\.yaml \(from --config\)/);
    expect(result.stdout).toMatch(/\naegis: 1 problem\n$/);
  });

  it('uses --config and --dotenv', async () => {
    const dir = project();
    fs.mkdirSync(path.join(dir, 'conf'));
    fs.renameSync(path.join(dir, 'backends.yaml'), path.join(dir, 'conf', 'other.yaml'));
    fs.renameSync(path.join(dir, '.env'), path.join(dir, 'secrets.env'));
    const result = await run(['validate', '--config', 'conf/other.yaml', '--dotenv', 'secrets.env'], { cwd: dir });
    expect(result).toEqual({ code: 0, stdout: `${path.join('conf', 'other.yaml')}: 2 profiles OK\n`, stderr: '' });
    const viaEnv = await run(['validate', '--config', 'conf/other.yaml'], { cwd: dir, env: { AEGIS_ENV_FILE: 'secrets.env' } });
    expect(viaEnv).toEqual(result);
  });

  it('refuses --env-file, which Node itself reads first, and reads nothing', async () => {
    const dir = project();
    fs.renameSync(path.join(dir, '.env'), path.join(dir, 'secrets.env'));
    for (const args of [['--env-file', 'secrets.env', 'validate'], ['validate', '--env-file=secrets.env'], ['--env-file', 'secrets.env']]) {
      const result = await run(args, { cwd: dir });
      expect(result.code).toBe(1);
      expect(result.stdout).toBe('');
      expect(result.stderr).toBe(
        "aegis: --env-file is not an aegis option: Node itself reads the file named after it before aegis starts (it applies a NODE_OPTIONS line in it, without aegis's checks), so aegis does not use it. Pass the env file with --dotenv <path>, or set AEGIS_ENV_FILE\n",
      );
    }
    const help = await run(['--help'], { cwd: dir });
    expect(help.stdout).toContain('--dotenv <path>');
    expect(help.stdout).not.toContain('--env-file');
  });
});

describe('aegis complete', () => {
  it('answers a prompt given as words', async () => {
    const result = await run(['complete', '-p', 'mem', 'hello', 'there'], { cwd: project() });
    expect(result).toEqual({ code: 0, stdout: 'echo: hello there\n', stderr: '' });
  });

  it('says a refusal on stderr (no empty answer on stdout), streamed or not, and puts it in --json', async () => {
    const whole = await run(['complete', '-p', 'mem', 'refuse'], { cwd: project() });
    expect(whole).toEqual({ code: 0, stdout: '', stderr: 'the model refused: I cannot help with that.\n' });
    const streamed = await run(['complete', '-p', 'mem', '--stream', 'refuse'], { cwd: project() });
    expect(streamed).toEqual({ code: 0, stdout: '', stderr: 'the model refused: I cannot help with that.\n' });
    const json = await run(['complete', '-p', 'mem', '--json', 'refuse'], { cwd: project() });
    expect(JSON.parse(json.stdout)).toMatchObject({ text: '', refusal: 'I cannot help with that.', finishReason: 'stop' });
  });

  it('reads the prompt from stdin when there is none on the command line', async () => {
    const result = await run(['complete', '-p', 'mem'], { cwd: project(), stdin: 'a prompt\nover two lines\n' });
    expect(result).toEqual({ code: 0, stdout: 'echo: a prompt\nover two lines\n', stderr: '' });
  });

  it('refuses an empty prompt', async () => {
    const result = await run(['complete', '-p', 'mem'], { cwd: project(), stdin: '\n' });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('aegis: no prompt: pass it as arguments or on stdin\n');
  });

  it('refuses a prompt of blanks given as arguments', async () => {
    const result = await run(['complete', '-p', 'mem', '  '], { cwd: project() });
    expect(result).toEqual({ code: 1, stdout: '', stderr: 'aegis: no prompt: pass it as arguments or on stdin\n' });
  });

  it('passes --system, --temperature and --max-tokens', async () => {
    const result = await run(['complete', '-p', 'mem', '--system', 'be brief', '--temperature', '0.2', '--max-tokens', '50', 'hi'], {
      cwd: project(),
    });
    expect(result.stdout).toBe('echo: hi | system: be brief | temperature: 0.2 | max tokens: 50\n');
  });

  it('prints the result as JSON with --json', async () => {
    const result = await run(['complete', '-p', 'mem', '--json', 'hi'], { cwd: project() });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({
      text: 'echo: hi',
      finishReason: 'stop',
      usage: { promptTokens: 3, completionTokens: 4, totalTokens: 7 },
      model: 'mem-1',
    });
  });

  it('streams deltas with --stream, ending with a newline', async () => {
    const result = await run(['complete', '-p', 'mem', '--stream', 'hi'], { cwd: project() });
    expect(result).toEqual({ code: 0, stdout: 'Hello streaming world\n', stderr: '' });
  });

  it('prints the JSON result after the stream with --stream --json', async () => {
    const result = await run(['complete', '-p', 'mem', '--stream', '--json', 'hi'], { cwd: project() });
    expect(result.code).toBe(0);
    const [streamed, ...json] = result.stdout.split('\n');
    expect(streamed).toBe('Hello streaming world');
    expect(JSON.parse(json.join('\n'))).toEqual({
      text: 'Hello streaming world',
      finishReason: 'length',
      usage: { completionTokens: 3 },
      model: 'mem-1',
    });
  });

  it('scrubs a secret out of the answer, even when it is streamed in pieces', async () => {
    const dir = project();
    const plain = await run(['complete', '-p', 'mem', 'echo-key'], { cwd: dir });
    expect(plain.stdout).toBe('the key is ***\n');
    const streamed = await run(['complete', '-p', 'mem', '--stream', 'echo-key'], { cwd: dir });
    expect(streamed.stdout).toBe('key: *** done\n');
    const json = await run(['complete', '-p', 'mem', '--stream', '--json', 'echo-key'], { cwd: dir });
    expect(JSON.parse(json.stdout.split('\n').slice(1).join('\n')).text).toBe('key: *** done');
    for (const result of [plain, streamed, json]) expectNoSecret(result);
  });

  it('exits 3 when the provider cannot stream', async () => {
    const result = await run(['complete', '-p', 'text', '--stream', 'hi'], { cwd: project() });
    expect(result.code).toBe(3);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe('aegis: provider type "textonly" (profile "text") does not support streaming (streamCompletion)\n');
  });

  it('exits 2 when the backend fails, with one line and no stack', async () => {
    const result = await run(['complete', '-p', 'mem', 'fail'], { cwd: project() });
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('aegis: profile "mem" (mem): backend exploded with status 500\n');
  });

  it('shows the stack with --verbose', async () => {
    const result = await run(['complete', '-p', 'mem', '--verbose', 'fail'], { cwd: project() });
    expect(result.code).toBe(2);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe('aegis: profile "mem" (mem): backend exploded with status 500');
    expect(lines[1]).toMatch(/^ProviderError: profile "mem"/);
    expect(lines.some((l) => /^\s+at /.test(l))).toBe(true);
  });

  it('names an unknown profile with a did-you-mean, and exits 1', async () => {
    const result = await run(['complete', '-p', 'memm', 'hi'], { cwd: project() });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^aegis: .*no profile named "memm"\. Did you mean "mem"\? Profiles in this file: mem, text\n$/);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });

  it('lists every problem of a broken profile under a header line', async () => {
    const dir = project(`- profile_name: bad\n  type: mem\n  api_key: \${SECRET}\n  temprature: 1\n  max_retries: lots\n`);
    const result = await run(['complete', '-p', 'bad', 'hi'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      'aegis: 2 configuration problems:',
      '  backends.yaml:4:3: profile "bad", field "temprature": unknown field "temprature"; did you mean "temperature"?',
      expect.stringMatching(/^ {2}backends\.yaml:5:\d+: profile "bad", field "max_retries": /),
    ]);
  });

  it('aborts the call on Ctrl-C (SIGINT) and exits 130', async () => {
    const listeners = process.listenerCount('SIGINT');
    const result = await run(['complete', '-p', 'mem', '--stream', 'hang'], {
      cwd: project(),
      during: async (stdout) => {
        await waitFor(() => stdout.text.includes('partial'), 'the first delta');
        process.emit('SIGINT');
      },
    });
    expect(result).toEqual({ code: 130, stdout: 'partial \n', stderr: 'aegis: interrupted\n' });
    expect(process.listenerCount('SIGINT')).toBe(listeners);
  });
});

describe('usage errors', () => {
  it('reports an unknown option on stderr and exits 1', async () => {
    const result = await run(['complete', '-p', 'mem', '--bogus', 'hi'], { cwd: project() });
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr.split('\n')[0]).toBe("aegis: unknown option '--bogus'");
  });

  it('reports a bad option value and a missing required option', async () => {
    const dir = project();
    const bad = await run(['complete', '-p', 'mem', '--temperature', 'hot', 'hi'], { cwd: dir });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^aegis: option '--temperature <n>' argument 'hot' is invalid\. expected a number\./);
    // An empty value is no number (Number('') would be 0), and --max-tokens 0 no positive count.
    const empty = await run(['complete', '-p', 'mem', '--temperature', '', 'hi'], { cwd: dir });
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/^aegis: option '--temperature <n>' argument '' is invalid\. expected a number\./);
    const zero = await run(['complete', '-p', 'mem', '--max-tokens', '0', 'hi'], { cwd: dir });
    expect(zero.code).toBe(1);
    expect(zero.stderr).toMatch(/^aegis: option '--max-tokens <n>' argument '0' is invalid\. expected a positive whole number\./);
    const missing = await run(['complete', 'hi'], { cwd: dir });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^aegis: required option '-p, --profile <name>' not specified/);
  });

  it('reports an unknown command with a suggestion', async () => {
    const result = await run(['profils'], { cwd: project() });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^aegis: unknown command 'profils'\n\(Did you mean profiles\?\)/);
  });

  it('prints help on stdout and exits 0', async () => {
    const result = await run(['--help'], { cwd: project() });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: aegis /);
    for (const command of ['plugins', 'profiles', 'validate', 'complete', 'embed', 'speak', 'transcribe']) {
      expect(result.stdout).toContain(`  ${command}`);
    }
    const sub = await run(['complete', '--help'], { cwd: project() });
    expect(sub.code).toBe(0);
    expect(sub.stdout).toContain('--max-tokens <n>');
  });

  it('prints the version', async () => {
    const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    const result = await run(['--version'], { cwd: project() });
    expect(result).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });
});

describe('aegis embed', () => {
  it('prints one JSON array per text given as arguments', async () => {
    const result = await run(['embed', '-p', 'mem', 'a', 'bcd'], { cwd: project() });
    expect(result).toEqual({ code: 0, stdout: '[1,0.5]\n[3,0.5]\n', stderr: '' });
  });

  it('embeds each line of stdin, and prints one object with --json', async () => {
    const dir = project();
    const lines = await run(['embed', '-p', 'mem'], { cwd: dir, stdin: 'one\nthree\n' });
    expect(lines.stdout).toBe('[3,0.5]\n[5,0.5]\n');
    const json = await run(['embed', '-p', 'mem', '--json'], { cwd: dir, stdin: 'one\nthree' });
    expect(JSON.parse(json.stdout)).toEqual({ embeddings: [[3, 0.5], [5, 0.5]] });
  });

  it('exits 3 for a provider without embeddings', async () => {
    const result = await run(['embed', '-p', 'text', 'x'], { cwd: project() });
    expect(result.code).toBe(3);
    expect(result.stderr).toBe('aegis: provider type "textonly" (profile "text") does not support embeddings (getEmbeddings)\n');
  });
});

describe('aegis plugin new', () => {
  it('warns when the new plugin\'s type is a first-party one (both installed, neither could serve it)', async () => {
    const dir = project();
    const clash = await run(['plugin', 'new', 'openai', '--dir', 'clash'], { cwd: dir });
    expect(clash.code).toBe(0);
    expect(clash.stderr).toMatch(/^aegis: warning: the provider type "openai" is also @aegis\/provider-openai's: /);
    const fine = await run(['plugin', 'new', 'acme', '--dir', 'fine'], { cwd: dir });
    expect(fine.code).toBe(0);
    expect(fine.stderr).toBe('');
  });

  it('writes into --dir (an empty folder is fine), with a real .gitignore, and says how to go on from there', async () => {
    const dir = project();
    const custom = await run(['plugin', 'new', 'acme-cloud', '--dir', 'custom'], { cwd: dir });
    expect(custom.code).toBe(0);
    expect(fs.existsSync(path.join(dir, 'custom', 'package.json'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'aegis-provider-acme-cloud'))).toBe(false);
    expect(fs.existsSync(path.join(dir, 'custom', '.gitignore'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'custom', 'gitignore'))).toBe(false);
    expect(custom.stdout).toContain('  .gitignore\n');
    expect(custom.stdout).toContain('cd custom && npm install && npm test');
    // The current folder, empty: written there, and the next step does not read "cd  &&".
    const here = path.join(dir, 'here');
    fs.mkdirSync(here);
    const inPlace = await run(['plugin', 'new', 'acme', '--dir', '.'], { cwd: here });
    expect(inPlace.code).toBe(0);
    expect(inPlace.stdout).toMatch(/^created aegis-provider-acme \(provider type "acme"\) in \.:\n/);
    expect(inPlace.stdout).toContain('  cd . && npm install && npm test\n');
    expect(fs.existsSync(path.join(here, 'package.json'))).toBe(true);
    // A folder that is not empty is refused.
    const again = await run(['plugin', 'new', 'acme', '--dir', '.'], { cwd: here });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already exists and is not empty');
  });
});

describe('aegis plugin describe', () => {
  it('runs nothing of a folder that is not a plugin package, and says so', async () => {
    const dir = project(BACKENDS, {
      'package.json': JSON.stringify({ name: 'an-app', version: '1.0.0', type: 'module', main: 'index.js' }),
      'index.js': "import { writeFileSync } from 'node:fs'; writeFileSync(new URL('./ran', import.meta.url), 'yes');",
    });
    const result = await run(['plugin', 'describe', '.'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/is not an AEGIS provider plugin package \(its package.json has no "aegis" manifest or "aegis-provider" keyword\)\n$/);
    expect(fs.existsSync(path.join(dir, 'ran'))).toBe(false);
  });

  it('tells to build a plugin whose entry point is not there yet', async () => {
    const dir = project(BACKENDS, {
      'package.json': JSON.stringify({ name: 'aegis-provider-acme', version: '0.1.0', type: 'module', main: 'dist/index.js', keywords: ['aegis-provider'] }),
    });
    const result = await run(['plugin', 'describe', '.'], { cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/dist\/index\.js does not exist yet: build the plugin first \(npm run build\), then describe it\n$/);
  });
});

describe('aegis speak', () => {
  it('writes the audio to the file and says so on stderr', async () => {
    const dir = project();
    const result = await run(['speak', '-p', 'mem', '-o', 'out.mp3', '--voice', 'alto', 'hello', 'world'], { cwd: dir });
    expect(result).toEqual({ code: 0, stdout: '', stderr: 'wrote 16 bytes (audio/mpeg) to out.mp3\n' });
    expect(fs.readFileSync(path.join(dir, 'out.mp3'), 'utf8')).toBe('alto:hello world');
  });

  it('takes the text from stdin and passes --format', async () => {
    const dir = project();
    const result = await run(['speak', '-p', 'mem', '-o', 'out.wav', '--format', 'wav'], { cwd: dir, stdin: 'hi\n' });
    expect(result.stderr).toBe('wrote 10 bytes (audio/wav) to out.wav\n');
    expect(fs.readFileSync(path.join(dir, 'out.wav'), 'utf8')).toBe('default:hi');
  });

  it('says a file it cannot write before it calls the backend (the call may be billed)', async () => {
    const before = speechCalls.count;
    const result = await run(['speak', '-p', 'mem', '-o', 'no/such/folder/out.mp3', 'hi'], { cwd: project() });
    expect(result).toEqual({ code: 1, stdout: '', stderr: 'aegis: cannot write no/such/folder/out.mp3: its folder does not exist\n' });
    expect(speechCalls.count).toBe(before);
  });

  it('needs -o', async () => {
    const result = await run(['speak', '-p', 'mem', 'hi'], { cwd: project() });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^aegis: required option '-o, --output <file>' not specified/);
  });
});

describe('aegis transcribe', () => {
  it('prints the text, with the MIME type guessed from the extension', async () => {
    const dir = project(BACKENDS, { 'clip.m4a': 'fake audio bytes' });
    const result = await run(['transcribe', '-p', 'mem', '--language', 'en', 'clip.m4a'], { cwd: dir });
    expect(result).toEqual({ code: 0, stdout: 'heard 16 bytes of audio/mp4 from clip.m4a in en\n', stderr: '' });
  });

  it('takes --mime-type over the extension, an extension in capitals, and sends the file name without its folder', async () => {
    const dir = project(BACKENDS, { 'clip.xyz': 'x', 'LOUD.WAV': 'RIFF' });
    fs.mkdirSync(path.join(dir, 'sub'));
    fs.writeFileSync(path.join(dir, 'sub', 'clip.ogg'), 'OggS');
    const typed = await run(['transcribe', '-p', 'mem', '--mime-type', 'audio/flac', 'clip.xyz'], { cwd: dir });
    expect(typed).toEqual({ code: 0, stdout: 'heard 1 bytes of audio/flac from clip.xyz in ?\n', stderr: '' });
    const capitals = await run(['transcribe', '-p', 'mem', 'LOUD.WAV'], { cwd: dir });
    expect(capitals).toEqual({ code: 0, stdout: 'heard 4 bytes of audio/wav from LOUD.WAV in ?\n', stderr: '' });
    const nested = await run(['transcribe', '-p', 'mem', path.join('sub', 'clip.ogg')], { cwd: dir });
    expect(nested).toEqual({ code: 0, stdout: 'heard 4 bytes of audio/ogg from clip.ogg in ?\n', stderr: '' });
  });

  it('refuses a file whose format it cannot tell, and a missing file', async () => {
    const dir = project(BACKENDS, { 'clip.xyz': 'x' });
    const unknown = await run(['transcribe', '-p', 'mem', 'clip.xyz'], { cwd: dir });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^aegis: cannot tell the audio format of clip\.xyz/);
    const missing = await run(['transcribe', '-p', 'mem', 'nope.wav'], { cwd: dir });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('aegis: cannot read the audio file nope.wav: ENOENT\n');
  });

  it('refuses an audio file past 25 MB without reading it all (sent nowhere)', async () => {
    const dir = project(BACKENDS, { 'long.wav': '' });
    fs.truncateSync(path.join(dir, 'long.wav'), 25 * 1024 * 1024 + 1); // sparse: no 25 MB written
    const result = await run(['transcribe', '-p', 'mem', 'long.wav'], { cwd: dir });
    expect(result).toEqual({ code: 1, stdout: '', stderr: `aegis: the audio file long.wav is larger than ${25 * 1024 * 1024} bytes\n` });
  });

  it('exits 3 for a provider without transcription', async () => {
    const dir = project(BACKENDS, { 'clip.wav': 'RIFF' });
    const result = await run(['transcribe', '-p', 'text', 'clip.wav'], { cwd: dir });
    expect(result.code).toBe(3);
  });
});
