import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatIssue } from '../errors/index.js';
import { loadEnvFile } from './env-file.js';
import { loadConfig } from './load-config.js';
import { decodeUtf8, readLimitedFile } from './read-limited.js';
import { configErrorOf } from '../__tests__/errors.js';

let dir: string;
const writers: ChildProcess[] = [];
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aegis-read-'));
});
afterEach(() => {
  for (const writer of writers.splice(0)) writer.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});


/**
 * A FIFO a child process writes `text` into. A reader that opens it the
 * blocking way meets the writer and reads the text (so a reader that accepts
 * FIFOs fails the test instead of hanging it); a reader that refuses FIFOs
 * never waits for it. The writer is killed after each test.
 */
function fifoFedWith(file: string, text: string): void {
  execFileSync('mkfifo', [file]);
  writers.push(spawn('sh', ['-c', 'printf %s "$1" > "$2"', 'sh', text, file], { stdio: 'ignore' }));
}

const PROFILE = '- profile_name: a\n  type: t\n  model: caf\u00e9\n';

describe('reading backends.yaml and .env as UTF-8', () => {
  it('refuses a config that is not UTF-8, at the line and column of the first bad byte', () => {
    // "café" saved as Latin-1: 0xE9 alone is not UTF-8. Decoded loosely it became "caf\uFFFD" in silence.
    const latin1 = Buffer.concat([Buffer.from('- profile_name: a\n  type: t\n  model: caf'), Buffer.from([0xe9]), Buffer.from('\n')]);
    fs.writeFileSync(path.join(dir, 'backends.yaml'), latin1);
    const error = configErrorOf(() => loadConfig({ cwd: dir, env: {} }));
    expect(error.issues).toHaveLength(1);
    expect(formatIssue(error.issues[0]!)).toBe(
      'backends.yaml:3:13: the file is not UTF-8 text: the bytes here are not valid UTF-8 (saved as Latin-1 or Windows-1252?); save the file as UTF-8',
    );
  });

  it('refuses a UTF-16 file (either byte order), and reads a UTF-8 one with or without a byte order mark', () => {
    for (const bom of [[0xff, 0xfe], [0xfe, 0xff]]) {
      fs.writeFileSync(path.join(dir, 'backends.yaml'), Buffer.concat([Buffer.from(bom), Buffer.from(PROFILE, 'utf16le')]));
      const error = configErrorOf(() => loadConfig({ cwd: dir, env: {} }));
      expect(formatIssue(error.issues[0]!)).toBe('backends.yaml:1:1: the file is UTF-16 (it starts with a UTF-16 byte order mark), not UTF-8; save it as UTF-8');
    }
    fs.writeFileSync(path.join(dir, 'backends.yaml'), `\uFEFF${PROFILE}`);
    expect(loadConfig({ cwd: dir, env: {} }).profiles[0]!.values.model).toBe('caf\u00e9');
  });

  it('applies the same to the env file, named as itself; a UTF-8 byte order mark is not part of the first name', () => {
    const configFile = path.join(dir, 'backends.yaml');
    fs.writeFileSync(configFile, PROFILE);
    fs.writeFileSync(path.join(dir, '.env'), Buffer.concat([Buffer.from('A=1\nKEY=s3cr'), Buffer.from([0xff]), Buffer.from('t\n')]));
    const error = configErrorOf(() => loadEnvFile({ configFile, cwd: dir }));
    expect(formatIssue(error.issues[0]!)).toMatch(/^\.env:2:9: the file is not UTF-8 text: the bytes here/);
    fs.writeFileSync(path.join(dir, '.env'), '\uFEFFA=1\n');
    expect(loadEnvFile({ configFile, cwd: dir }).values).toEqual({ A: '1' });
  });

  it('names the line and column of the first sequence that is not UTF-8: truncated, overlong, surrogate, out of range', () => {
    const where = (...bytes: number[]) => {
      try {
        decodeUtf8(Uint8Array.from([0x6f, 0x6b, 0x0a, 0x61, ...bytes]), 'f');
        return 'valid';
      } catch (error) {
        const { line, column } = (error as { issues: { line: number; column: number }[] }).issues[0]!;
        return `${line}:${column}`;
      }
    };
    expect(where(0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xf0, 0x9f, 0x98, 0x80)).toBe('valid'); // é, €, 😀
    expect(where(0xc3)).toBe('2:2'); // truncated
    expect(where(0xc0, 0xaf)).toBe('2:2'); // overlong "/"
    expect(where(0xe0, 0x80, 0xaf)).toBe('2:2'); // overlong
    expect(where(0xed, 0xa0, 0x80)).toBe('2:2'); // a UTF-16 surrogate
    expect(where(0xf4, 0x90, 0x80, 0x80)).toBe('2:2'); // past U+10FFFF
    expect(where(0x62, 0x80)).toBe('2:3'); // a lone continuation byte
  });
});

