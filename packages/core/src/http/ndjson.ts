import { ProviderError } from '../errors/provider-error.js';
import { excerpt } from './error-mapping.js';
import { ChunkReader, type StreamReadOptions } from './pull.js';
import { redactUrl } from './url.js';

/**
 * Parses newline-delimited JSON and yields one value per line as it completes.
 * A line that is not JSON is a ProviderError naming the URL. A final line
 * without its newline is parsed too; if it does not parse, it is taken for a
 * line cut short (the body ended in the middle of it) and dropped, so the
 * reader ends as a truncated stream does: without the backend's last value,
 * which its caller reports as `truncated_stream` (as readSse does with an
 * unterminated last event).
 */
export function readNdjson<T = unknown>(chunks: AsyncIterable<Uint8Array | string>, url: string, options: StreamReadOptions = {}): AsyncGenerator<T> {
  return new NdjsonReader<T>(chunks, url, options);
}

/**
 * The same values a batch at a time (the lines parsed together out of one
 * chunk): for a stream of thousands of small deltas, one async step per batch
 * instead of one per line. The lines before a garbage one are still handed out.
 */
export function readNdjsonBatches<T = unknown>(
  chunks: AsyncIterable<Uint8Array | string>,
  url: string,
  options: StreamReadOptions = {},
): AsyncGenerator<T[], undefined, undefined> {
  return new NdjsonReader<T>(chunks, url, options).batches();
}

/** Blank (empty or whitespace only); a line that starts with `{` is not, without looking further. */
function isBlank(line: string): boolean {
  return line.charCodeAt(0) !== 123 && line.trim() === '';
}

/** A line that is not JSON, met while parsing a chunk: thrown when the reader gets to it. */
class BadLine {
  constructor(readonly error: unknown) {}
}

/**
 * Lines parsed at a time: the first few on their own, so the first delta is
 * not kept waiting, then a larger batch (fewer steps through the reader).
 */
const FIRST_BATCH = 16;
const BATCH = 128;

class NdjsonReader<T> extends ChunkReader<T | BadLine, T> {
  /**
   * The pieces of the line in progress, joined once its newline arrives: a
   * long line is never re-joined or re-split per chunk (which made parsing
   * quadratic in the line's length).
   */
  private partial: string[] = [];
  private lines: string[] = [];
  private cursor = 0;
  private batch = FIRST_BATCH;
  private readonly streamUrl: string;

  constructor(chunks: AsyncIterable<Uint8Array | string>, url: string, options: StreamReadOptions) {
    super(chunks, { ...options, url: options.url ?? url });
    this.streamUrl = url;
  }

  protected boundaryEnd(chunk: Uint8Array | string): number {
    const at = typeof chunk === 'string' ? chunk.lastIndexOf('\n') : chunk.lastIndexOf(10);
    return at < 0 ? -1 : at + 1;
  }

  // A chunk's lines are parsed a batch at a time, while they are at hand, and handed out one by one.
  protected feed(text: string, out: (T | BadLine)[]): void {
    if (text.indexOf('\n') < 0) {
      if (text) this.partial.push(text);
      return;
    }
    const lines = text.split('\n');
    if (this.partial.length > 0) {
      this.partial.push(lines[0]!);
      lines[0] = this.partial.join('');
      this.partial = [];
    }
    const rest = lines.pop()!;
    if (rest) this.partial.push(rest);
    this.lines = lines;
    this.cursor = 0;
    this.refill(out);
  }

  protected override refill(out: (T | BadLine)[]): boolean {
    const { lines } = this;
    const end = Math.min(lines.length, this.cursor + this.batch);
    if (end > this.cursor) this.batch = BATCH;
    const before = out.length;
    for (; this.cursor < end; this.cursor++) {
      const line = lines[this.cursor]!;
      if (!isBlank(line) && !this.parse(line, out)) {
        this.lines = [];
        break;
      }
    }
    return out.length > before || this.cursor < lines.length;
  }

  protected flush(out: (T | BadLine)[]): void {
    const last = this.partial.join('') + this.decodeEnd();
    this.partial = [];
    if (isBlank(last)) return;
    // Not parse(): a last line without its newline that is not JSON is the stream's cut, not garbage.
    try {
      out.push(JSON.parse(last) as T);
    } catch {
      // dropped: see readNdjson
    }
  }

  protected take(item: T | BadLine): T {
    if (item instanceof BadLine) throw item.error;
    return item;
  }

  private parse(line: string, out: (T | BadLine)[]): boolean {
    try {
      out.push(parseStreamJson<T>(line, this.streamUrl));
      return true;
    } catch (error) {
      out.push(new BadLine(error));
      return false;
    }
  }
}

/** Parses one JSON piece of a stream (an NDJSON line, an SSE event's data); garbage is a ProviderError naming the URL. */
export function parseStreamJson<T = unknown>(text: string, url: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    const safeUrl = redactUrl(url);
    throw new ProviderError(`stream from ${safeUrl} sent data that is not valid JSON: ${excerpt(text, 200)}`, {
      url: safeUrl,
      bodyExcerpt: excerpt(text),
      reason: 'bad_response',
      retryable: false,
    });
  }
}
