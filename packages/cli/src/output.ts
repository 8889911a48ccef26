/**
 * Everything the CLI prints goes through a RedactingWriter, which passes the
 * text through the Aegis instance's secret scrubber before it reaches the
 * stream. Commands never scrub on their own: they only write.
 */

export type Redactor = (text: string) => string;

/**
 * How much scrubbed text a writer may hold back while waiting for the end of a
 * word. A secret split across two writes (two stream deltas) is still removed
 * as long as it has no whitespace in it or is shorter than this.
 */
const HOLD_BACK = 256;

export class RedactingWriter {
  private pending = '';

  /** `redact` is asked on every write, so the scrubber can be installed after the writer is made. */
  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly redact: Redactor,
  ) {}

  /**
   * Writes text. Text up to the last whitespace is written at once; a trailing
   * partial word is held back (at most HOLD_BACK characters) until more text
   * or `flush()`, so a secret arriving in pieces is scrubbed whole.
   */
  write(text: string): void {
    if (text === '') return;
    const scrubbed = this.redact(this.pending + text);
    const lastSpace = lastWhitespace(scrubbed);
    const cut = Math.max(lastSpace + 1, scrubbed.length - HOLD_BACK);
    this.pending = scrubbed.slice(cut);
    if (cut > 0) this.stream.write(scrubbed.slice(0, cut));
  }

  /** Writes one line (a newline is added). */
  line(text = ''): void {
    this.write(text + '\n');
  }

  /** Writes whatever is held back. */
  flush(): void {
    if (this.pending === '') return;
    const rest = this.redact(this.pending);
    this.pending = '';
    this.stream.write(rest);
  }
}

function lastWhitespace(text: string): number {
  for (let i = text.length - 1; i >= 0; i--) {
    if (/\s/.test(text[i]!)) return i;
  }
  return -1;
}

/** Prints a value as indented JSON (or on one line with `compact`). */
export function printJson(out: RedactingWriter, value: unknown, compact = false): void {
  out.line(compact ? JSON.stringify(value) : JSON.stringify(value, null, 2));
}

/** Lines of a plain-text table: columns padded to their widest cell, the last one left unpadded. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const cells = [headers, ...rows].map((row) => headers.map((_, i) => oneLine(row[i] ?? '')));
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  return cells.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

/** Collapses a possibly multi-line text onto one line. */
export function oneLine(text: string): string {
  return text.replace(/\s*\r?\n\s*/g, ' ').trim();
}
