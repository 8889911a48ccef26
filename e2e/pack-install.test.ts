/**
 * End to end, as a user gets it: pack @aegis/core, @aegis/cli and the
 * example-com plugin with `npm pack`, install the tarballs into a fresh
 * application directory, write a backends.yaml with a ${VAR} secret and a
 * .env, and run the installed `aegis` against a loopback server.
 * Needs the packages built (`npm test` runs `tsc -b` first).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startExampleComEmulator, type Emulator } from '@aegis/testkit';

const run = promisify(execFile);
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const PACKAGES = ['packages/core', 'packages/gateway', 'packages/cli', 'plugins/example-com'];
const SECRET = 'ec-e2e-canary-5a4b3c2d1e';

let work: string;
let app: string;
let emulator: Emulator;

async function aegis(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  const env = { ...process.env, AEGIS_BACKENDS: '', EXAMPLE_COM_API_KEY: '' };
  delete (env as Record<string, string | undefined>).AEGIS_BACKENDS;
  delete (env as Record<string, string | undefined>).EXAMPLE_COM_API_KEY;
  try {
    const { stdout, stderr } = await run(join(app, 'node_modules', '.bin', 'aegis'), args, { cwd: app, env });
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const e = error as { stdout: string; stderr: string; code: number };
    return { stdout: e.stdout, stderr: e.stderr, code: e.code };
  }
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'aegis-e2e-'));
  const tarballs: string[] = [];
  for (const pkg of PACKAGES) {
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: join(REPO, pkg) });
    tarballs.push(join(work, (JSON.parse(stdout) as { filename: string }[])[0]!.filename));
  }
  app = join(work, 'app');
  await run('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'my-agent', version: '1.0.0', private: true, type: 'module' }));
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...tarballs], { cwd: app });

  emulator = await startExampleComEmulator({ apiKey: SECRET });
  emulator.setReply({ text: 'Hello from the packed plugin.' });
  writeFileSync(
    join(app, 'backends.yaml'),
    [
      '# profiles of my agent',
      '- profile_name: example_com_default',
      '  type: example_com',
      '  llm_url: "${EXAMPLE_COM_URL}/v1/completion"',
      '  api_key: ${EXAMPLE_COM_API_KEY}',
      '  model: "example-model-v1"',
      '- profile_name: needs_missing_var',
      '  type: example_com',
      '  llm_url: "${EXAMPLE_COM_URL}/v1/completion"',
      '  api_key: ${NOT_SET_ANYWHERE}',
      '',
    ].join('\n'),
  );
  writeFileSync(join(app, '.env'), `EXAMPLE_COM_API_KEY=${SECRET}\nEXAMPLE_COM_URL=${emulator.url}\n`);
}, 600_000);

afterAll(async () => {
  await emulator?.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('installed from tarballs', () => {
  it('`npm install` links the `aegis` bin to the committed launcher', async () => {
    const { stdout, code } = await aegis('--version');
    expect(code).toBe(0);
    expect(stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('`aegis complete` gets a completion through the installed plugin, with the key from .env', async () => {
    const { stdout, stderr, code } = await aegis('complete', '-p', 'example_com_default', 'Say hello');
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toBe('Hello from the packed plugin.\n');
    expect(emulator.lastRequest?.headers.authorization).toBe(`Bearer ${SECRET}`);
    expect(emulator.lastRequest?.json).toMatchObject({ model: 'example-model-v1', prompt: 'Say hello' });
  });

  it('`aegis complete --stream` streams the same answer', async () => {
    const { stdout, code } = await aegis('complete', '-p', 'example_com_default', '--stream', 'Say hello');
    expect(code).toBe(0);
    expect(stdout).toBe('Hello from the packed plugin.\n');
  });

  it('`aegis serve` answers an OpenAI-style request through the installed plugin', async () => {
    const { spawn } = await import('node:child_process');
    const env = { ...process.env };
    delete env.AEGIS_BACKENDS;
    delete env.EXAMPLE_COM_API_KEY;
    const child = spawn(join(app, 'node_modules', '.bin', 'aegis'), ['serve', '--port', '0'], { cwd: app, env, stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      let err = '';
      const url = await new Promise<string>((resolve, reject) => {
        child.stderr!.on('data', (d: Buffer) => {
          err += d.toString();
          const match = /on (http:\/\/\S+)\/v1/.exec(err);
          if (match) resolve(match[1]!);
        });
        child.once('exit', (code) => reject(new Error(`aegis serve exited (${code}): ${err}`)));
      });
      const response = await fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        body: JSON.stringify({ model: 'example_com_default', messages: [{ role: 'user', content: 'Say hello' }] }),
      });
      const body = (await response.json()) as { choices: { message: { content: string } }[] };
      expect(body.choices[0]!.message.content).toBe('Hello from the packed plugin.');
      expect(err).not.toContain(SECRET);
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });

  it('`aegis plugins` finds the plugin from the application dependencies', async () => {
    const { stdout, code } = await aegis('plugins', '--json');
    expect(code).toBe(0);
    const list = JSON.parse(stdout) as { name: string; types: string[] }[];
    expect(list.map((p) => [p.name, p.types])).toEqual([['aegis-provider-example-com', ['example_com']]]);
  });

  it('`aegis profiles` and `aegis validate` report the missing variable with file:line, and never print the secret', async () => {
    const profiles = await aegis('profiles', '--json');
    expect(profiles.stdout).not.toContain(SECRET);
    // Not set here: a warning and exit 0; --strict makes it an error.
    const validate = await aegis('validate', '--no-strict');
    expect(validate.code).toBe(0);
    expect(validate.stdout).toContain('warning: backends.yaml:10:12: profile "needs_missing_var", field "api_key": not usable here: set NOT_SET_ANYWHERE');
    const strict = await aegis('validate', '--strict');
    expect(strict.code).toBe(1);
    const output = strict.stdout + strict.stderr;
    expect(output).toContain('backends.yaml:10');
    expect(output).toContain('profile "needs_missing_var"');
    expect(output).toContain('NOT_SET_ANYWHERE');
    expect(output + validate.stdout).not.toContain(SECRET);
  });

  it('an unknown profile is one clear line and a non-zero exit, without a stack trace', async () => {
    const { stderr, code } = await aegis('complete', '-p', 'example_com_defualt', 'hi');
    expect(code).toBe(1);
    expect(stderr).toContain('no profile named "example_com_defualt"');
    expect(stderr).toContain('Did you mean "example_com_default"?');
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('`--verbose` stacks name only files the installed packages ship (no unpublished src/*.ts)', async () => {
    const { stderr, code } = await aegis('--verbose', 'complete', '-p', 'no_such_profile', 'hi');
    expect(code).toBe(1);
    const files = [...stderr.matchAll(/\(?(?:file:\/\/)?(\/[^\s()]+?):\d+:\d+\)?$/gm)].map((m) => m[1]!);
    expect(files.filter((f) => f.includes('/@aegis/')).length).toBeGreaterThan(3);
    expect(files.filter((f) => f.endsWith('.ts'))).toEqual([]);
    expect(files.filter((f) => !existsSync(f))).toEqual([]);
  });

  it('the installed core is the bundled file, and its classes keep their names (errors are named after them)', async () => {
    const script = [
      "import * as core from '@aegis/core';",
      "const renamed = Object.entries(core).filter(([key, v]) => typeof v === 'function' && /^[A-Z]/.test(key) && v.name !== key && core[v.name] !== v).map(([key, v]) => `${key} is named ${v.name}`);",
      "const errors = [new core.ConfigurationError('x'), new core.PluginError('x', { kind: 'load' }), new core.ProviderError('x'), new core.CapabilityNotSupportedError('t', 'p', 'op')].map((e) => e.name);",
      "console.log(JSON.stringify({ entry: import.meta.resolve('@aegis/core'), renamed, errors, locales: Object.keys(core.z.locales) }));",
    ].join('\n');
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: app });
    expect(JSON.parse(stdout)).toEqual({
      entry: expect.stringMatching(/node_modules\/@aegis\/core\/dist\/bundle\/index\.js$/),
      renamed: [],
      errors: ['ConfigurationError', 'PluginError', 'ProviderError', 'CapabilityNotSupportedError'],
      locales: ['en'],
    });
  });

  it("the installed packages' types check in an application that also checks its libraries (skipLibCheck: false)", async () => {
    writeFileSync(
      join(app, 'agent.ts'),
      [
        "import { createAegis, ProviderError, type CompletionResult } from '@aegis/core';",
        "import { createGateway } from '@aegis/gateway';",
        "const aegis = createAegis({ configPath: 'backends.yaml' });",
        "const result: CompletionResult = await (await aegis.getProviderForProfile('example_com_default')).getCompletion([{ role: 'user', content: 'hi' }]);",
        "const gateway = await createGateway(aegis);",
        "export const seen = [result.text, ProviderError.isInstance(result), typeof gateway.listen];",
      ].join('\n'),
    );
    const tsc = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
    const args = ['--noEmit', '--strict', '--skipLibCheck', 'false', '--target', 'ES2022', '--module', 'NodeNext', '--moduleResolution', 'NodeNext'];
    const typeRoots = ['--typeRoots', join(REPO, 'node_modules', '@types'), '--types', 'node', 'agent.ts'];
    const { stdout } = await run(process.execPath, [tsc, ...args, ...typeRoots], { cwd: app }).catch((e: { stdout: string }) => ({ stdout: e.stdout }));
    expect(stdout).toBe('');
  });

  it('the example-com plugin, built for plugin API 1 and unchanged, works beside the new core: text-only messages, tools refused, typed events', async () => {
    // The installed (built, bundled) plugin and core, driven as an application would.
    const script = [
      "import { createAegis, CapabilityNotSupportedError } from '@aegis/core';",
      "const aegis = createAegis({ configPath: 'backends.yaml', envFile: '.env' });",
      "const p = await aegis.getProviderForProfile('example_com_default');",
      "const conversation = [",
      "  { role: 'user', content: [{ type: 'text', text: 'Weather in Oslo?' }, { type: 'text', text: 'Briefly.' }] },",
      "  { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'get_weather', arguments: { city: 'Oslo' } }] },",
      "  { role: 'tool', toolCallId: 'c1', name: 'get_weather', content: '3 degrees' },",
      "];",
      "const whole = await p.getCompletion(conversation);",
      "let refused = false;",
      "try { await p.getCompletion(conversation, { tools: [{ name: 'get_weather', parameters: { type: 'object' } }] }); }",
      "catch (e) { refused = CapabilityNotSupportedError.isInstance(e); }",
      "const events = [];",
      "for await (const e of p.streamCompletion([{ role: 'user', content: 'Say hello' }]).events()) events.push(e.type);",
      "console.log(JSON.stringify({ apiVersion: (await import('aegis-provider-example-com')).default.apiVersion, text: whole.text, refused, events: [...new Set(events)] }));",
            "process.exit(0);",
    ].join('\n');
    emulator.reset();
    const env: Record<string, string | undefined> = { ...process.env };
    delete env.AEGIS_BACKENDS;
    delete env.EXAMPLE_COM_API_KEY;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: app, env });
    expect(JSON.parse(stdout)).toEqual({ apiVersion: 1, text: 'Hello from the packed plugin.', refused: true, events: ['text-delta', 'finish'] });
    // The plugin got plain text, as it always did: content parts joined, the call written out, the tool result as text.
    expect(emulator.requests[0]!.json.prompt).toBe(
      'Weather in Oslo?\nBriefly.\n\nassistant: [called tool get_weather (id c1) with {"city":"Oslo"}]\n\ntool: 3 degrees',
    );
    // The refused call never reached the backend: the first request is the completion, the second the stream.
    expect(emulator.requests).toHaveLength(2);
  });
});

