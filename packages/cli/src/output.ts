import { safeForTerminal } from './terminal-text.js';

/**
 * Everything the CLI prints goes through a RedactingWriter: it removes every
 * secret the Aegis instance knows, then makes the text safe for a terminal
 * (control characters escaped). Commands never scrub or escape on their own:
 * they only write, so no command can forget it.
 */

/** What a writer needs of core's SecretScrubber (structurally: this module does not load core). */
export interface Scrubber {
  /** A whole text: known secrets, pieces of them at cuts, URL credentials. */
  scrub(text: string): string;
  createStreamScrubber(): PieceScrubber;
}

export interface PieceScrubber {
  write(piece: string): string;
  end(): string;
}

/** The scrubber in force now: none before the Aegis instance exists (nothing is known then). */
export type ScrubberSource = () => Scrubber | undefined;

export class RedactingWriter {
  private pieces?: PieceScrubber;
  private piecesOf?: Scrubber;

  /** `scrubber` is asked on every write, so the instance can be created after the writer is made. */
  constructor(
    private readonly stream: NodeJS.WritableStream,
    private readonly scrubber: ScrubberSource,
  ) {}

  /**
   * Calls `listener` once the stream's reader has gone away (a closed pipe:
   * a write failed with EPIPE). Returns the way to stop listening.
   */
  onReaderGone(listener: () => void): () => void {
    const onError = (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') listener();
    };
    this.stream.on('error', onError);
    return () => this.stream.removeListener('error', onError);
  }

  /**
   * Writes a piece of a text (a streamed delta). It is shown at once, except
   * an end that could be the start of a known secret: that waits for the next
   * write (or `flush()`), so a secret arriving in pieces is removed whole.
   */
  write(text: string): void {
    if (text === '') return;
    const scrubber = this.scrubber();
    if (scrubber !== this.piecesOf) {
      this.flush();
      this.piecesOf = scrubber;
      this.pieces = scrubber?.createStreamScrubber();
    }
    this.emit(this.pieces ? this.pieces.write(text) : text);
  }

  /** Writes one whole line (a newline is added): scrubbed as a whole text first, URLs included. */
  line(text = ''): void {
    const scrubber = this.scrubber();
    this.write((scrubber ? scrubber.scrub(text) : text) + '\n');
  }

  /** Writes whatever is held back. */
  flush(): void {
    if (this.pieces) this.emit(this.pieces.end());
  }

  private emit(text: string): void {
    if (text !== '') this.stream.write(safeForTerminal(text));
  }
}

/** Prints a value as indented JSON (or on one line with `compact`). */
export function printJson(out: RedactingWriter, value: unknown, compact = false): void {
  out.line(compact ? JSON.stringify(value) : JSON.stringify(value, null, 2));
}

/** Lines of a plain-text table: columns padded to their widest cell, the last one left unpadded. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string[] {
  // Escaped before measuring, so that a cell with control characters does not shift the columns.
  const cells = [headers, ...rows].map((row) => headers.map((_, i) => safeForTerminal(oneLine(row[i] ?? ''))));
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
