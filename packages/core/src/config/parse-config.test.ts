import { describe, expect, it } from '@jest/globals';
import { ConfigurationError, formatIssue, type ConfigIssue } from '../errors/index.js';
import type { YAMLError } from 'yaml';
import { parseConfigText } from './load-config.js';
import { plainMessage } from './yaml-syntax.js';
import { configErrorOf } from '../__tests__/errors.js';

const FILE = 'backends.yaml';
const messages = (issues: readonly ConfigIssue[]) => issues.map(formatIssue);

function syntaxError(text: string): ConfigurationError {
  return configErrorOf(() => parseConfigText(text, FILE, {}));
}

describe('parseConfigText: YAML syntax', () => {
  it('throws every syntax error with file:line:column', () => {
    const error = syntaxError('- profile_name: a\n  type: b: c\n- profile_name: d\n\t type: e\n');
    expect(error.issues.length).toBeGreaterThanOrEqual(2);
    expect(error.issues[0]).toMatchObject({ file: FILE, line: 2, column: 9 });
    expect(error.issues[0]!.message).toMatch(/^YAML syntax error: /);
    expect(error.issues[1]).toMatchObject({ file: FILE, line: 4 });
    expect(error.message).toContain(`${FILE}:2:9: YAML syntax error`);
    expect(error.message).toContain(`${FILE}:4:`);
  });

  it('a key indented further than the key above points at the line to fix, once', () => {
    for (const [text, line, column, above] of [
      ['- profile_name: a\n  type: ollama\n    model: llama3.2\n  keep_alive: 5m\n', 3, 5, 2],
      ['profiles:\n  - profile_name: a\n    type: ollama\n\n      model: llama3.2\n', 5, 7, 3],
    ] as const) {
      const error = syntaxError(text);
      expect(messages(error.issues)).toEqual([
        `${FILE}:${line}:${column}: YAML syntax error: this line is indented further than the key on line ${above}, which already has a value, so it cannot be read; indent it like the keys around it (or, for a nested mapping, leave the value of the key above empty)`,
      ]);
    }
    // A second "key:" on one line is another problem, reported where it is.
    expect(messages(syntaxError('- profile_name: a\n  type: b: c\n').issues)).toEqual([
      `${FILE}:2:9: YAML syntax error: a nested mapping is not allowed here: a line has a second "key:" in it, or the next line is indented further; quote a value that contains ": "`,
    ]);
  });

  it('does not quote the offending source line (it may hold a secret)', () => {
    const error = syntaxError('- profile_name: a\n  api_key: "sk-canary-123\n');
    expect(error.message).not.toContain('sk-canary-123');
  });

  const SECRET = 'sk-literal-7f3e9b2c4d1a6e8f';
  /** Pieces of the secret: none may appear in a message (a partial leak is still a leak). */
  const expectNoSecret = (text: string) => {
    for (const piece of [SECRET, SECRET.slice(3, 15), SECRET.slice(-12)]) expect(text).not.toContain(piece);
  };
  /** Phrases of the yaml library's own messages, which quote source tokens. */
  const LIBRARY_PHRASES = ['YAML stream', 'Unexpected', 'token', 'Implicit', 'node end'];

  it('never quotes a source token: a key written literally next to a syntax error is not shown', () => {
    // Unindented by a tab, the lines that follow make the parser quote every token it cannot place.
    const text = `- profile_name: gpt\n  type: openai\n\tmodel: gpt-4o-mini\n  api_key: ${SECRET}\n`;
    const error = syntaxError(text);
    expectNoSecret(error.message);
    expect(error.message).not.toContain('gpt-4o-mini');
    for (const phrase of LIBRARY_PHRASES) expect(error.message).not.toContain(phrase);
    for (const issue of error.issues) expect(issue.message).toMatch(/^YAML syntax error: /);
  });

  it('never quotes a source token, whatever the syntax error (every mutation of a file holding a literal key)', () => {
    const valid = [
      'plugins:',
      '  - ./plugin.js',
      'profiles:',
      '  - profile_name: gpt',
      '    type: openai',
      `    api_key: ${SECRET}`,
      `    headers: { x-key: ${SECRET}, other: [1, 2] }`,
      `    stop: ["${SECRET}", '${SECRET}']`,
      '    options:',
      `      note: |`,
      `        ${SECRET}`,
      '',
    ].join('\n');
    const inserts = ['"', "'", '\t', ':', ': ', '[', ']', '{', '}', '- ', ',', '\n', '  ', '@', '`', '&a ', '*a', '!tag ', '%', '\\q', '? ', '---\n', '#'];
    let syntaxErrors = 0;
    const problems: string[] = [];
    for (let at = 0; at <= valid.length; at += 3) {
      for (const insert of inserts) {
        const text = valid.slice(0, at) + insert + valid.slice(at);
        let error: ConfigurationError | undefined;
        try {
          parseConfigText(text, FILE, {});
        } catch (e) {
          if (!ConfigurationError.isInstance(e)) throw e;
          error = e;
        }
        if (!error) continue;
        syntaxErrors++;
        for (const issue of error.issues) {
          const bad =
            !issue.message.startsWith('YAML syntax error: ') ||
            !(issue.line! >= 1 && issue.column! >= 1) ||
            [SECRET, SECRET.slice(3, 15), SECRET.slice(-12), ...LIBRARY_PHRASES].some((piece) => issue.message.includes(piece));
          if (bad) problems.push(`${JSON.stringify(text)} -> ${formatIssue(issue)}`);
        }
      }
    }
    expect(problems).toEqual([]);
    expect(syntaxErrors).toBeGreaterThan(100);
  });

  it('maps every error code of the library to a message of its own, never the library text', () => {
    const codes = [
      'ALIAS_PROPS', 'BAD_ALIAS', 'BAD_DIRECTIVE', 'BAD_DQ_ESCAPE', 'BAD_INDENT', 'BAD_PROP_ORDER', 'BAD_SCALAR_START',
      'BLOCK_AS_IMPLICIT_KEY', 'BLOCK_IN_FLOW', 'DUPLICATE_KEY', 'IMPOSSIBLE', 'KEY_OVER_1024_CHARS', 'MISSING_CHAR',
      'MULTILINE_IMPLICIT_KEY', 'MULTIPLE_ANCHORS', 'MULTIPLE_DOCS', 'MULTIPLE_TAGS', 'NON_STRING_KEY', 'RESOURCE_EXHAUSTION',
      'TAB_AS_INDENT', 'TAG_RESOLVE_FAILED', 'UNEXPECTED_TOKEN', 'BAD_COLLECTION_TYPE', 'SOMETHING_NEW',
    ] as YAMLError['code'][];
    for (const code of codes) {
      const message = plainMessage({ code, message: `Unexpected scalar token in YAML stream: "${SECRET}"` });
      expect(message).not.toBe('');
      expectNoSecret(message);
      expect(message).not.toContain('YAML stream');
    }
    expect(plainMessage({ code: 'BAD_SCALAR_START', message: 'Plain value cannot start with reserved character @' })).toBe(
      'an unquoted value cannot start with "@"; put the value in quotes',
    );
  });

  it('reports an unclosed quote at the line where it opens, not at the end of the file', () => {
    const error = syntaxError(`- profile_name: local\n  type: ollama\n  model: "llama3.2\n  api_key: ${SECRET}\n  timeout: 5\n`);
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]).toMatchObject({ file: FILE, line: 3, column: 10 });
    expect(error.issues[0]!.message).toBe(
      'YAML syntax error: the double-quoted value that starts here has no closing quote ("); add it at the end of the value',
    );
    expectNoSecret(error.message);
    const single = syntaxError("- profile_name: 'local\n  type: ollama\n");
    expect(single.issues).toHaveLength(1);
    expect(single.issues[0]).toMatchObject({ line: 1, column: 17 });
    expect(single.issues[0]!.message).toContain("single-quoted value that starts here has no closing quote (')");
  });

  it('reports an unclosed [ or { where it opens, and only the quote when a quote swallowed the bracket', () => {
    const list = syntaxError('- profile_name: a\n  stop: [1,\n    2\n- profile_name: b\n');
    expect(list.issues.map((i) => [i.line, i.column])).toEqual([[2, 9]]);
    expect(list.issues[0]!.message).toContain('the [...] list that starts here has no closing "]"');
    const map = syntaxError('- profile_name: a\n  options: {num_ctx: 1\n- profile_name: b\n');
    expect(map.issues.map((i) => [i.line, i.column])).toEqual([[2, 12]]);
    expect(map.issues[0]!.message).toContain('the {...} mapping that starts here has no closing "}"');
    const quoted = syntaxError('- profile_name: a\n  stop: ["x, y]\n');
    expect(quoted.issues.map((i) => [i.line, i.column])).toEqual([[2, 10]]);
    expect(quoted.issues[0]!.message).toContain('no closing quote');
  });

  it('reports a tab in the indentation once, at its line, without the follow-on errors', () => {
    const error = syntaxError(`- profile_name: local\n  type: ollama\n\tmodel: llama3.2\n  api_key: ${SECRET}\n`);
    expect(error.issues).toEqual([
      { file: FILE, line: 3, column: 1, message: 'YAML syntax error: tabs are not allowed for indentation in YAML; use spaces' },
    ]);
    // A tab after spaces, in a nested mapping.
    const nested = syntaxError('profiles:\n  - profile_name: a\n    type: b\n    options:\n  \tnum_ctx: 4\n');
    expect(nested.issues).toEqual([
      { file: FILE, line: 5, column: 3, message: 'YAML syntax error: tabs are not allowed for indentation in YAML; use spaces' },
    ]);
    // Several lines: one issue, naming the others.
    const several = syntaxError('profiles:\n\t- profile_name: a\n\t  type: b\n');
    expect(several.issues).toHaveLength(1);
    expect(several.issues[0]).toMatchObject({ line: 2, column: 1 });
    expect(several.issues[0]!.message).toBe('YAML syntax error: tabs are not allowed for indentation in YAML; use spaces (line 3 too)');
  });

  it('keeps an independent error before a tab-indented line, and ignores tabs inside values', () => {
    const error = syntaxError('- profile_name: a\n  type: b: c\n- profile_name: d\n\t type: e\n');
    expect(error.issues.map((i) => [i.line, i.column])).toEqual([[2, 9], [4, 1]]);
    expect(error.issues[1]!.message).toContain('tabs are not allowed');
    // A tab inside a block value is content, and the error is elsewhere.
    const block = syntaxError('- profile_name: a\n  type: t\n  note: |\n    x\n    \ty\n  model: "m\n');
    expect(block.issues).toHaveLength(1);
    expect(block.issues[0]).toMatchObject({ line: 6, column: 10 });
    expect(block.issues[0]!.message).not.toContain('tab');
    // A tab-indented comment is no syntax error at all.
    expect(parseConfigText('- profile_name: a\n  type: t\n\t# a comment\n', FILE, {}).profiles).toHaveLength(1);
  });

  it('reports each problem of a line once', () => {
    const error = syntaxError('a: 1\n---\nb: 2\n');
    expect(formatIssue(error.issues[0]!)).toBe(
      `${FILE}:2:1: YAML syntax error: the file holds more than one YAML document (separated by a "---" line); keep only one`,
    );
    const lines = error.issues.map((i) => `${i.line}:${i.message}`);
    expect(new Set(lines).size).toBe(lines.length);
  });
});

