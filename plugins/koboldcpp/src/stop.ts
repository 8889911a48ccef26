/**
 * Client-side stop handling. The provider asks KoboldCpp for the text with
 * the stop sequence left in (`trim_stop: false`, see request.ts) and cuts it
 * here: that is how it knows a generation ended on a stop sequence, which
 * KoboldCpp 1.102 itself reports as `"length"`. The stop sequence stays in
 * the text only when the profile's `trim_stop` is false.
 */

/** Index of the earliest stop sequence in `text` and that sequence, or undefined. */
function firstStop(text: string, stops: readonly string[]): { index: number; stop: string } | undefined {
  let best: { index: number; stop: string } | undefined;
  for (const stop of stops) {
    if (stop === '') continue;
    const index = text.indexOf(stop);
    if (index >= 0 && (best === undefined || index < best.index)) best = { index, stop };
  }
  return best;
}

/**
 * `text` up to its first stop sequence (through it when `keepStop`), and
 * whether one was found. Whatever follows the stop sequence is dropped.
 */
export function cutAtStop(text: string, stops: readonly string[], keepStop = false): { text: string; stopped: boolean } {
  const found = firstStop(text, stops);
  if (!found) return { text, stopped: false };
  return { text: text.slice(0, found.index + (keepStop ? found.stop.length : 0)), stopped: true };
}

/**
 * The streaming form: passes deltas on, holds back a tail that could be the
 * start of a stop sequence until the next delta tells, and drops everything
 * from a complete stop sequence on (after it, when `keepStop`).
 */
export class StopTrimmer {
  private held = '';
  private done = false;

  constructor(
    private readonly stops: readonly string[],
    private readonly keepStop = false,
  ) {}

  /** True once a stop sequence was seen: the rest of the stream is dropped. */
  get stopped(): boolean {
    return this.done;
  }

  push(delta: string): string {
    if (this.done) return '';
    const text = this.held + delta;
    const cut = cutAtStop(text, this.stops, this.keepStop);
    if (cut.stopped) {
      this.done = true;
      this.held = '';
      return cut.text;
    }
    const keep = this.partialStopLength(text);
    this.held = text.slice(text.length - keep);
    return text.slice(0, text.length - keep);
  }

  /** What is still held back, at the end of the stream. */
  flush(): string {
    const rest = this.done ? '' : this.held;
    this.held = '';
    return rest;
  }

  /** Length of the longest end of `text` that is a proper beginning of a stop sequence. */
  private partialStopLength(text: string): number {
    let longest = 0;
    for (const stop of this.stops) {
      for (let n = Math.min(stop.length - 1, text.length); n > longest; n--) {
        if (text.endsWith(stop.slice(0, n))) {
          longest = n;
          break;
        }
      }
    }
    return longest;
  }
}