describe('the size limit', () => {
  it('reads a file of exactly the limit; one byte more is an error naming the file, never a text cut at the limit', () => {
    const file = path.join(dir, 'backends.yaml');
    fs.writeFileSync(file, 'x'.repeat(1024));
    expect(readLimitedFile(file, 1024, 'config file backends.yaml')).toBe('x'.repeat(1024));
    fs.writeFileSync(file, 'x'.repeat(1025));
    const error = configErrorOf(() => readLimitedFile(file, 1024, 'config file backends.yaml'));
    expect(error.message).toBe('config file backends.yaml is larger than 1 KiB, the most AEGIS reads from such a file; it is not read (limits: docs/security.md)');
    fs.writeFileSync(file, 'x'.repeat(200 * 1024)); // over several reads
    expect(configErrorOf(() => readLimitedFile(file, 1024, 'config file backends.yaml')).message).toContain('config file backends.yaml is larger than 1 KiB');
  });
});

describe('reading only regular files', () => {
  it('refuses a FIFO as the env file instead of waiting for a writer', () => {
    const configFile = path.join(dir, 'backends.yaml');
    fs.writeFileSync(configFile, PROFILE);
    fifoFedWith(path.join(dir, 'fifo.env'), 'A=1\n');
    const error = configErrorOf(() => loadEnvFile({ configFile, cwd: dir, envFile: 'fifo.env' }));
    expect(error.message).toBe('env file fifo.env is not a regular file (a FIFO, a device or a socket?); it is not read');
  });

  it('refuses a FIFO as the config file, checked on what it opened', () => {
    const fifo = path.join(dir, 'backends.yaml');
    fifoFedWith(fifo, PROFILE);
    const error = configErrorOf(() => readLimitedFile(fifo, 1024, 'backends.yaml'));
    expect(error.message).toBe('backends.yaml is not a regular file (a FIFO, a device or a socket?); it is not read');
  });
});

describe('AEGIS_ENV_FILE', () => {
  it('names the env file when no explicit one is given; the explicit one wins', () => {
    const configFile = path.join(dir, 'backends.yaml');
    fs.writeFileSync(configFile, PROFILE);
    fs.writeFileSync(path.join(dir, '.env'), 'FROM=beside\n');
    fs.writeFileSync(path.join(dir, 'named.env'), 'FROM=named\n');
    fs.writeFileSync(path.join(dir, 'explicit.env'), 'FROM=explicit\n');
    expect(loadEnvFile({ configFile, cwd: dir, env: { AEGIS_ENV_FILE: 'named.env' } }).values).toEqual({ FROM: 'named' });
    expect(loadEnvFile({ configFile, cwd: dir, env: { AEGIS_ENV_FILE: 'named.env' }, envFile: 'explicit.env' }).values).toEqual({ FROM: 'explicit' });
    expect(loadEnvFile({ configFile, cwd: dir, env: {} }).values).toEqual({ FROM: 'beside' });
    const missing = configErrorOf(() => loadEnvFile({ configFile, cwd: dir, env: { AEGIS_ENV_FILE: 'gone.env' } }));
    expect(missing.message).toMatch(/^env file not found: gone\.env \(from AEGIS_ENV_FILE\)/);
  });

  it('is read by loadConfig from the environment it is given', () => {
    fs.writeFileSync(path.join(dir, 'backends.yaml'), '- profile_name: a\n  type: t\n  model: ${MODEL}\n');
    fs.writeFileSync(path.join(dir, 'named.env'), 'MODEL=from-named\n');
    const loaded = loadConfig({ cwd: dir, env: { AEGIS_ENV_FILE: 'named.env' } });
    expect(loaded.profiles[0]!.values.model).toBe('from-named');
    expect(loaded.envFile).toBe(path.join(dir, 'named.env'));
  });

  it('a .env directory beside the config (a Python virtualenv) is no env file', () => {
    const configFile = path.join(dir, 'backends.yaml');
    fs.writeFileSync(configFile, PROFILE);
    fs.mkdirSync(path.join(dir, '.env'));
    expect(loadEnvFile({ configFile, cwd: dir })).toEqual({ values: {} });
  });
});