describe('parseConfigText: structure', () => {
  it('reads the seed format (a list of profiles)', () => {
    const config = parseConfigText(
      '- profile_name: example_com_default\n  type: example_com\n  model: "example-model-v1"\n  timeout: "30"\n',
      FILE,
      {},
    );
    expect(config.issues).toEqual([]);
    expect(config.plugins).toEqual([]);
    expect(config.displayFile).toBe(FILE);
    expect(config.profiles).toHaveLength(1);
    const [p] = config.profiles;
    expect(p).toMatchObject({ name: 'example_com_default', type: 'example_com', file: FILE, line: 1, issues: [] });
    expect(p!.values).toEqual({ profile_name: 'example_com_default', type: 'example_com', model: 'example-model-v1', timeout: '30' });
    expect(p!.locate(['timeout'])).toEqual({ line: 4, column: 3 });
  });

  it('reads the mapping form with plugins: and profiles:', () => {
    const config = parseConfigText(
      'plugins:\n  - "@acme/aegis-plugin"\n  - ./local-plugin.js\nprofiles:\n  - profile_name: a\n    type: t\n',
      'conf/backends.yaml',
      {},
    );
    expect(config.issues).toEqual([]);
    expect(config.plugins.map(({ spec, file, line }) => ({ spec, file, line }))).toEqual([
      { spec: '@acme/aegis-plugin', file: 'conf/backends.yaml', line: 2 },
      { spec: './local-plugin.js', file: 'conf/backends.yaml', line: 3 },
    ]);
    expect(config.plugins[0]!.baseDir).toMatch(/conf$/);
    expect(config.profiles.map((p) => [p.name, p.line])).toEqual([['a', 5]]);
  });

  it('reports a bad plugins list', () => {
    const config = parseConfigText('plugins: some-plugin\nprofiles: []\n', FILE, {});
    expect(messages(config.issues)).toEqual([
      `${FILE}:1:10: "plugins" must be a list of package names or relative paths, got a string`,
    ]);
  });

  it('reports an unknown top-level key with did-you-mean', () => {
    const config = parseConfigText('plugin:\n  - x\nprofiles:\n  - profile_name: a\n    type: t\n', FILE, {});
    expect(messages(config.issues)).toEqual([`${FILE}:1:1: unknown top-level key "plugin"; did you mean "plugins"?`]);
    expect(config.profiles).toHaveLength(1);
  });

  it('reports an unknown top-level key without a close match', () => {
    const config = parseConfigText('settings: {}\nprofiles: []\n', FILE, {});
    expect(messages(config.issues)).toEqual([`${FILE}:1:1: unknown top-level key "settings"; allowed: plugins, allow_plugins, profiles, http, gateway`]);
  });

  it('reports a root that is neither a list nor a mapping', () => {
    const config = parseConfigText('just a string\n', FILE, {});
    expect(config.issues).toHaveLength(1);
    expect(formatIssue(config.issues[0]!)).toBe(
      `${FILE}:1:1: the top level is a string; expected a list of profiles (- profile_name: ...) or a mapping with "profiles:" (and optionally "plugins:")`,
    );
  });

  it('reports an empty file', () => {
    expect(parseConfigText('# nothing\n', FILE, {}).issues[0]!.message).toMatch(/^the file is empty/);
  });

  it('reports a mapping root that is a single profile, once, not each of its keys as an unknown top-level key', () => {
    const config = parseConfigText('profile_name: a\ntype: t\nmodel: m\napi_key: ${KEY}\n', FILE, { KEY: 'sk-not-shown' });
    expect(messages(config.issues)).toEqual([
      `${FILE}:1:1: the file is a single profile; write it as a list item ("- profile_name: ...") or under "profiles:"`,
    ]);
    expect(config.profiles).toEqual([]);
  });

  it('still reports unknown top-level keys of a mapping without profile_name or profiles', () => {
    const config = parseConfigText('profile: a\ntype: t\n', FILE, {});
    expect(messages(config.issues)).toEqual([
      `${FILE}:1:1: unknown top-level key "profile"; did you mean "profiles"?`,
      `${FILE}:1:1: no "profiles:" list; expected a list of profiles (- profile_name: ...) or a mapping with "profiles:" (and optionally "plugins:")`,
      `${FILE}:2:1: unknown top-level key "type"; allowed: plugins, allow_plugins, profiles, http, gateway`,
    ]);
  });

  it('reports a profile that is not a mapping', () => {
    const config = parseConfigText('- profile_name: a\n  type: t\n- just-a-name\n', FILE, {});
    expect(messages(config.issues)).toEqual([
      `${FILE}:3:3: profile #2 is a string; expected a mapping with "profile_name", "type" and the type's fields`,
    ]);
    expect(config.profiles.map((p) => p.name)).toEqual(['a']);
  });

  it('reports a missing profile_name', () => {
    const config = parseConfigText('- type: t\n  model: m\n', FILE, {});
    expect(messages(config.issues)).toEqual([`${FILE}:1:3: profile #1 has no "profile_name"; every profile needs a unique name`]);
    expect(config.profiles).toEqual([]);
  });

  it('reports a non-string profile_name with a hint', () => {
    const config = parseConfigText('- profile_name: 123\n  type: t\n', FILE, {});
    expect(messages(config.issues)).toEqual([
      `${FILE}:1:3: profile #1: "profile_name" must be a non-empty string, got a number (quote it: "123")`,
    ]);
  });

  it('reports a missing type on the profile, leaving other profiles usable', () => {
    const config = parseConfigText('- profile_name: a\n  model: m\n- profile_name: b\n  type: t\n', FILE, {});
    expect(config.issues).toEqual([]);
    const [a, b] = config.profiles;
    expect(a!.type).toBe('');
    expect(messages(a!.issues)).toEqual([
      `${FILE}:1:3: profile "a", field "type": missing "type" (the provider type this profile uses, which selects its plugin)`,
    ]);
    expect(b!.issues).toEqual([]);
  });

  it('reports a non-string type', () => {
    const config = parseConfigText('- profile_name: a\n  type: [x]\n', FILE, {});
    expect(messages(config.profiles[0]!.issues)).toEqual([
      `${FILE}:2:3: profile "a", field "type": "type" must be a non-empty string, got a list`,
    ]);
  });

  it('reports duplicate profile names with both lines', () => {
    const config = parseConfigText(
      '- profile_name: a\n  type: t\n- profile_name: b\n  type: t\n- profile_name: a\n  type: u\n',
      FILE,
      {},
    );
    expect(messages(config.issues)).toEqual([
      `${FILE}:5:3: profile "a", field "profile_name": duplicate profile_name "a": defined at line 1 and again at line 5; profile names must be unique`,
    ]);
    expect(config.profiles.map((p) => p.name)).toEqual(['a', 'b']);
  });

  it('reports duplicate keys inside a profile, at any depth', () => {
    const config = parseConfigText(
      '- profile_name: a\n  type: t\n  model: x\n  options:\n    n: 1\n    n: 2\n  model: y\n',
      FILE,
      {},
    );
    expect(messages(config.profiles[0]!.issues)).toEqual([
      `${FILE}:6:5: profile "a", field "options.n": duplicate key "n" (first at line 5); each field may appear only once`,
      `${FILE}:7:3: profile "a", field "model": duplicate key "model" (first at line 3); each field may appear only once`,
    ]);
  });

  it('reports duplicate plugins and duplicate top-level keys', () => {
    const config = parseConfigText('plugins: [a, a]\nprofiles: []\nprofiles: []\n', FILE, {});
    expect(messages(config.issues)).toEqual([
      `${FILE}:1:14: "a" is listed twice in plugins (first at line 1)`,
      `${FILE}:3:1: duplicate top-level key "profiles" (first at line 2)`,
    ]);
  });

  it('follows YAML anchors and aliases', () => {
    const config = parseConfigText(
      '- profile_name: a\n  type: t\n  options: &opts\n    n: ${N}\n- profile_name: b\n  type: t\n  options: *opts\n',
      FILE,
      { N: '4' },
    );
    expect(config.profiles[1]!.values['options']).toEqual({ n: '4' });
  });

  it('an alias names the latest anchor of that name before it, as YAML says, when a name is anchored twice', () => {
    const config = parseConfigText(
      '- profile_name: a\n  type: t\n  options: &opts\n    n: 1\n- profile_name: b\n  type: t\n  options: &opts\n    n: 2\n- profile_name: c\n  type: t\n  options: *opts\n',
      FILE,
      {},
    );
    expect(config.issues).toEqual([]);
    expect(config.profiles[2]!.values['options']).toEqual({ n: 2 });
  });
});

