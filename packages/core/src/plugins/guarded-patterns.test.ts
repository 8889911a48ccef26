/**
 * The regular expressions of a config schema rebuilt from a shipped
 * description run under a time limit (guarded-patterns.ts): a catastrophic
 * one is a PluginError, not a process stuck for hours on one value.
 */
import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { PluginError } from '../errors/plugin-error.js';
import { guardPatterns } from './guarded-patterns.js';

/** What `fn` throws (fails when it throws nothing). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected it to throw');
}

describe('guardPatterns', () => {
  it('a catastrophic pattern (^(a+)+$) is stopped at the time limit with a PluginError naming it', () => {
    const schema = z.object({ name: z.string().regex(/^(a+)+$/) });
    expect(guardPatterns(schema, 20)).toBe(1);
    // Unguarded, this value takes about a second here (2^25 backtracking steps), fifty times the limit.
    const error = thrown(() => schema.safeParse({ name: `${'a'.repeat(25)}!` }));
    expect(PluginError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ kind: 'invalid_plugin' });
    expect((error as Error).message).toContain('the regular expression /^(a+)+$/ of its shipped config schema ran for more than 20 ms');
  });

  it('a guarded pattern still decides as the pattern does', () => {
    const schema = z.object({ name: z.string().regex(/^(a+)+$/) });
    // The default limit (1 s), not 20 ms: these values take microseconds, but the first run in a fresh
    // context is compiled, which on a loaded machine took more than 20 ms and failed this test.
    guardPatterns(schema);
    expect(schema.safeParse({ name: 'aaa' }).success).toBe(true);
    expect(schema.safeParse({ name: 'ab' }).success).toBe(false);
  });
});
