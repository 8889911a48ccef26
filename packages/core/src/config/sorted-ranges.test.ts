/**
 * The questions syntax errors and validation ask about positions and fields
 * must not walk every range or every broken field each time: these tests
 * count the reads each helper makes (never the time it takes), against what a
 * scan per question would need.
 */
import { describe, expect, it } from '@jest/globals';
import { parseConfigText } from './load-config.js';
import { ForwardSpanCursor, lastStartingBefore, RangeUnion, type Span } from './sorted-ranges.js';
import { brokenFieldTest } from './validate.js';
import { configErrorOf } from '../__tests__/errors.js';

/** An array that counts how many of its items are read. */
function counted<T>(items: T[]): { list: T[]; reads: () => number } {
  let reads = 0;
  const list = new Proxy(items, {
    get(target, key, receiver) {
      if (typeof key === 'string' && /^\d+$/.test(key)) reads++;
      return Reflect.get(target, key, receiver);
    },
  });
  return { list, reads: () => reads };
}

/** A small deterministic generator (no Math.random: the same spans on every run). */
function generator(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

/** `n` sorted spans that do not overlap, like the scalars of a document. */
function disjointSpans(n: number, random: () => number): Span[] {
  const spans: Span[] = [];
  let at = 0;
  for (let i = 0; i < n; i++) {
    const start = at + 1 + Math.floor(random() * 5);
    const end = start + 1 + Math.floor(random() * 8);
    spans.push({ start, end });
    at = end;
  }
  return spans;
}

describe('ForwardSpanCursor (tab-indented lines inside quoted or block values)', () => {
  it('answers like a scan of every span', () => {
    const random = generator(7);
    const spans = disjointSpans(300, random);
    const cursor = new ForwardSpanCursor(spans);
    const last = spans[spans.length - 1]!.end + 3;
    for (let offset = 0; offset <= last; offset += 1) {
      expect(cursor.inside(offset)).toBe(spans.some((s) => s.start < offset && offset < s.end));
    }
  });

  it('reads each span a bounded number of times, however many lines ask', () => {
    const spans = disjointSpans(20_000, generator(11));
    const { list, reads } = counted(spans);
    const cursor = new ForwardSpanCursor(list);
    const questions = 20_000;
    const last = spans[spans.length - 1]!.end;
    for (let q = 0; q < questions; q++) cursor.inside(Math.floor((q * last) / questions));
    // A scan per question reads up to 20,000 spans 20,000 times (4 × 10^8); one pointer, about spans + 2 × questions.
    expect(reads()).toBeLessThanOrEqual(spans.length + 2 * questions + 2);
  });
});

describe('RangeUnion (errors inside the text an unclosed quote swallowed)', () => {
  it('answers like a scan of every range, overlapping and touching ones included', () => {
    const random = generator(3);
    const ranges: [number, number][] = [];
    for (let i = 0; i < 200; i++) {
      const start = Math.floor(random() * 2000);
      ranges.push([start, start + Math.floor(random() * 30)]);
    }
    ranges.push([5, 5], [2100, 2100]);
    const union = new RangeUnion(ranges);
    for (let offset = -1; offset < 2200; offset++) {
      expect(union.has(offset)).toBe(ranges.some(([start, end]) => offset >= start && offset <= end));
    }
  });

  it('costs a binary search per question, not a scan', () => {
    const ranges: [number, number][] = [];
    for (let i = 0; i < 10_000; i++) ranges.push([i * 10, i * 10 + 3]);
    const union = new RangeUnion(ranges);
    // Count the reads of its merged ranges from here on: only the questions read them.
    const merged = (union as unknown as { merged: Span[] }).merged;
    const { list, reads } = counted(merged);
    (union as unknown as { merged: Span[] }).merged = list;
    const questions = 10_000;
    for (let q = 0; q < questions; q++) union.has(q * 10 + (q % 7));
    // log2(10,000) ≈ 14 reads and one more per question, against 10,000 per question for a scan.
    expect(reads()).toBeLessThanOrEqual(questions * 16);
  });

  it('lastStartingBefore finds the last span starting before an offset', () => {
    const spans = [
      { start: 1, end: 2 },
      { start: 4, end: 6 },
      { start: 9, end: 12 },
    ];
    expect([0, 1, 2, 4, 5, 9, 10, 99].map((o) => lastStartingBefore(spans, o))).toEqual([-1, -1, 0, 0, 1, 1, 2, 2]);
  });
});

describe('syntax errors of a large broken file', () => {
  it('reports the first tab-indented line once, with the others, among thousands of quoted values', () => {
    const lines = ['profiles:', '  - profile_name: a', '    type: t', '    stop:'];
    for (let i = 0; i < 3000; i++) lines.push(`      - "q${i}"`);
    for (let i = 0; i < 3000; i++) lines.push(`\t- z${i}`);
    const error = configErrorOf(() => parseConfigText(lines.join('\n') + '\n', 'backends.yaml', {}));
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]).toMatchObject({ line: 3005, column: 1 });
    expect(error.issues[0]!.message).toBe('YAML syntax error: tabs are not allowed for indentation in YAML; use spaces (lines 3006, 3007, 3008, 3009, 3010, ... too)');
  });
});

describe('brokenFieldTest (zod issues about fields that already have a problem)', () => {
  /** What the test was before: a walk over every broken field per question. */
  const byScan = (broken: string[]) => (field: string) =>
    broken.some((b) => field === b || field.startsWith(`${b}.`) || field.startsWith(`${b}[`) || b.startsWith(`${field}.`) || b.startsWith(`${field}[`));

  it('answers like the scan: the field itself, inside a broken one, or holding one', () => {
    const broken = ['options.stop[3]', 'api_key', 'headers.x-key', 'models[0].name'];
    const fields = [
      'options', 'options.stop', 'options.stop[3]', 'options.stop[3].x', 'options.stop[30]', 'options.stop[2]', 'options.stopper',
      'api_key', 'api_key2', 'api', 'headers', 'headers.x', 'headers.x-key.y', 'models', 'models[0]', 'models[0].name', 'models[0].names', 'models[1]',
    ];
    const index = brokenFieldTest(broken);
    const scan = byScan(broken);
    for (const field of fields) expect([field, index(field)]).toEqual([field, scan(field)]);
  });

  it('reads the broken fields once, not once per question', () => {
    const broken = Array.from({ length: 5000 }, (_, i) => `stop[${2 * i}]`);
    const { list, reads } = counted(broken);
    const isBroken = brokenFieldTest(list);
    const afterBuild = reads();
    expect(afterBuild).toBeLessThanOrEqual(broken.length);
    for (let i = 0; i < 5000; i++) expect(isBroken(`stop[${2 * i + 1}]`)).toBe(false);
    expect(reads()).toBe(afterBuild);
  });
});
