/**
 * Bad input: broken backends.yaml files (suites/bad-input/NN-name.yaml, with the
 * extra files of a case in suites/bad-input/NN-name/) run through the real CLI
 * in-process, in a temporary copy of the case whose .env holds the canary
 * secret. `aegis validate` must exit 1 and name file:line, profile and field;
 * nothing the CLI prints (also with --verbose) may contain the canary.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from '@jest/globals';
import { expectNoCanary, removeTempProjects, runCli, tempProject, type CliResult } from './helpers.js';

const CASES_DIR = join(dirname(fileURLToPath(import.meta.url)), 'bad-input');

type Expected = string | RegExp;

interface Case {
  /** Exit code of `aegis validate` (1 for every broken file; 0 for the controls). */
  code?: 0 | 1;
  /** Substrings (or patterns) the output of `aegis validate` must contain. */
  expect: Expected[];
  /** What it must not contain. */
  notExpect?: Expected[];
  /** The number of problems in the summary line, when it is exactly known. */
  problems?: number;
  /** Also `aegis complete -p <profile>`: it must exit 1 with these in stderr. */
  complete?: { profile: string; expect: Expected[] };
}

/**
 * One entry per file in suites/bad-input. Lines are 1-based; `file:line:col`
 * names the offending key or value.
 */
