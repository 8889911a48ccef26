import { describe, expect, it } from '@jest/globals';
import { FINISH_REASON_ALIASES, normalizeFinishReason } from './results.js';

describe('normalizeFinishReason', () => {
  it('maps the known spellings, and anything else to "other"', () => {
    expect(['stop', 'eos', 'end_turn', 'length', 'max_tokens', 'tool_calls', 'function_call', 'content_filter', 'error'].map((r) => normalizeFinishReason(r))).toEqual([
      'stop',
      'stop',
      'stop',
      'length',
      'length',
      'tool_calls',
      'tool_calls',
      'content_filter',
      'error',
    ]);
    expect([normalizeFinishReason('eos_token'), normalizeFinishReason(null), normalizeFinishReason('toString')]).toEqual(['other', 'other', 'other']);
    expect(FINISH_REASON_ALIASES.limit).toBe('length');
  });

  it("takes a plugin's own spellings first", () => {
    expect(normalizeFinishReason('eos_token', { eos_token: 'stop' })).toBe('stop');
    expect(normalizeFinishReason('length', { length: 'other' })).toBe('other');
    expect(normalizeFinishReason('stop', { eos_token: 'stop' })).toBe('stop');
  });
});