describe('parseConfigText: interpolation', () => {
  const text = [
    '- profile_name: p',
    '  type: t',
    '  llm_url: "https://${HOST}/v1?x=${MISSING}"',
    '  api_key: ${API_KEY}',
    '  model: ${MODEL:-default-model}',
    '  note: "price: $${AMOUNT}"',
    '  options:',
    '    tags: [a, "${TAG}"]',
    '',
  ].join('\n');

  it('interpolates at any depth, with defaults and escapes, and records substituted values', () => {
    const [p] = parseConfigText(text, FILE, { HOST: 'api.example.com', API_KEY: 'sk-canary-secret', TAG: 'gpu', MISSING: 'm' }).profiles;
    expect(p!.issues).toEqual([]);
    expect(p!.values).toMatchObject({
      llm_url: 'https://api.example.com/v1?x=m',
      api_key: 'sk-canary-secret',
      model: 'default-model',
      note: 'price: ${AMOUNT}',
      options: { tags: ['a', 'gpu'] },
    });
    expect(p!.substitutedValues).toEqual(expect.arrayContaining(['api.example.com', 'sk-canary-secret', 'gpu', 'm']));
    expect(p!.substitutedValues).not.toContain('default-model');
  });

  it('reports a missing variable at the scalar, naming profile and field, without any value', () => {
    const [p] = parseConfigText(text, FILE, { HOST: 'api.example.com', TAG: 'gpu', SECRET_CANARY: 'xyz' }).profiles;
    expect(messages(p!.issues)).toEqual([
      `${FILE}:3:12: profile "p", field "llm_url": environment variable "MISSING" is not set (set it in the environment or in a .env file beside backends.yaml)`,
      `${FILE}:4:12: profile "p", field "api_key": environment variable "API_KEY" is not set (set it in the environment or in a .env file beside backends.yaml)`,
    ]);
  });

  it('names the env file in the missing-variable message when there is one', () => {
    const [p] = parseConfigText('- profile_name: p\n  type: t\n  tags: ["${TAG}"]\n', FILE, {}, 'conf/.env').profiles;
    expect(messages(p!.issues)).toEqual([
      `${FILE}:3:10: profile "p", field "tags[0]": environment variable "TAG" is not set (set it in the environment or in conf/.env)`,
    ]);
  });

  it('reports a malformed reference', () => {
    const [p] = parseConfigText('- profile_name: p\n  type: t\n  model: "${oops"\n', FILE, {}).profiles;
    expect(p!.issues).toHaveLength(1);
    expect(p!.issues[0]).toMatchObject({ line: 3, field: 'model', profile: 'p' });
    expect(p!.issues[0]!.message).toMatch(/^malformed variable reference/);
  });

  it('interpolates profile_name and type too', () => {
    const [p] = parseConfigText('- profile_name: ${NAME}\n  type: ${TYPE:-ollama}\n', FILE, { NAME: 'local' }).profiles;
    expect(p).toMatchObject({ name: 'local', type: 'ollama', values: { profile_name: 'local', type: 'ollama' } });
  });

  it('does not interpolate keys or non-string scalars', () => {
    const [p] = parseConfigText('- profile_name: p\n  type: t\n  timeout: 30\n  flag: true\n', FILE, {}).profiles;
    expect(p!.values).toMatchObject({ timeout: 30, flag: true });
  });
});

