import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { ConfigurationError, formatIssue } from '../errors/index.js';
import { loadEnvFile, mergeEnv } from './env-file.js';
import { loadConfig, parseConfigText } from './load-config.js';
import { locateConfig, locateConfigFile } from './locate.js';
import { validateProfile } from './validate.js';
import { configErrorOf } from '../__tests__/errors.js';

const PROFILE = [
  '- profile_name: example_com_default',
  '  type: example_com',
  '  llm_url: "https://api.example.com/v1/completion"',
  '  api_key: ${EXAMPLE_COM_API_KEY}',
  '  model: "example-model-v1"',
  '  timeout: "30"',
  '',
].join('\n');

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aegis-config-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function write(relative: string, text: string): string {
  const file = path.join(dir, relative);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}


describe('locateConfigFile', () => {
  it('uses the explicit path first', () => {
    const file = write('conf/my.yaml', PROFILE);
    write('backends.yaml', PROFILE);
    expect(locateConfig({ configPath: 'conf/my.yaml', cwd: dir, env: { AEGIS_BACKENDS: 'backends.yaml' } })).toEqual({
      file,
      source: 'explicit',
    });
  });

  it('uses AEGIS_BACKENDS next', () => {
    const file = write('other/b.yaml', PROFILE);
    write('backends.yaml', PROFILE);
    expect(locateConfigFile({ cwd: dir, env: { AEGIS_BACKENDS: file } })).toBe(file);
  });

  it('falls back to backends.yaml in cwd', () => {
    const file = write('backends.yaml', PROFILE);
    expect(locateConfigFile({ cwd: dir, env: {} })).toBe(file);
  });

  it('names the explicit path when it is missing', () => {
    const error = configErrorOf(() => locateConfigFile({ configPath: 'nope.yaml', cwd: dir, env: {} }));
    expect(error.message).toBe(`no config file ${path.join(dir, 'nope.yaml')} (from --config); pass --config <file> or set AEGIS_BACKENDS`);
  });

  it('names AEGIS_BACKENDS when its file is missing, with an absolute path outside cwd', () => {
    const elsewhere = path.join(os.tmpdir(), 'aegis-definitely-missing', 'b.yaml');
    const error = configErrorOf(() => locateConfigFile({ cwd: dir, env: { AEGIS_BACKENDS: elsewhere } }));
    expect(error.message).toBe(`no config file ${elsewhere} (from AEGIS_BACKENDS); pass --config <file> or set AEGIS_BACKENDS`);
  });

  it('names the default location when nothing is found', () => {
    const error = configErrorOf(() => locateConfigFile({ cwd: dir, env: {} }));
    expect(error.message).toBe(
      `no config file ${path.join(dir, 'backends.yaml')} (the default: backends.yaml in the current directory); pass --config <file> or set AEGIS_BACKENDS`,
    );
  });

  it('rejects a directory', () => {
    fs.mkdirSync(path.join(dir, 'conf'));
    expect(configErrorOf(() => locateConfigFile({ configPath: 'conf', cwd: dir, env: {} })).message).toMatch(/^conf \(from --config\) is not a file/);
  });
});

describe('loadEnvFile', () => {
  it('reads an explicit env file', () => {
    const envFile = write('secrets/prod.env', 'A=1\n');
    const configFile = write('backends.yaml', PROFILE);
    expect(loadEnvFile({ envFile: 'secrets/prod.env', configFile, cwd: dir })).toEqual({ values: { A: '1' }, file: envFile });
  });

  it('fails when an explicit env file is missing', () => {
    const configFile = write('backends.yaml', PROFILE);
    const error = configErrorOf(() => loadEnvFile({ envFile: 'missing.env', configFile, cwd: dir }));
    expect(error.message).toMatch(/^env file not found: missing\.env \(from --dotenv or the envFile option\)/);
  });

  it('reads the .env beside the config file, else nothing', () => {
    const configFile = write('conf/backends.yaml', PROFILE);
    expect(loadEnvFile({ configFile, cwd: dir })).toEqual({ values: {} });
    const envFile = write('conf/.env', 'B="two words"\n');
    expect(loadEnvFile({ configFile, cwd: dir })).toEqual({ values: { B: 'two words' }, file: envFile });
  });

  it('lets the real environment win', () => {
    expect(mergeEnv({ A: 'real', C: undefined, D: '' }, { A: 'file', B: 'file', C: 'file', D: 'file' })).toEqual({
      A: 'real',
      B: 'file',
      C: 'file',
      D: '',
    });
  });
});

