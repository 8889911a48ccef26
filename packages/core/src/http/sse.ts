import type { EventSourceMessage, EventSourceParser } from 'eventsource-parser';
import { ChunkReader, type StreamReadOptions } from './pull.js';

export type SseEvent = EventSourceMessage;

// Loaded with the first stream, not with @aegis/core: what makes no request never needs it.
let parserModule: Promise<typeof import('eventsource-parser')> | undefined;
/** The module, once loaded: later streams create their parser without waiting a step. */
let parserLoaded: typeof import('eventsource-parser') | undefined;

/**
 * Parses a byte stream of server-sent events (with the eventsource-parser
 * library) and yields each event as it completes. Framing only: whether the
 * stream ended properly is the caller's business (each backend marks its end
 * differently).
 */
export function readSse(chunks: AsyncIterable<Uint8Array | string>, options: StreamReadOptions = {}): AsyncGenerator<SseEvent> {
  return new SseReader(chunks, options);
}

/** The same events a batch at a time (those parsed together out of one chunk): one async step per batch. */
export function readSseBatches(
  chunks: AsyncIterable<Uint8Array | string>,
  options: StreamReadOptions = {},
): AsyncGenerator<SseEvent[], undefined, undefined> {
  return new SseReader(chunks, options).batches();
}

const LF = 10;
const CR = 13;

/** True when two codes in a row end a line and then an empty one (LF LF, LF CR, CR CR: CR LF alone is one line end). */
function blankLine(a: number, b: number): boolean {
  return (a === LF && (b === LF || b === CR)) || (a === CR && b === CR);
}

class SseReader extends ChunkReader<SseEvent, SseEvent> {
  private out: SseEvent[] = [];
  private parser!: EventSourceParser;

  protected override prepare(): Promise<void> | undefined {
    if (parserLoaded) {
      this.parser = parserLoaded.createParser({ onEvent: (event) => this.out.push(event) });
      return undefined;
    }
    return (parserModule ??= import('eventsource-parser')).then((module) => {
      parserLoaded = module;
      this.prepare();
    });
  }

  // The end of an event is a blank line: the last pair of line ends in a row. Scanned from the
  // chunk's end, where a well-formed stream's events end, so usually one step.
  protected boundaryEnd(chunk: Uint8Array | string, previous: number): number {
    if (typeof chunk === 'string') {
      for (let i = chunk.length - 1; i >= 0; i--) {
        const b = chunk.charCodeAt(i);
        if ((b === LF || b === CR) && blankLine(i > 0 ? chunk.charCodeAt(i - 1) : previous, b)) return i + 1;
      }
      return -1;
    }
    for (let i = chunk.length - 1; i >= 0; i--) {
      const b = chunk[i]!;
      if ((b === LF || b === CR) && blankLine(i > 0 ? chunk[i - 1]! : previous, b)) return i + 1;
    }
    return -1;
  }

  protected feed(text: string, out: SseEvent[]): void {
    this.out = out;
    this.parser.feed(text);
  }

  protected flush(out: SseEvent[]): void {
    this.out = out;
    // An event without its closing blank line is incomplete: the parser keeps it, and so do we.
    this.parser.feed(this.decodeEnd());
  }

  protected take(event: SseEvent): SseEvent {
    return event;
  }
}
