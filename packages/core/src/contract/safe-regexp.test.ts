import { describe, expect, it } from '@jest/globals';
import { patternEngine, PatternTimeoutError } from './safe-regexp.js';

describe('patternEngine', () => {
  it('makes regexes that test as RegExp does, keyed by pattern and flags, and counts them', () => {
    const engine = patternEngine();
    const upper = engine.regExp('^[A-Z]+$', 'u');
    const digits = engine.regExp('^\\d+$', 'u');
    expect(engine.made).toBe(2);
    expect([upper.test('ABC'), upper.test('abc'), digits.test('123'), digits.test('ABC')]).toEqual([true, false, true, false]);
    expect(String(upper)).toBe('/^[A-Z]+$/u');
    expect(String(upper)).not.toBe(String(digits));
    expect(() => engine.regExp('(', 'u')).toThrow(SyntaxError);
  });

  it('bounded: the value of the run, its own errors as they are, and a timeout naming the pattern that ran', () => {
    const engine = patternEngine();
    const evil = engine.regExp('^(a+)+$', 'u');
    expect(engine.bounded(() => evil.test('aaaa'))).toBe(true);
    const own = new RangeError('own');
    expect(() => engine.bounded(() => { throw own; })).toThrow(own);

    let caught: unknown;
    try {
      engine.bounded(() => evil.test(`${'a'.repeat(39)}!`), 50);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(PatternTimeoutError);
    expect((caught as PatternTimeoutError).pattern).toBe('^(a+)+$');
    expect((caught as Error).message).toBe('the pattern "^(a+)+$" took too long on the answer (more than 50 ms: catastrophic backtracking)');

    // A run stopped outside any pattern names none; the engine works on after a timeout.
    expect(() => engine.bounded(() => { for (;;); }, 20)).toThrow('checking the answer took too long (more than 20 ms)');
    expect(engine.bounded(() => evil.test('aa'))).toBe(true);
  });
});
