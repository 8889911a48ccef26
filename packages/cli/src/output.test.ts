import { describe, expect, it } from '@jest/globals';
import { Capture } from './__tests__/harness.js';
import { formatTable, RedactingWriter } from './output.js';

const SECRET = 'sk-abcdefghijklmnop';
const redact = (text: string) => text.split(SECRET).join('***');

describe('RedactingWriter', () => {
  it('scrubs whole lines', () => {
    const stream = new Capture();
    const out = new RedactingWriter(stream, redact);
    out.line(`key=${SECRET} end`);
    expect(stream.text).toBe('key=*** end\n');
  });

  it('scrubs a secret split across writes, holding back only the last partial word', () => {
    const stream = new Capture();
    const out = new RedactingWriter(stream, redact);
    out.write('the key is sk-abc');
    expect(stream.text).toBe('the key is ');
    out.write('defghij');
    out.write('klmnop and more');
    expect(stream.text).toBe('the key is *** and ');
    out.flush();
    expect(stream.text).toBe('the key is *** and more');
  });

  it('does not hold back a long text without whitespace forever', () => {
    const stream = new Capture();
    const out = new RedactingWriter(stream, redact);
    out.write('x'.repeat(1000));
    expect(stream.text.length).toBeGreaterThanOrEqual(700);
    out.flush();
    expect(stream.text).toBe('x'.repeat(1000));
  });

  it('uses the redactor in force at the time of writing', () => {
    const stream = new Capture();
    let active: (t: string) => string = (t) => t;
    const out = new RedactingWriter(stream, (t) => active(t));
    out.line('before');
    active = redact;
    out.line(SECRET);
    expect(stream.text).toBe('before\n***\n');
  });
});

describe('formatTable', () => {
  it('pads columns and leaves the last one unpadded', () => {
    expect(formatTable(['A', 'LONGER'], [['xyz', '1'], ['q', 'multi\nline']])).toEqual(['A    LONGER', 'xyz  1', 'q    multi line']);
  });
});
