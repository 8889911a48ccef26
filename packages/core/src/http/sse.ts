import type { EventSourceMessage, EventSourceParser } from 'eventsource-parser';
import { ChunkReader } from './pull.js';

export type SseEvent = EventSourceMessage;

// Loaded with the first stream, not with @aegis/core: what makes no request never needs it.
let parserModule: Promise<typeof import('eventsource-parser')> | undefined;

/**
 * Parses a byte stream of server-sent events (with the eventsource-parser
 * library) and yields each event as it completes. Framing only: whether the
 * stream ended properly is the caller's business (each backend marks its end
 * differently).
 */
export function readSse(chunks: AsyncIterable<Uint8Array | string>): AsyncGenerator<SseEvent> {
  return new SseReader(chunks);
}

/** The same events a batch at a time (those parsed together out of one chunk): one async step per batch. */
export function readSseBatches(chunks: AsyncIterable<Uint8Array | string>): AsyncGenerator<SseEvent[], undefined, undefined> {
  return new SseReader(chunks).batches();
}

class SseReader extends ChunkReader<SseEvent, SseEvent> {
  private out: SseEvent[] = [];
  private parser!: EventSourceParser;

  protected override async prepare(): Promise<void> {
    const { createParser } = await (parserModule ??= import('eventsource-parser'));
    this.parser = createParser({ onEvent: (event) => this.out.push(event) });
  }

  protected feed(text: string, out: SseEvent[]): void {
    this.out = out;
    this.parser.feed(text);
  }

  protected flush(out: SseEvent[]): void {
    this.out = out;
    // An event without its closing blank line is incomplete: the parser keeps it, and so do we.
    this.parser.feed(this.decoder.decode());
  }

  protected take(event: SseEvent): SseEvent {
    return event;
  }
}