describe('parseConfigText: nested defaults', () => {
  it('resolves a reference inside a default, one level deep, only when the default is used, at file:line', () => {
    const text = '- profile_name: p\n  type: t\n  model: ${MODEL:-${FALLBACK_MODEL}}\n  base_url: http://${H:-localhost}:${PORT:-${DEFAULT_PORT:-11434}}/v1\n';
    const [set] = parseConfigText(text, FILE, { MODEL: 'm1', FALLBACK_MODEL: 'never-used' }).profiles;
    expect(set!.values).toMatchObject({ model: 'm1', base_url: 'http://localhost:11434/v1' });
    expect(set!.issues).toEqual([]);
    const [fallback] = parseConfigText(text, FILE, { FALLBACK_MODEL: 'm2', DEFAULT_PORT: '8080' }).profiles;
    expect(fallback!.values).toMatchObject({ model: 'm2', base_url: 'http://localhost:8080/v1' });
    expect(fallback!.substitutedValues.sort()).toEqual(['8080', 'm2']);
    // Neither set: the inner variable is the missing one; the value is never the literal "${FALLBACK_MODEL}".
    const [neither] = parseConfigText(text, FILE, {}).profiles;
    expect(neither!.values.model).toBe('');
    expect(messages(neither!.issues)).toEqual([
      `${FILE}:3:10: profile "p", field "model": environment variable "FALLBACK_MODEL" is not set (set it in the environment or in a .env file beside backends.yaml)`,
    ]);
  });

  it('reports deeper nesting as a malformed reference at its line', () => {
    const [p] = parseConfigText('- profile_name: p\n  type: t\n  model: ${A:-${B:-${C}}}\n', FILE, { C: 'c' }).profiles;
    expect(p!.issues).toHaveLength(1);
    expect(p!.issues[0]).toMatchObject({ line: 3, column: 10, field: 'model', profile: 'p' });
    expect(p!.issues[0]!.message).toMatch(/^malformed variable reference: .*a default may hold \$\{NAME\} or \$\{NAME:-text\}, one level deep/);
  });
});

