/**
 * Client-side stop trimming. KoboldCpp trims stop sequences itself when
 * `trim_stop` is true; servers from before that field left them in the text,
 * so the provider cuts at them too (a no-op when the server already did).
 */

/** Index of the earliest stop sequence in `text`, or -1. */
function firstStop(text: string, stops: readonly string[]): number {
  let best = -1;
  for (const stop of stops) {
    const i = text.indexOf(stop);
    if (i >= 0 && (best < 0 || i < best)) best = i;
  }
  return best;
}

/** `text` up to its first stop sequence, and whether one was found. */
export function cutAtStop(text: string, stops: readonly string[]): { text: string; stopped: boolean } {
  const i = firstStop(text, stops);
  return i < 0 ? { text, stopped: false } : { text: text.slice(0, i), stopped: true };
}

/**
 * The streaming form: passes deltas on, holds back a tail that could be the
 * start of a stop sequence until the next delta tells, and drops everything
 * from a complete stop sequence on.
 */
export class StopTrimmer {
  private held = '';
  private done = false;

  constructor(private readonly stops: readonly string[]) {}

  /** True once a stop sequence was seen: the rest of the stream is dropped. */
  get stopped(): boolean {
    return this.done;
  }

  push(delta: string): string {
    if (this.done) return '';
    const text = this.held + delta;
    const cut = cutAtStop(text, this.stops);
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
