import { REDACTED } from './secret-fields.js';
import { MIN_PIECE, SecretPatterns } from './patterns.js';

/**
 * Scrubs text that arrives in pieces. `write` returns what may be shown now:
 * everything, except an end that is the unfinished start of a known secret
 * (in any of its forms), which waits for the next piece. Text that cannot
 * become a secret is never held back, so an answer streams as it arrives.
 *
 * ```ts
 * const scrub = aegis.secrets.createStreamScrubber();
 * for await (const delta of stream) res.write(scrub.write(delta));
 * res.end(scrub.end());
 * ```
 */
export class StreamScrubber {
  private pending = '';

  /** `patterns` is asked at every write, so secrets learnt during the stream count from then on. */
  constructor(private readonly patterns: () => SecretPatterns) {}

  /** Characters held back now (the start of a possible secret). */
  get held(): string {
    return this.pending;
  }

  /** Takes the next piece; returns the text that is safe to show now (possibly empty). */
  write(piece: string): string {
    if (piece === '') return '';
    const patterns = this.patterns();
    const text = this.pending + piece;
    if (patterns.empty) {
      this.pending = '';
      return text;
    }
    let out = '';
    let pos = 0;
    for (;;) {
      const hold = patterns.partialStart(text, text.length, pos);
      const match = patterns.nextMatch(text, pos);
      if (match && match.index < hold) {
        out += text.slice(pos, match.index) + REDACTED;
        pos = match.end;
        continue;
      }
      this.pending = text.slice(hold);
      return out + text.slice(pos, hold);
    }
  }

  /**
   * Ends the stream: returns what was held back. A piece of a secret the stream
   * broke off in (8 characters or more) is replaced, a shorter one shown.
   */
  end(): string {
    const rest = this.pending;
    this.pending = '';
    return rest !== '' && SecretPatterns.units(rest) >= MIN_PIECE ? REDACTED : rest;
  }
}
