import { describe, expect, it } from '@jest/globals';
import { SecretScrubber } from '@aegis/core';
import { Capture } from './__tests__/harness.js';
import { formatTable, RedactingWriter } from './output.js';
import { safeForTerminal } from './terminal-text.js';

const SECRET = 'sk-abcdefghijklmnop';

function scrubber(): SecretScrubber {
  const s = new SecretScrubber();
  s.add(SECRET);
  return s;
}

describe('RedactingWriter', () => {
  it('scrubs whole lines, URL credentials included', () => {
    const stream = new Capture();
    const known = scrubber();
    const out = new RedactingWriter(stream, () => known);
    out.line(`key=${SECRET} end https://u:p@h/?api_key=zzz`);
    expect(stream.text).toBe('key=*** end https://***@h/?api_key=***\n');
  });

  it('scrubs a secret split across writes, holding back only what could start one', () => {
    const stream = new Capture();
    const known = scrubber();
    const out = new RedactingWriter(stream, () => known);
    out.write('the key is sk-abc');
    expect(stream.text).toBe('the key is ');
    out.write('defghij');
    out.write('klmnop and more');
    expect(stream.text).toBe('the key is *** and more');
  });

  it('shows each streamed piece at once when it cannot be part of a secret (CJK, no whitespace)', () => {
    const stream = new Capture();
    const known = scrubber();
    const out = new RedactingWriter(stream, () => known);
    const pieces = ['北京', '是中国', '的首都', '。', '東京は', '日本の首都です'];
    let expected = '';
    for (const piece of pieces) {
      out.write(piece);
      expected += piece;
      expect(stream.text).toBe(expected);
    }
    out.write('x'.repeat(1000));
    expect(stream.text).toBe(expected + 'x'.repeat(1000));
  });

  it('makes every write safe for a terminal, streamed pieces included', () => {
    const stream = new Capture();
    const out = new RedactingWriter(stream, () => undefined);
    out.write('a\u001b');
    out.write('[2Jb');
    out.line(' title\u001b]0;pwned\u0007 ✓ 中文 🎉');
    expect(stream.text).toBe('a\\u001b[2Jb title\\u001b]0;pwned\\u0007 ✓ 中文 🎉\n');
  });

  it('lets go of what it holds back on flush()', () => {
    const stream = new Capture();
    const known = scrubber();
    const out = new RedactingWriter(stream, () => known);
    out.write('the answer ends in sk');
    const shown = stream.text;
    const reference = known.createStreamScrubber();
    const expected = reference.write('the answer ends in sk') + reference.end();
    expect(expected.length).toBeGreaterThan(shown.length);
    out.flush();
    expect(stream.text).toBe(expected);
  });

  it('uses the scrubber in force at the time of writing', () => {
    const stream = new Capture();
    let active: SecretScrubber | undefined;
    const out = new RedactingWriter(stream, () => active);
    out.line('before');
    active = scrubber();
    out.line(SECRET);
    expect(stream.text).toBe('before\n***\n');
  });
});

describe('formatTable', () => {
  it('pads columns and leaves the last one unpadded', () => {
    expect(formatTable(['A', 'LONGER'], [['xyz', '1'], ['q', 'multi\nline']])).toEqual(['A    LONGER', 'xyz  1', 'q    multi line']);
  });

  it('escapes control characters before measuring the columns', () => {
    expect(formatTable(['A', 'B'], [['\u001b[2J', 'x']])).toEqual(['A          B', '\\u001b[2J  x']);
  });
});

describe('safeForTerminal (CLI copy)', () => {
  it('behaves like core', async () => {
    const core = await import('@aegis/core');
    for (const text of ['a\u001b]52;c;x\u0007', 'x\r\ny', '\u009b1m', 'ok 你好 👩‍💻', 'del\u007f', 'back\bspace', 'bidi \u202e \u2066']) {
      expect(safeForTerminal(text)).toBe(core.safeForTerminal(text));
    }
    expect(safeForTerminal('del\u007f')).toBe('del\\u007f');
  });
});