const CASES: Record<string, Case> = {
  '01-yaml-syntax-error.yaml': {
    // The quote opened on line 3 is never closed: the message must point at line 3, not at the end of the file.
    expect: ['backends.yaml:3', 'YAML syntax error', 'quote'],
  },
  '02-tab-indentation.yaml': {
    // A tab indents line 3: the message must say so, at line 3.
    expect: ['backends.yaml:3', 'YAML syntax error', /\btabs?\b/i],
  },
  '03-wrong-type.yaml': {
    expect: ['backends.yaml:5:3', 'profile "local"', 'field "temperature"', 'expected a number', 'got a string "hot"'],
    problems: 1,
    complete: { profile: 'local', expect: ['backends.yaml:5:3', 'profile "local"', 'field "temperature"'] },
  },
  '04-unknown-key-did-you-mean.yaml': {
    expect: ['backends.yaml:5:3', 'profile "gpt"', 'field "temprature"', 'unknown field', 'did you mean "temperature"?'],
    problems: 1,
  },
  '05-unknown-type.yaml': {
    // Like an unknown field, a misspelt type gets a suggestion, at the line of `type:`.
    expect: ['backends.yaml:2', 'profile "local"', 'field "type"', 'unknown provider type "olama"', 'Did you mean "ollama"?'],
    problems: 1,
    complete: { profile: 'local', expect: ['profile "local"', 'unknown provider type "olama"'] },
  },
  '06-missing-variable.yaml': {
    expect: ['backends.yaml:3:13', 'profile "remote"', 'field "base_url"', 'environment variable "VLLM_URL_NOT_SET" is not set'],
    problems: 1,
  },
  '07-malformed-variable.yaml': {
    expect: ['backends.yaml:4:12', 'profile "gpt"', 'field "api_key"', 'malformed variable reference'],
    problems: 1,
  },
  '08-duplicate-profile-names.yaml': {
    expect: ['backends.yaml:6:3', 'profile "local"', 'duplicate profile_name "local"', 'line 1'],
    problems: 1,
  },
  '09-duplicate-keys.yaml': {
    expect: ['backends.yaml:5:3', 'profile "local"', 'field "model"', 'duplicate key "model"', 'line 3'],
    problems: 1,
  },
  '10-empty-file.yaml': {
    expect: ['backends.yaml:1:1', 'the file is empty'],
    problems: 1,
  },
  '11-root-scalar.yaml': {
    expect: ['backends.yaml:1:1', 'the top level is a string', 'expected a list of profiles'],
    problems: 1,
  },
  '12-profile-not-a-mapping.yaml': {
    expect: ['backends.yaml:5:3', 'profile #2 is a string', 'expected a mapping'],
    problems: 1,
  },
  '13-missing-profile-name.yaml': {
    expect: ['backends.yaml:1:3', 'profile #1 has no "profile_name"'],
    problems: 1,
  },
  '14-missing-type.yaml': {
    // One problem, said once: no second "unknown provider type """ issue for the same missing field.
    expect: ['backends.yaml:1:3', 'profile "local"', 'field "type"', 'missing "type"'],
    notExpect: ['unknown provider type ""', '@aegis/provider- '],
    problems: 1,
  },
  '15-plugins-not-a-list.yaml': {
    expect: ['backends.yaml:1:10', '"plugins" must be a list', 'got a string'],
    problems: 1,
  },
  '16-plugin-not-installed.yaml': {
    expect: ['backends.yaml:2', 'field "plugins"', 'plugin package "aegis-provider-does-not-exist" is not installed'],
    problems: 1,
  },
  '17-local-plugin-outside-project.yaml': {
    expect: ['backends.yaml:2', 'field "plugins"', '"../somewhere-else/plugin.js" is outside the project directory', 'allow_plugins'],
    problems: 1,
  },
  '18-plugin-throws-on-import.yaml': {
    // The plugin's own error must be shown (where it is listed), not only "unknown provider type".
    expect: ['backends.yaml:2', './exploding-plugin.js', 'failed to load', 'native binding failed to initialise', 'profile "boom"'],
    complete: { profile: 'boom', expect: ['profile "boom"'] },
  },
  '19-incompatible-api-version.yaml': {
    expect: ['backends.yaml:', 'profile "future"', 'field "type"', 'aegis-suite-fixture-future-plugin', 'plugin API version 2', 'implements version 1'],
    problems: 1,
  },
  '20-duplicate-provider-type.yaml': {
    expect: [
      'backends.yaml:',
      'profile "twin"',
      'field "type"',
      'provider type "twin" is claimed by 2 plugins',
      'aegis-suite-fixture-twin-a',
      'aegis-suite-fixture-twin-b',
    ],
    problems: 1,
  },
  '21-enum-value-wrong.yaml': {
    expect: ['backends.yaml:4:3', 'profile "kobold"', 'field "instruct"', 'expected one of "chatml"', 'got a string "chatm"'],
    problems: 1,
    complete: { profile: 'kobold', expect: ['backends.yaml:4:3', 'profile "kobold"', 'field "instruct"'] },
  },
  '22-negative-timeout.yaml': {
    expect: ['backends.yaml:5:3', 'profile "local"', 'field "timeout"', 'more than 0', 'got the number -5'],
    problems: 1,
  },
  '23-nested-option-wrong-type.yaml': {
    expect: ['backends.yaml:6:5', 'profile "local"', 'field "options.num_ctx"', 'expected a number', 'got a string "lots"'],
    problems: 1,
  },
  '24-missing-required-field.yaml': {
    expect: ['backends.yaml:1:3', 'profile "local"', 'field "model"', 'missing required field'],
    problems: 1,
  },
  '25-list-expected.yaml': {
    expect: ['backends.yaml:5:3', 'profile "gpt"', 'field "stop"', 'expected a list', 'got a string "###"'],
    problems: 1,
  },
  '26-invalid-url.yaml': {
    expect: ['backends.yaml:3:3', 'profile "remote"', 'field "base_url"', 'expected a valid URL', '"localhost:8000/v1"'],
    problems: 1,
  },
  '27-profiles-not-a-list.yaml': {
    expect: ['backends.yaml:2:3', '"profiles" must be a list of profiles, got a mapping'],
    problems: 1,
  },
  '28-unknown-top-level-key.yaml': {
    expect: ['backends.yaml:1:1', 'unknown top-level key "plugin"', 'did you mean "plugins"?'],
    problems: 1,
  },
  '29-single-profile-not-a-list.yaml': {
    expect: ['backends.yaml:1', 'the file is a single profile', '- profile_name: ...'],
  },
  '30-env-value-of-wrong-type.yaml': {
    expect: ['backends.yaml:4:3', 'profile "local"', 'field "max_retries"', 'expected a number', 'from an environment variable; value not shown'],
    problems: 1,
    complete: { profile: 'local', expect: ['field "max_retries"', 'value not shown'] },
  },
  '31-secret-under-misspelt-key.yaml': {
    expect: ['backends.yaml:4:3', 'profile "gpt"', 'field "apikey"', 'did you mean "api_key"?', 'api_key is required'],
    problems: 2,
  },
  '32-value-out-of-range.yaml': {
    expect: ['backends.yaml:5:3', 'field "max_retries"', 'at most 20', 'backends.yaml:6:3', 'field "top_p"', 'at most 1'],
    problems: 2,
  },
  '33-profile-name-not-a-string.yaml': {
    expect: ['backends.yaml:1:3', 'profile #1', '"profile_name" must be a non-empty string', 'quote it: "42"'],
    problems: 1,
  },
  '34-openai-key-required.yaml': {
    expect: ['backends.yaml:1:3', 'profile "gpt"', 'field "api_key"', 'api_key is required for https://api.openai.com/v1'],
    problems: 1,
  },
  '35-nested-unknown-key.yaml': {
    expect: ['backends.yaml:6:5', 'profile "kobold"', 'field "instruct_tags.user_strat"', 'did you mean "user_start"?'],
    problems: 1,
  },
  '36-boolean-expected.yaml': {
    expect: ['backends.yaml:4:3', 'profile "kobold"', 'field "trim_stop"', 'expected a boolean', 'got a string "maybe"'],
    problems: 1,
  },
  '37-duplicate-top-level-key.yaml': {
    expect: ['backends.yaml:6:1', 'duplicate top-level key "profiles"', 'line 1'],
    problems: 1,
  },
  '38-plugins-entry-not-a-name.yaml': {
    expect: ['backends.yaml:2:5', 'plugins entry #1', 'got a number', 'backends.yaml:3:5', 'plugins entry #2', 'got a mapping'],
    problems: 2,
  },
  '39-several-problems.yaml': {
    expect: [
      'backends.yaml:6:5: profile "local", field "options.num_ctx"',
      'backends.yaml:10:3: profile "kobold", field "max_length"',
      'backends.yaml:15:3: profile "gpt", field "temperature"',
      'got a string "warm"',
      '3 of 3 profiles unusable',
    ],
    problems: 3,
  },
  // plugins/router exists: composite profiles are checked too.
  '40-composite-cycle.yaml': {
    // Each profile of the cycle is reported under its own name and line.
    expect: ['backends.yaml:1: profile "a"', 'backends.yaml:4: profile "b"', 'cycle', '2 of 3 profiles unusable'],
    problems: 2,
    complete: { profile: 'a', expect: ['profile "a"', 'cycle'] },
  },
  '41-composite-unknown-member.yaml': {
    expect: ['backends.yaml:3', 'profile "chain"', 'field "profiles[1]"', '"loacl_backup"'],
    problems: 1,
    complete: { profile: 'chain', expect: ['profile "chain"', '"loacl_backup"'] },
  },
  '42-idle-timeout-zero.yaml': {
    expect: ['backends.yaml:5:3', 'profile "local"', 'field "idle_timeout"', 'more than 0'],
    problems: 1,
  },
  '43-enum-value-from-env.yaml': {
    expect: ['backends.yaml:4:3', 'profile "kobold"', 'field "instruct"', 'expected one of', 'value not shown'],
    problems: 1,
    complete: { profile: 'kobold', expect: ['field "instruct"', 'value not shown'] },
  },
  '44-type-from-missing-variable.yaml': {
    expect: ['backends.yaml:2:9', 'profile "local"', 'field "type"', 'environment variable "PROVIDER_TYPE_NOT_SET" is not set'],
  },
  '45-duration-format.yaml': {
    // The schema's own description of the format, not its regular expression.
    expect: ['backends.yaml:5:3', 'profile "local"', 'field "keep_alive"', 'a duration such as "5m"', 'got a string "forever"'],
    notExpect: ['(ns|us|'],
    problems: 1,
  },
  '46-literal-secret-near-syntax-error.yaml': {
    // The key is written in the file itself; the syntax error messages must not quote it.
    expect: ['backends.yaml:4', 'YAML syntax error'],
  },
  '90-ok-string-coercion.yaml': {
    // Not bad input: strings are coerced where numbers and booleans are expected.
    code: 0,
    expect: ['backends.yaml: 2 profiles OK'],
  },
};

