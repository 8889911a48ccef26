import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';

const SRC = join(dirname(fileURLToPath(import.meta.url)), '..');
// Every backend this repository ships a plugin for, and the example third party.
const PROVIDER_NAMES = /ollama|openai|vllm|kobold|example[._-]?com/i;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

describe('core stays provider-agnostic', () => {
  it('no source file under packages/core/src names a concrete provider', () => {
    const offenders = files(SRC)
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.includes('__tests__'))
      .filter((f) => PROVIDER_NAMES.test(readFileSync(f, 'utf8')))
      .map((f) => relative(SRC, f));
    expect(offenders).toEqual([]);
  });

  it('the check itself would catch a provider name', () => {
    expect(PROVIDER_NAMES.test('if (type === "vllm")')).toBe(true);
  });
});