describe('loadConfig', () => {
  const schema = z.object({
    profile_name: z.string(),
    type: z.string(),
    llm_url: z.string().url(),
    api_key: z.string(),
    model: z.string(),
    timeout: z.number(),
  });

  it("takes every .env value as a secret to scrub but a model's name (unless it looks like a key)", () => {
    write('backends.yaml', PROFILE);
    write('.env', 'OLLAMA_MODEL=llama3\nEMBEDDING_MODEL_NAME=nomic-embed-text\nVLLM_MODELS=Qwen/Qwen2.5-7B\nODD_MODEL=sk-abcdef0123456789abcdef\nEXAMPLE_COM_API_KEY=from-dotenv\nMODEL_HOST=internal-host-7\n');
    const { envFileValues } = loadConfig({ cwd: dir, env: {} });
    expect(envFileValues.sort()).toEqual(['from-dotenv', 'internal-host-7', 'sk-abcdef0123456789abcdef']);
  });

  it('takes every value substituted from the environment as a secret to scrub, but a model name or a host where it is used', () => {
    write(
      'backends.yaml',
      [
        'profiles:',
        '  - profile_name: p',
        '    type: t',
        '    base_url: "http://${LLM_HOST}:${LLM_PORT}/api/v1?code=${AZ_CODE}"',
        '    model: ${LLM}',
        '    description: "${OLLAMA_MODEL} on ${GPU_HOST}"',
        '    headers:',
        '      Authorization: Bearer ${GW_TOKEN}',
        '      X-Region: ${REGION}',
        '    upstream: ${UPSTREAM}',
        '    tags: ["${TAG}", "${EMPTY}"]',
        '  - profile_name: q',
        '    type: t',
        '    model: ${SECRET_HOST}',
        '    base_url: http://${HOST_PASSWORD}/v1',
        '    extra: ${KEYISH_MODEL}',
        'gateway:',
        '  redis_url: ${REDIS_URL}',
        '',
      ].join('\n'),
    );
    const env = {
      LLM_HOST: 'llm.internal.example',
      LLM_PORT: '8080',
      AZ_CODE: 'Zk3vQ9xLmP2aB7cD1eF5gH8jK0nR4tUw==',
      LLM: 'llama3.2',
      OLLAMA_MODEL: 'qwen2.5-coder',
      GPU_HOST: '10.0.0.7',
      GW_TOKEN: 'tok_9f8e7d6c5b4a39281706ZZ',
      REGION: 'eu-west-1',
      UPSTREAM: 'plain-words-too',
      TAG: 'gpu-box',
      EMPTY: ' ',
      SECRET_HOST: 'mistral-7b',
      HOST_PASSWORD: 'looks.like.a.host',
      KEYISH_MODEL: 'sk-abcdef0123456789abcdef',
      REDIS_URL: 'redis://:redis-pass-123@cache:6379',
    };
    const config = loadConfig({ cwd: dir, env });
    expect(config.envFileValues).toEqual([]);
    // Not: a model's name (by its variable or its field), a host; a credential-like variable or field, or a
    // value shaped like a key, is a secret wherever it goes. The port is here: addEnvValue leaves out `8080`, as for `.env`.
    expect(config.substitutedSecrets.sort()).toEqual(
      [
        '8080',
        'Zk3vQ9xLmP2aB7cD1eF5gH8jK0nR4tUw==',
        'tok_9f8e7d6c5b4a39281706ZZ',
        'eu-west-1',
        'plain-words-too',
        'gpu-box',
        'looks.like.a.host',
        'mistral-7b',
        'sk-abcdef0123456789abcdef',
        'redis://:redis-pass-123@cache:6379',
      ].sort(),
    );
  });

  it('loads backends.yaml and the .env beside it, the real environment winning', () => {
    write('backends.yaml', PROFILE.replace('"example-model-v1"', '${MODEL}'));
    const envFile = write('.env', 'EXAMPLE_COM_API_KEY=from-dotenv\nMODEL=dotenv-model\n');
    const config = loadConfig({ cwd: dir, env: { MODEL: 'real-model' } });
    expect(config.file).toBe(path.join(dir, 'backends.yaml'));
    expect(config.displayFile).toBe('backends.yaml');
    expect(config.envFile).toBe(envFile);
    expect(config.issues).toEqual([]);
    const [profile] = config.profiles;
    expect(profile!.issues).toEqual([]);
    expect(profile!.values).toMatchObject({ api_key: 'from-dotenv', model: 'real-model' });
    expect(profile!.substitutedValues).toEqual(expect.arrayContaining(['from-dotenv', 'real-model']));
    const result = validateProfile(profile!, schema);
    expect(result.ok && result.config).toMatchObject({ timeout: 30, api_key: 'from-dotenv' });
  });

  it('names the env file (relative to cwd) in missing-variable messages', () => {
    write('conf/backends.yaml', PROFILE);
    write('conf/.env', 'OTHER=1\n');
    const config = loadConfig({ configPath: 'conf/backends.yaml', cwd: dir, env: {} });
    expect(config.profiles[0]!.issues.map(formatIssue)).toEqual([
      'conf/backends.yaml:4:12: profile "example_com_default", field "api_key": environment variable "EXAMPLE_COM_API_KEY" is not set (set it in the environment or in conf/.env)',
    ]);
  });

  it('says "a .env file beside backends.yaml" when there is no env file', () => {
    write('backends.yaml', PROFILE);
    const config = loadConfig({ cwd: dir, env: {} });
    expect(config.envFile).toBeUndefined();
    expect(config.profiles[0]!.issues[0]!.message).toBe(
      'environment variable "EXAMPLE_COM_API_KEY" is not set (set it in the environment or in a .env file beside backends.yaml)',
    );
  });

  it('uses an explicit env file', () => {
    write('backends.yaml', PROFILE);
    write('.env', 'EXAMPLE_COM_API_KEY=beside\n');
    write('prod.env', 'EXAMPLE_COM_API_KEY=explicit\n');
    const config = loadConfig({ cwd: dir, env: {}, envFile: 'prod.env' });
    expect(config.profiles[0]!.values['api_key']).toBe('explicit');
  });

  it('fails when the explicit env file is missing', () => {
    write('backends.yaml', PROFILE);
    expect(configErrorOf(() => loadConfig({ cwd: dir, env: {}, envFile: 'prod.env' })).message).toMatch(/env file not found: prod\.env/);
  });

  it('fails when the config file is missing', () => {
    expect(configErrorOf(() => loadConfig({ cwd: dir, env: {} })).message).toBe(`no config file ${path.join(dir, 'backends.yaml')} (the default: backends.yaml in the current directory); pass --config <file> or set AEGIS_BACKENDS`);
  });

  it("points at the earlier AEGIS's layout (aegis/backends.yaml, .env at the root) when that is what is there", () => {
    write('aegis/backends.yaml', PROFILE);
    write('.env', 'EXAMPLE_COM_API_KEY=k\n');
    expect(configErrorOf(() => loadConfig({ cwd: dir, env: {} })).message).toBe(
      `no config file ${path.join(dir, 'backends.yaml')} (the default: backends.yaml in the current directory); pass --config <file> or set AEGIS_BACKENDS` +
        ' (found aegis/backends.yaml, where the earlier AEGIS kept it: pass --config aegis/backends.yaml, and --dotenv .env for the .env here (it is read beside backends.yaml otherwise))',
    );
  });

  it('exposes the values of the env file it read, for scrubbing, and none without one', () => {
    write('backends.yaml', PROFILE);
    expect(loadConfig({ cwd: dir, env: { EXAMPLE_COM_API_KEY: 'k' } }).envFileValues).toEqual([]);
    write('.env', 'EXAMPLE_COM_API_KEY=sk-from-dotenv\nUNUSED_TOKEN=tok-unused-123\nSAME=tok-unused-123\nEMPTY=\n');
    const config = loadConfig({ cwd: dir, env: { EXAMPLE_COM_API_KEY: 'from-the-real-env' } });
    // Values only (never the names), even those no profile uses or the real environment overrides.
    expect(config.envFileValues.sort()).toEqual(['sk-from-dotenv', 'tok-unused-123']);
    expect(parseConfigText(PROFILE, 'backends.yaml', {}).envFileValues).toEqual([]);
  });

  it('throws all YAML syntax errors with the display path', () => {
    write('backends.yaml', '- a: b: c\n- d: [\n');
    const error = configErrorOf(() => loadConfig({ cwd: dir, env: {} }));
    expect(error.issues.length).toBeGreaterThanOrEqual(2);
    expect(error.issues.every((i) => i.file === 'backends.yaml' && i.line !== undefined)).toBe(true);
  });

  it('shows absolute paths for files outside cwd', () => {
    const file = write('conf/backends.yaml', PROFILE);
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), 'aegis-cwd-'));
    try {
      const config = loadConfig({ cwd, env: { AEGIS_BACKENDS: file, EXAMPLE_COM_API_KEY: 'k' } });
      expect(config.displayFile).toBe(file);
      expect(config.profiles[0]!.file).toBe(file);
    } finally {
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('never puts a secret from the environment into any issue message', () => {
    const CANARY = 'sk-canary-do-not-print-42';
    write('backends.yaml', [
      '- profile_name: leaky',
      '  type: example_com',
      '  llm_url: ${EXAMPLE_COM_API_KEY}',
      '  api_key: ${EXAMPLE_COM_API_KEY}',
      '  model: ${EXAMPLE_COM_API_KEY}',
      '  timeout: ${EXAMPLE_COM_API_KEY}',
      '  modle: ${EXAMPLE_COM_API_KEY}',
      '  extra: ${NOT_SET}',
      '',
    ].join('\n'));
    write('.env', `EXAMPLE_COM_API_KEY=${CANARY}\n`);
    const secretSchema = schema.extend({ api_key: z.number(), model: z.enum(['a', 'b']) });
    const config = loadConfig({ cwd: dir, env: {} });
    const result = validateProfile(config.profiles[0]!, secretSchema);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((i) => i.field)).toEqual(['llm_url', 'api_key', 'model', 'timeout', 'modle', 'extra', 'extra']);
    const text = new ConfigurationError(result.issues).message;
    expect(text).not.toContain(CANARY);
    expect(text).not.toContain('sk-canary');
    expect(config.profiles[0]!.substitutedValues).toContain(CANARY);
  });
});