const files = readdirSync(CASES_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

/** A temporary copy of a case: backends.yaml, the case's extra files, and a .env with the canary. */
function project(file: string): string {
  const extra = join(CASES_DIR, file.replace(/\.yaml$/, ''));
  return tempProject(readFileSync(join(CASES_DIR, file), 'utf8'), { copyFrom: existsSync(extra) ? extra : undefined });
}

function expectContains(text: string, expected: Expected, what: string): void {
  const found = typeof expected === 'string' ? text.includes(expected) : expected.test(text);
  if (!found) throw new Error(`${what} does not contain ${String(expected)}:\n${text}`);
}

function expectLacks(text: string, unexpected: Expected, what: string): void {
  const found = typeof unexpected === 'string' ? text.includes(unexpected) : unexpected.test(text);
  if (found) throw new Error(`${what} contains ${String(unexpected)}:\n${text}`);
}

function noCanary(result: CliResult, what: string): void {
  expectNoCanary(result.stdout, `stdout of ${what}`);
  expectNoCanary(result.stderr, `stderr of ${what}`);
}

afterAll(() => removeTempProjects());

describe('the case table', () => {
  it('has at least 30 broken files, each with an expectation, and no expectation without a file', () => {
    const broken = files.filter((f) => (CASES[f]?.code ?? 1) === 1);
    expect(broken.length).toBeGreaterThanOrEqual(30);
    expect(files.filter((f) => !(f in CASES))).toEqual([]);
    expect(Object.keys(CASES).filter((f) => !files.includes(f))).toEqual([]);
  });
});

describe.each(files)('%s', (file) => {
  const c = CASES[file] ?? { expect: [] };
  const code = c.code ?? 1;

  it(`aegis validate exits ${code} and names where the problem is`, async () => {
    const cwd = project(file);
    const result = await runCli(['validate'], cwd);
    const output = result.stdout + result.stderr;
    for (const expected of c.expect) expectContains(output, expected, 'aegis validate');
    for (const unexpected of c.notExpect ?? []) expectLacks(output, unexpected, 'aegis validate');
    if (c.problems !== undefined) expectContains(output, `: ${c.problems} problem${c.problems === 1 ? '' : 's'}`, 'the summary of aegis validate');
    expect(result.code).toBe(code);
  });

  it('prints no piece of the canary secret, with or without --verbose, whatever the command', async () => {
    const cwd = project(file);
    const runs: [string[], CliResult][] = [];
    const commands = [['validate'], ['--verbose', 'validate'], ['profiles'], ['--verbose', 'profiles', '--json']];
    // `aegis plugins` imports every plugin: only worth it where the case brings its own.
    if (existsSync(join(CASES_DIR, file.replace(/\.yaml$/, '')))) commands.push(['--verbose', 'plugins']);
    for (const args of commands) runs.push([args, await runCli(args, cwd)]);
    if (c.complete) runs.push([['--verbose', 'complete', '-p', c.complete.profile, 'hi'], await runCli(['--verbose', 'complete', '-p', c.complete.profile, 'hi'], cwd)]);
    for (const [args, result] of runs) noCanary(result, `aegis ${args.join(' ')}`);
    // --verbose validate reports the same problems, with the same exit code.
    expect(runs[1]![1].code).toBe(code);
  });

  if (c.complete) {
    const { profile, expect: expected } = c.complete;
    it(`aegis complete -p ${profile} refuses to run (exit 1) and names the problem`, async () => {
      const cwd = project(file);
      const result = await runCli(['complete', '-p', profile, 'hi'], cwd);
      for (const e of expected) expectContains(result.stderr, e, `stderr of aegis complete -p ${profile}`);
      expect(result.stdout).toBe('');
      expect(result.code).toBe(1);
    });
  }
});
