import { describe, expect, it } from '@jest/globals';
import { cutAtStop, StopTrimmer } from './stop.js';

describe('cutAtStop', () => {
  it('cuts at the earliest stop sequence', () => {
    expect(cutAtStop('Blue.<|im_end|>\n<|im_start|>user', ['<|im_start|>user', '<|im_end|>'])).toEqual({ text: 'Blue.', stopped: true });
    expect(cutAtStop('Blue.', ['<|im_end|>'])).toEqual({ text: 'Blue.', stopped: false });
    expect(cutAtStop('Blue.', [])).toEqual({ text: 'Blue.', stopped: false });
  });

  it('keeps the stop sequence that matched, and drops what follows it, when asked', () => {
    expect(cutAtStop('Blue.<|im_end|>\n<|im_start|>user', ['<|im_start|>user', '<|im_end|>'], true)).toEqual({ text: 'Blue.<|im_end|>', stopped: true });
  });
});

describe('StopTrimmer', () => {
  const run = (deltas: string[], stops: string[]) => {
    const t = new StopTrimmer(stops);
    const out = deltas.map((d) => t.push(d));
    out.push(t.flush());
    return out;
  };

  it('passes text through when no stop sequence is near', () => {
    expect(run(['Hel', 'lo', ' world'], ['<|im_end|>'])).toEqual(['Hel', 'lo', ' world', '']);
  });

  it('holds back a possible start of a stop sequence, then cuts at the whole one', () => {
    expect(run(['Blue', '.<|im', '_end|>', 'junk'], ['<|im_end|>'])).toEqual(['Blue', '.', '', '', '']);
  });

  it('holds back all of a stop sequence but its last character', () => {
    expect(run(['Blue.<|im_end|', '>junk'], ['<|im_end|>'])).toEqual(['Blue.', '', '']);
  });

  it('releases held text that turned out not to be a stop sequence', () => {
    expect(run(['a <', 'b'], ['<|im_end|>'])).toEqual(['a ', '<b', '']);
    expect(run(['a <|'], ['<|im_end|>'])).toEqual(['a ', '<|']);
  });

  it('cuts inside a single delta', () => {
    const t = new StopTrimmer(['User:']);
    expect(t.push('Red.\nUser: more')).toBe('Red.\n');
    expect(t.stopped).toBe(true);
    expect(t.push('ignored')).toBe('');
    expect(t.flush()).toBe('');
  });

  it('with keepStop, passes the stop sequence on, then nothing', () => {
    const t = new StopTrimmer(['<|im_end|>'], true);
    expect([t.push('Blue'), t.push('.<|im'), t.push('_end|>\n'), t.push('junk'), t.flush()]).toEqual(['Blue', '.', '<|im_end|>', '', '']);
    expect(t.stopped).toBe(true);
  });

  it('does nothing without stop sequences', () => {
    expect(run(['<|im', '_end|>'], [])).toEqual(['<|im', '_end|>', '']);
  });
});
