import { describe, expect, it } from '@jest/globals';
import { interpolateString, missingVariableMessage } from './interpolate.js';

describe('interpolateString', () => {
  const env = { HOST: 'api.example.com', PORT: '8080', EMPTY: '' };

  it('replaces several references in one string', () => {
    const r = interpolateString('https://${HOST}:${PORT}/v1', env);
    expect(r.value).toBe('https://api.example.com:8080/v1');
    expect(r.substituted).toEqual(['api.example.com', '8080']);
    expect(r.missing).toEqual([]);
  });

  it('uses the default when the variable is unset or empty', () => {
    expect(interpolateString('${NOPE:-fallback}', env).value).toBe('fallback');
    expect(interpolateString('${EMPTY:-fallback}', env).value).toBe('fallback');
    expect(interpolateString('${HOST:-fallback}', env).value).toBe('api.example.com');
    expect(interpolateString('${NOPE:-}', env)).toMatchObject({ value: '', missing: [] });
  });

  it('does not record defaults as substituted values', () => {
    expect(interpolateString('${NOPE:-x}', env).substituted).toEqual([]);
  });

  it('treats $${ as a literal ${', () => {
    const r = interpolateString('cost: $${HOST} and ${PORT}', env);
    expect(r.value).toBe('cost: ${HOST} and 8080');
    expect(r.missing).toEqual([]);
  });

  it('reports missing variables by name, without defaults', () => {
    const r = interpolateString('${A}-${B:-b}-${C}', {});
    expect(r.missing).toEqual(['A', 'C']);
    expect(r.value).toBe('-b-');
  });

  it('flags malformed references', () => {
    expect(interpolateString('${not closed', env).malformed).toBe(true);
    expect(interpolateString('${1BAD}', env).malformed).toBe(true);
    expect(interpolateString('$HOST and $ alone', env)).toMatchObject({ value: '$HOST and $ alone', malformed: false });
  });

  it('only own entries of the environment are variables', () => {
    for (const name of ['__proto__', 'constructor', 'toString', 'valueOf']) {
      const r = interpolateString(`Bearer \${${name}}`, {});
      expect(r.missing).toEqual([name]);
      expect(r.value).toBe('Bearer ');
    }
  });

  it('is linear and stops at maxChars: 200,000 references neither overflow the stack nor build the whole string', () => {
    const input = '${HOME}'.repeat(200_000);
    const ok = interpolateString(input, { HOME: '/' });
    expect(ok.value).toHaveLength(200_000);
    expect(ok.substituted).toEqual(['/']);
    const cut = interpolateString(input, { HOME: '/home/someone' }, 1000);
    expect(cut).toMatchObject({ tooLong: true, value: '' });
  });

  it('builds the missing-variable message', () => {
    expect(missingVariableMessage('KEY', '.env')).toBe(
      'environment variable "KEY" is not set (set it in the environment or in .env)',
    );
  });
});

describe('interpolateString: a reference inside a default', () => {
  it('is resolved, one level deep, only when the default is used', () => {
    expect(interpolateString('${A:-${B}}', { A: 'a', B: 'b' })).toMatchObject({ value: 'a', substituted: ['a'], missing: [], malformed: false });
    expect(interpolateString('${A:-${B}}', { B: 'b' })).toMatchObject({ value: 'b', substituted: ['b'], missing: [] });
    expect(interpolateString('${A:-${B}}', { A: '', B: 'b' })).toMatchObject({ value: 'b' });
    expect(interpolateString('${A:-${B}}', {})).toMatchObject({ value: '', missing: ['B'], malformed: false });
    expect(interpolateString('${A:-x${B:-y}z${C}w}!', { C: 'c' })).toMatchObject({ value: 'xyzcw!', substituted: ['c'] });
    // `$${` is a literal `${` in a default too: the first `}` closes the reference, the second is text.
    expect(interpolateString('${A:-$${B}}', {})).toMatchObject({ value: '${B}', malformed: false });
  });

  it('a nested reference takes its own default when its variable is empty, as the outer one does', () => {
    const url = '${BASE_URL:-http://${HOST:-localhost}:8080/v1}';
    expect(interpolateString(url, { HOST: '' })).toMatchObject({ value: 'http://localhost:8080/v1', substituted: [], missing: [] });
    expect(interpolateString(url, { BASE_URL: '', HOST: 'gpu1' })).toMatchObject({ value: 'http://gpu1:8080/v1', substituted: ['gpu1'] });
  });

  it('a second level, or an unclosed one, is malformed, never left in the value as "${B}"', () => {
    for (const text of ['${A:-${B:-${C}}}', '${A:-${B}', '${A:-${ B }}', '${A:-${B:-x}']) {
      const r = interpolateString(text, { B: 'b', C: 'c' });
      expect([text, r.malformed]).toEqual([text, true]);
    }
  });

  it('stays linear: 100,000 nested defaults, and a default that never closes', () => {
    const many = interpolateString('${A:-${B:-x}}'.repeat(100_000), {});
    expect(many.value).toBe('x'.repeat(100_000));
    const open = interpolateString(`\${A:-${'${B}'.repeat(100_000)}`, { B: 'b' });
    expect(open.malformed).toBe(true);
  });
});
