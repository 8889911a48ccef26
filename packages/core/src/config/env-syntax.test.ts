import { describe, expect, it } from '@jest/globals';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dotenv } from '../cjs.js';
import { formatIssue } from '../errors/index.js';
import { configErrorOf } from '../__tests__/errors.js';
import { loadEnvFile } from './env-file.js';
import { envFileIssues, NOT_AN_ASSIGNMENT, unclosedQuoteMessage } from './env-syntax.js';

describe('env file lines the reader would skip or misread', () => {
  it('takes every form dotenv reads (and reads them as dotenv does)', () => {
    const text = [
      '# a comment',
      '',
      'PLAIN=value',
      'export EXPORTED=1',
      'SPACED = around the equals',
      'COLON: yaml-like',
      'EMPTY=',
      'INLINE=kept # a comment after',
      'DOUBLE="with \\"escaped\\" quotes"',
      "SINGLE='single'",
      'BACK=`back`',
      'MULTI="first line',
      'not an assignment, but inside the quoted value',
      'last line"',
      'DOTTED.NAME-X=ok',
      '   INDENTED=ok',
      'AFTER=done',
    ].join('\r\n');
    expect(envFileIssues(text, '.env')).toEqual([]);
    expect(Object.keys(dotenv.parse(text))).toEqual(['PLAIN', 'EXPORTED', 'SPACED', 'COLON', 'EMPTY', 'INLINE', 'DOUBLE', 'SINGLE', 'BACK', 'MULTI', 'DOTTED.NAME-X', 'INDENTED', 'AFTER']);
  });

  it('names each line that is not an assignment: a missing "=", a bare export, a stray word', () => {
    const text = 'GOOD=1\nOPENAI_API_KEY sk-abc123456789\nexport\nsk-only-a-secret-0123456789\nOTHER=2\n';
    expect(envFileIssues(text, '.env')).toEqual([
      { file: '.env', line: 2, message: NOT_AN_ASSIGNMENT },
      { file: '.env', line: 3, message: NOT_AN_ASSIGNMENT },
      { file: '.env', line: 4, message: NOT_AN_ASSIGNMENT },
    ]);
    // What dotenv makes of it: those lines set nothing.
    expect(dotenv.parse(text)).toEqual({ GOOD: '1', OTHER: '2' });
  });

  it('names the line of a quote that never closes (dotenv would keep the quote in the value)', () => {
    const text = 'A=1\nOPENAI_API_KEY="sk-abc123456789\nB=2\n';
    expect(envFileIssues(text, '.env')).toEqual([{ file: '.env', line: 2, message: unclosedQuoteMessage('"') }]);
    expect(dotenv.parse(text).OPENAI_API_KEY).toBe('"sk-abc123456789');
    // An escaped quote does not close it either.
    expect(envFileIssues("K='it\\'", '.env')).toEqual([{ file: '.env', line: 1, message: unclosedQuoteMessage("'") }]);
  });

  it('makes loading the env file fail with those issues, naming no value', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aegis-env-syntax-'));
    try {
      const configFile = path.join(dir, 'backends.yaml');
      fs.writeFileSync(configFile, 'profiles: []\n');
      fs.writeFileSync(path.join(dir, '.env'), 'OPENAI_API_KEY sk-abc123456789\nKEY="sk-def123456789\n');
      const lines = configErrorOf(() => loadEnvFile({ configFile, cwd: dir })).issues.map(formatIssue);
      expect(lines).toEqual([`.env:1: ${NOT_AN_ASSIGNMENT}`, `.env:2: ${unclosedQuoteMessage('"')}`]);
      expect(lines.join('\n')).not.toMatch(/sk-/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
