/**
 * Questions about where offsets of a text fall among ranges, each answered
 * without walking every range: reporting the syntax errors of a large broken
 * file (one error per line, one scalar per line) must stay linear, where a
 * scan of all ranges per question made a 1.7 MB file take minutes.
 */

/** A range of offsets, `start` to `end`. */
export interface Span {
  start: number;
  end: number;
}

/**
 * The last index `i` with `items[i].start < offset` (-1 when none), for items
 * sorted by `start`. Binary search: O(log n).
 */
export function lastStartingBefore(items: readonly Span[], offset: number): number {
  let low = 0;
  let high = items.length - 1;
  let found = -1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    if (items[mid]!.start < offset) {
      found = mid;
      low = mid + 1;
    } else {
      high = mid - 1;
    }
  }
  return found;
}

/**
 * "Is this offset strictly inside one of the spans?" for offsets asked in
 * increasing order, over spans sorted by start that do not overlap (the
 * scalars of one YAML document): one pointer moves forward over the spans,
 * so all questions together cost O(spans + questions).
 */
export class ForwardSpanCursor {
  private next = 0;

  constructor(private readonly spans: readonly Span[]) {}

  /** True when `start < offset < end` for some span. `offset` must not be less than the last one asked. */
  inside(offset: number): boolean {
    const { spans } = this;
    // Spans that end at or before the offset cannot hold it, nor any later (larger) offset.
    while (this.next < spans.length && spans[this.next]!.end <= offset) this.next++;
    const span = spans[this.next];
    return span !== undefined && span.start < offset && offset < span.end;
  }
}

/**
 * A union of closed ranges `[start, end]`, for "is this offset in any of
 * them?": sorted and merged once (O(n log n)), then a binary search per question.
 */
export class RangeUnion {
  private readonly merged: Span[] = [];

  constructor(ranges: Iterable<readonly [number, number]>) {
    const sorted = [...ranges].map(([start, end]) => ({ start, end })).sort((a, b) => a.start - b.start);
    for (const range of sorted) {
      const last = this.merged[this.merged.length - 1];
      if (last && range.start <= last.end) last.end = Math.max(last.end, range.end);
      else this.merged.push({ ...range });
    }
  }

  /** True when `start <= offset <= end` for one of the ranges. */
  has(offset: number): boolean {
    // The last merged range starting at or before the offset is the only one that can hold it.
    const i = lastStartingBefore(this.merged, offset + 1);
    return i >= 0 && offset <= this.merged[i]!.end;
  }
}
