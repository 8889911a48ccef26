/** The read-limit and redirect fields of every profile: validated where they are written, passed to the HTTP client. */
import { describe, expect, it } from '@jest/globals';
import { formatIssue } from '../errors/index.js';
import { parseConfigText } from '../config/load-config.js';
import { validateProfile } from '../config/validate.js';
import { BASE_CONFIG_KEYS, BaseBackendConfig } from './base-config.js';

function validate(lines: string[]) {
  const config = parseConfigText(['- profile_name: p', '  type: t', ...lines, ''].join('\n'), 'backends.yaml', {});
  return validateProfile(config.profiles[0]!, BaseBackendConfig);
}

describe('limit and redirect fields', () => {
  it('are optional (the HTTP client has the defaults) and accept sizes in bytes and a policy', () => {
    const none = validate([]);
    expect(none.ok && none.config).not.toHaveProperty('max_line_bytes');
    const set = validate(['  max_response_bytes: 1048576', '  max_stream_bytes: "4194304"', '  max_line_bytes: 65536', '  follow_redirects: never']);
    expect(set.ok && set.config).toMatchObject({ max_response_bytes: MiB, max_stream_bytes: 4 * MiB, max_line_bytes: 65536, follow_redirects: 'never' });
  });

  it.each([
    ['  max_line_bytes: 10', 'max_line_bytes', 3],
    ['  max_line_bytes: 1073741824', 'max_line_bytes', 3],
    ['  max_response_bytes: 1.5', 'max_response_bytes', 3],
    ['  follow_redirects: always', 'follow_redirects', 3],
  ])('%s is refused at its line, naming the field', (line, field, lineNumber) => {
    const result = validate([line]);
    expect(result.ok).toBe(false);
    const text = result.ok ? '' : result.issues.map(formatIssue).join('\n');
    expect(text).toContain(`backends.yaml:${lineNumber}:`);
    expect(text).toContain(`field "${field}"`);
  });

  it('a plugin schema written before these fields still counts as extending BaseBackendConfig', () => {
    expect(BASE_CONFIG_KEYS).not.toContain('max_line_bytes');
    expect(BASE_CONFIG_KEYS).toContain('idle_timeout');
  });
});

describe('timeout and idle_timeout', () => {
  it.each([
    ['  timeout: 3000000', 'timeout'],
    ['  idle_timeout: 3000000', 'idle_timeout'],
  ])('%s (past the 24.8 days a timer holds: milliseconds written as seconds) is refused at its line', (line, field) => {
    const result = validate([line]);
    expect(result.ok).toBe(false);
    const text = result.ok ? '' : result.issues.map(formatIssue).join('\n');
    expect(text).toContain('backends.yaml:3:');
    expect(text).toContain(`field "${field}"`);
  });

  it('a long but sane one is accepted', () => {
    const result = validate(['  timeout: 86400', '  idle_timeout: 3600']);
    expect(result.ok && result.config).toMatchObject({ timeout: 86400, idle_timeout: 3600 });
  });
});

const MiB = 1024 * 1024;