describe('parseConfigText: merge keys and tags', () => {
  const MERGE = 'merge keys ("<<: *name") are not supported; repeat the fields here (an alias of a whole value, "key: *name", works)';

  it('says merge keys are not supported, where they are, instead of an unknown field', () => {
    const config = parseConfigText('profiles:\n  - &base\n    profile_name: a\n    type: t\n  - <<: *base\n    profile_name: b\n    type: t\n', FILE, {});
    expect(config.issues).toEqual([]);
    expect(messages(config.profiles[1]!.issues)).toEqual([`${FILE}:5:5: profile "b": ${MERGE}`]);
    // Nested, and without a profile_name of its own (it was to come from the merge).
    const nested = parseConfigText('- profile_name: a\n  type: t\n  options: {<<: {x: 1}, y: 2}\n- <<: {profile_name: c}\n', FILE, {});
    expect(messages(nested.profiles[0]!.issues)).toEqual([`${FILE}:3:13: profile "a", field "options": ${MERGE}`]);
    expect(messages(nested.issues)).toEqual([`${FILE}:4:3: profile #2: ${MERGE}`]);
  });

  it('under %YAML 1.1 too, where the key is no string (it showed as "Symbol…")', () => {
    const config = parseConfigText('%YAML 1.1\n---\nprofiles:\n  - profile_name: a\n    type: t\n    <<: {model: y}\n', FILE, {});
    expect(messages(config.profiles[0]!.issues)).toEqual([`${FILE}:6:5: profile "a": ${MERGE}`]);
    const top = parseConfigText('%YAML 1.1\n---\n<<: {x: 1}\nprofiles: []\n', FILE, {});
    expect(messages(top.issues)).toEqual([`${FILE}:3:1: ${MERGE}`]);
  });

  it('reports a value with a tag it does not read at its line; keeps the plain core tags', () => {
    const text = [
      '- profile_name: a',
      '  type: t',
      '  options:',
      '    b: !!binary aGVsbG8=',
      '    o: !!omap [ {x: 1}, {y: 2} ]',
      '    s: !!set { q, r }',
      '    c: !custom value',
      '    ts: !!timestamp 2001-12-14',
      '    str: !!str 5',
      '    int: !!int "7"',
      '    plain: ! text',
      '',
    ].join('\n');
    const [p] = parseConfigText(text, FILE, {}).profiles;
    const tag = (t: string) => `unsupported YAML tag "${t}"; AEGIS reads plain values (strings, numbers, booleans, lists, mappings): remove the tag`;
    expect(messages(p!.issues)).toEqual([
      `${FILE}:4:17: profile "a", field "options.b": ${tag('!!binary')}`,
      `${FILE}:5:15: profile "a", field "options.o": ${tag('!!omap')}`,
      `${FILE}:6:14: profile "a", field "options.s": ${tag('!!set')}`,
      `${FILE}:7:16: profile "a", field "options.c": ${tag('!custom')}`,
      `${FILE}:8:21: profile "a", field "options.ts": ${tag('!!timestamp')}`,
    ]);
    expect(p!.values.options).toMatchObject({ str: '5', int: 7, plain: 'text' });
    // Never shown as bytes: {"0":104,...}.
    expect(JSON.stringify(p!.values)).not.toContain('"0":104');
  });
});

