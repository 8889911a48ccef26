/**
 * Hostile configuration (issue "Security hardening", item 4 and the low items
 * on config): a billion-laughs alias bomb, nesting the parser cannot follow,
 * `${__proto__}`, 200,000 references in one value, files far too large. The
 * attacks that used to hang or exhaust memory run the built CLI in a child
 * process under a heap limit and a kill timer; the others run in-process.
 * Every run must end with a typed message naming file:line, never a stack
 * trace, and never print the canary.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { createAegis } from '@aegis/core';
import { expectNoCanary, expectNoCanaryInCliOutputs, removeTempProjects, runCli, tempProject } from './helpers.js';
import { CHILD_TEST_TIMEOUT_MS, hostileLayout, installOllama, removeHostileLayouts, runCliChild, type ChildResult } from './hostile-helpers.js';

afterAll(() => {
  expectNoCanaryInCliOutputs();
  removeTempProjects();
  removeHostileLayouts();
});

/** A child run that ended on its own (not killed, no V8 abort), with exit code 1 and no stack trace. */
function expectTypedFailure(result: ChildResult): string {
  const output = result.stdout + result.stderr;
  expect({ killed: result.killed, signal: result.signal }).toEqual({ killed: false, signal: null });
  expect(output).not.toMatch(/heap out of memory|Maximum call stack|RangeError|TypeError|\n\s+at /);
  expect(result.code).toBe(1);
  expectNoCanary(output, 'the child CLI output');
  return output;
}

/** Nine levels of nine aliases each: 9^9 (387 million) strings once expanded; 700 bytes of YAML. */
function billionLaughs(indent: string): string {
  const names = 'abcdefghi';
  const lines = [`${indent}lol0: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]`];
  for (let i = 1; i < names.length; i++) {
    const alias = `*${names[i - 1]}`;
    lines.push(`${indent}lol${i}: &${names[i]} [${Array(9).fill(alias).join(', ')}]`);
  }
  return lines.join('\n') + '\n';
}

const BOMB_YAML =
  'profiles:\n' +
  '  - profile_name: bomb\n' +
  '    type: ollama\n' +
  '    model: llama3.2\n' +
  '    api_key: ${AEGIS_CANARY}\n' +
  '    options:\n' +
  billionLaughs('      ');

describe('a YAML alias bomb (billion laughs)', () => {
  it('validate, plugins and complete end at once with a typed message; the loader stops expanding', async () => {
    const { project } = hostileLayout(BOMB_YAML);
    installOllama(project);
    const validate = expectTypedFailure(await runCliChild(['validate'], project));
    expect(validate).toMatch(/backends\.yaml:\d+:\d+/);
    expect(validate).toContain('profile "bomb"');
    expect(validate).toContain('the aliases ("*name") of this file expand to more than 10000 values');

    const plugins = await runCliChild(['plugins'], project);
    expect({ killed: plugins.killed, signal: plugins.signal, code: plugins.code }).toEqual({ killed: false, signal: null, code: 0 });
    expect(plugins.stdout).toContain('@aegis/provider-ollama');

    const complete = expectTypedFailure(await runCliChild(['complete', '-p', 'bomb', 'hi'], project));
    expect(complete).toContain('expand to more than 10000 values');
  }, 2 * CHILD_TEST_TIMEOUT_MS);

  it('the same bomb spread over many profiles is stopped by one budget for the whole file, reported once', async () => {
    let yaml = 'profiles:\n';
    for (let p = 0; p < 40; p++) {
      yaml += `  - profile_name: p${p}\n    type: ollama\n    model: m\n    options:\n`;
      // Profile 0 defines 9^4 = 6,561 values under &d; every other profile names *d nine times (59,049 values each).
      if (p === 0) yaml += billionLaughs('      ').split('\n').slice(0, 4).join('\n') + '\n';
      else yaml += `      x: [${Array(9).fill('*d').join(', ')}]\n`;
    }
    // In a child process: before the budget, this took minutes of CPU in one go.
    const { project } = hostileLayout(yaml);
    installOllama(project);
    const result = await runCliChild(['validate'], project);
    const stdout = expectTypedFailure(result);
    // Profile 0 (8,289 values) fits; p1 passes the limit; every later profile is left unexpanded and says so, once each.
    expect(stdout).not.toMatch(/profile "p0".*expand to more/);
    expect(stdout).toMatch(/profile "p1", field "options\.x\[\d\]": the aliases \("\*name"\) of this file expand to more than 10000 values/);
    expect(stdout.match(/expand to more than 10000 values/g)).toHaveLength(39);
  }, CHILD_TEST_TIMEOUT_MS);

  it('an alias of a long string repeated many times stops at the expansion budget, with one issue', async () => {
    const long = 'x'.repeat(512 * 1024);
    const yaml = `profiles:\n  - profile_name: big\n    type: ollama\n    model: m\n    options:\n      a: &s "${long}"\n      b: [${Array(40).fill('*s').join(', ')}]\n`;
    const dir = tempProject(yaml);
    const { code, stdout } = await runCli(['validate'], dir);
    expect(code).toBe(1);
    expect(stdout).toContain('grow by more than 16777216 characters once aliases');
    expect(stdout.match(/grow by more than/g)).toHaveLength(1);
  });

  it('an alias that contains itself is named as such', async () => {
    const dir = tempProject('profiles:\n  - profile_name: loop\n    type: ollama\n    model: m\n    options: &o\n      again: *o\n');
    const { code, stdout } = await runCli(['validate'], dir);
    expect(code).toBe(1);
    expect(stdout).toContain('backends.yaml:6:14');
    expect(stdout).toContain('refers to a value that contains the alias itself');
  });
});

