import { describe, expect, it } from '@jest/globals';
import type { Logger } from '../contract/logger.js';
import { SecretScrubber } from '../secrets/scrubber.js';
import { ConsoleLogger } from './console-logger.js';
import { ScrubbingLogger } from './scrubbing-logger.js';
import { safeForTerminal } from './terminal-text.js';

const KEY = 'sk-logger-secret-0123456789';

class Recorder implements Logger {
  readonly entries: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
  debug(message: string, fields?: Record<string, unknown>) {
    this.entries.push({ level: 'debug', message, fields });
  }
  info(message: string, fields?: Record<string, unknown>) {
    this.entries.push({ level: 'info', message, fields });
  }
  warn(message: string, fields?: Record<string, unknown>) {
    this.entries.push({ level: 'warn', message, fields });
  }
  error(message: string, fields?: Record<string, unknown>) {
    this.entries.push({ level: 'error', message, fields });
  }
}

describe('ScrubbingLogger', () => {
  it('scrubs the message and every string of the fields, at any depth', () => {
    const secrets = new SecretScrubber();
    secrets.add(KEY);
    const inner = new Recorder();
    const logger = new ScrubbingLogger(inner, secrets);
    logger.info(`retry after: bad key ${KEY}`, { attempt: 1, nested: { list: [`x ${KEY}`], error: new Error(`e ${KEY}`) } });
    logger.warn('fields by name', { apiKey: 'not-known-but-named', options: { 'x-api-key': 'also-named' }, ok: 'visible' });
    logger.error('no fields');
    const all = JSON.stringify(inner.entries);
    expect(all).not.toContain(KEY);
    expect(all).not.toContain('not-known-but-named');
    expect(all).not.toContain('also-named');
    expect(inner.entries[0]).toEqual({
      level: 'info',
      message: 'retry after: bad key ***',
      fields: { attempt: 1, nested: { list: ['x ***'], error: { name: 'Error', message: 'e ***' } } },
    });
    expect(inner.entries[1]!.fields).toEqual({ apiKey: '***', options: { 'x-api-key': '***' }, ok: 'visible' });
    expect(inner.entries[2]).toEqual({ level: 'error', message: 'no fields', fields: undefined });
  });
});

describe('terminal safety', () => {
  it('escapes control characters and bidi overrides, keeps newlines, tabs and any script', () => {
    expect(safeForTerminal('a\u001b]52;c;SGVsbG8=\u0007b')).toBe('a\\u001b]52;c;SGVsbG8=\\u0007b');
    expect(safeForTerminal('\u001b[2J\u009b31m')).toBe('\\u001b[2J\\u009b31m');
    expect(safeForTerminal('x\r\ny\rz')).toBe('x\nyz');
    expect(safeForTerminal('evil\u202eTXT.exe')).toBe('evil\\u202eTXT.exe');
    const fine = '你好，世界 👩‍💻 émoji\ttab\nline';
    expect(safeForTerminal(fine)).toBe(fine);
  });

  it('applies to the console logger', () => {
    const lines: string[] = [];
    new ConsoleLogger('info', { write: (line) => lines.push(line) }).warn('backend said \u001b]0;pwned\u0007');
    expect(lines).toEqual(['[aegis] warn: backend said \\u001b]0;pwned\\u0007']);
  });
});