describe('parseConfigText: plugins entries are taken as written', () => {
  it('reports a ${VAR} in plugins: or allow_plugins: at its line instead of substituting it', () => {
    const config = parseConfigText('plugins:\n  - ${PDIR}/p.js\nallow_plugins:\n  - ./ok\n  - ${X:-./y}\nprofiles: []\n', FILE, { PDIR: '/tmp' });
    expect(config.plugins).toEqual([]);
    expect(config.allowPlugins?.map((p) => p.spec)).toEqual(['./ok']);
    expect(messages(config.issues)).toEqual([
      `${FILE}:2:5: plugins entry #1: \${VAR} references are not substituted here: plugins and allow_plugins name the code to load, which is taken as written (never from the environment or .env); write the path or package name itself`,
      `${FILE}:5:5: allow_plugins entry #2: \${VAR} references are not substituted here: plugins and allow_plugins name the code to load, which is taken as written (never from the environment or .env); write the path or package name itself`,
    ]);
  });
});

describe('parseConfigText: sections are not profiles', () => {
  it('http: neither accepts nor suggests profile_name and type', () => {
    const config = parseConfigText('http:\n  typ: 1\n  type: x\n  profile_name: y\n  max_sockets: 8\nprofiles: []\n', FILE, {});
    expect(messages(config.issues)).toEqual([
      `${FILE}:2:3: field "http.typ": unknown field "typ"; allowed fields: max_sockets, idle_socket_timeout`,
      `${FILE}:3:3: field "http.type": unknown field "type"; allowed fields: max_sockets, idle_socket_timeout`,
      `${FILE}:4:3: field "http.profile_name": unknown field "profile_name"; allowed fields: max_sockets, idle_socket_timeout`,
    ]);
  });
});
