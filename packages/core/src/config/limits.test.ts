import { describe, expect, it } from '@jest/globals';
import { ExpansionBudget, formatBytes } from './limits.js';

describe('ExpansionBudget', () => {
  it('allows exactly maxAliasValues values through aliases: the limit is "more than" it', () => {
    const budget = new ExpansionBudget(3);
    expect([budget.aliasValue(), budget.aliasValue(), budget.aliasValue(), budget.aliasValue()]).toEqual([true, true, true, false]);
  });

  it('allows exactly maxChars characters, and says how many are left', () => {
    const budget = new ExpansionBudget(10, 5);
    expect(budget.addChars(5)).toBe(true);
    expect(budget.charsLeft).toBe(0);
    expect(budget.addChars(1)).toBe(false);
    expect(budget.charsLeft).toBe(0);
  });
});

describe('formatBytes', () => {
  it('says MiB or KiB only for whole numbers of them', () => {
    expect([2 * 1024 * 1024, 512 * 1024, 1536 * 1024, 300].map(formatBytes)).toEqual(['2 MiB', '512 KiB', '1536 KiB', '300 bytes']);
  });
});