describe('deep nesting gets its own message', () => {
  it('nesting the parser cannot follow is reported as nesting, at its line, not as aliases', async () => {
    const dir = tempProject(`profiles:\n  - profile_name: deep\n    type: ollama\n    model: m\n    options:\n      x: ${'['.repeat(5000)}${']'.repeat(5000)}\n`);
    const { code, stdout } = await runCli(['validate'], dir);
    expect(code).toBe(1);
    expect(stdout).toMatch(/backends\.yaml:6:\d+/);
    expect(stdout).toContain('nested too deeply');
    expect(stdout).not.toContain('alias');
  });

  it('nesting past the loader\'s own limit names the limit and the field', async () => {
    const dir = tempProject(`profiles:\n  - profile_name: deep\n    type: ollama\n    model: m\n    options:\n      x: ${'['.repeat(80)}1${']'.repeat(80)}\n`);
    const { code, stdout } = await runCli(['validate'], dir);
    expect(code).toBe(1);
    expect(stdout).toContain('profile "deep"');
    expect(stdout).toContain('nested more than 64 levels deep');
    expect(stdout).not.toContain('alias');
  });
});

describe('variables are only the environment\'s own entries', () => {
  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])('${%s} is an unset variable, not a member of Object', async (name) => {
    const dir = tempProject(`- profile_name: proto\n  type: openai\n  model: gpt-4o-mini\n  api_key: "Bearer \${${name}}"\n`);
    // An unset variable is a warning by default and an error with --strict; either way never a value.
    const plain = await runCli(['validate'], dir);
    expect(plain.stdout).toContain(`backends.yaml:4:12: profile "proto", field "api_key": not usable here: set ${name}`);
    const { code, stdout } = await runCli(['validate', '--strict'], dir);
    expect(code).toBe(1);
    expect(stdout).toContain(`backends.yaml:4:12: profile "proto", field "api_key": environment variable "${name}" is not set`);
    expect(plain.stdout + stdout).not.toContain('[object Object]');
    const complete = await runCli(['complete', '-p', 'proto', 'hi'], dir);
    expect(complete.code).not.toBe(0);
    expect(complete.stderr).toContain(`environment variable "${name}" is not set`);
  });

  it('a .env line "__proto__=x" pollutes nothing and defines nothing', async () => {
    const dir = tempProject(`- profile_name: p\n  type: ollama\n  model: \${__proto__}\n`, { envLines: ['__proto__=polluted-model', 'constructor=x'] });
    const { code, stdout } = await runCli(['validate', '--strict'], dir);
    expect(code).toBe(1);
    expect(stdout).toContain('backends.yaml:3:10: profile "p", field "model": environment variable "__proto__" is not set');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype.constructor).toBe(Object);
  });
});

describe('200,000 references in one value', () => {
  const refs = '${HOME}'.repeat(200_000);
  it('expanding past the per-value limit is an issue at the field, not a stack overflow', async () => {
    const dir = tempProject(`- profile_name: many\n  type: ollama\n  model: m\n  description: "${refs}"\n`);
    const { code, stdout, stderr } = await runCli(['validate'], dir, { HOME: '/home/aegis-user' });
    expect(stderr).not.toMatch(/Maximum call stack|RangeError/);
    expect(code).toBe(1);
    expect(stdout).toContain('backends.yaml:4:16: profile "many", field "description": this value is longer than 1048576 characters');
  });

  it('within the limit they load, linearly, without a stack overflow', async () => {
    const dir = tempProject(`- profile_name: many\n  type: ollama\n  model: m\n  description: "${refs}"\n`);
    const { code, stdout, stderr } = await runCli(['validate'], dir, { HOME: '/' });
    expect(stderr).toBe('');
    expect(stdout).toContain('1 profile OK');
  });
});

describe('file size limits', () => {
  it('a 50 MB scalar is refused before it is parsed, under a 128 MiB heap', async () => {
    const { project } = hostileLayout('');
    writeFileSync(join(project, 'backends.yaml'), `- profile_name: huge\n  type: ollama\n  model: m\n  description: "${'y'.repeat(50 * 1024 * 1024)}"\n`);
    const output = expectTypedFailure(await runCliChild(['validate'], project, {}, { maxOldSpaceMb: 128 }));
    expect(output).toContain('backends.yaml is larger than 2 MiB, the most AEGIS reads from such a file');
  }, CHILD_TEST_TIMEOUT_MS);

  it('100,000 profiles are refused at once (over the size limit) rather than loaded for minutes', async () => {
    const { project } = hostileLayout('');
    let yaml = 'profiles:\n';
    for (let i = 0; i < 100_000; i++) yaml += `  - profile_name: p${i}\n    type: ollama\n    model: llama3.2\n`;
    writeFileSync(join(project, 'backends.yaml'), yaml);
    installOllama(project);
    const output = expectTypedFailure(await runCliChild(['validate'], project));
    expect(output).toContain('larger than 2 MiB');
  }, CHILD_TEST_TIMEOUT_MS);

  it('a .env file over its limit is refused with its name', async () => {
    const dir = tempProject('- profile_name: p\n  type: ollama\n  model: m\n', { envLines: [`BIG=${'z'.repeat(2 * 1024 * 1024)}`] });
    const { code, stderr, stdout } = await runCli(['validate'], dir);
    expect(code).toBe(1);
    expect(stdout + stderr).toContain('env file .env is larger than 1 MiB');
  });
});
