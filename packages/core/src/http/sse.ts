import { createParser, type EventSourceMessage } from 'eventsource-parser';

export type SseEvent = EventSourceMessage;

/**
 * Parses a byte stream of server-sent events (with the eventsource-parser
 * library) and yields each event as it completes. Framing only: whether the
 * stream ended properly is the caller's business (each backend marks its end
 * differently).
 */
export async function* readSse(chunks: AsyncIterable<Uint8Array | string>): AsyncGenerator<SseEvent> {
  const pending: SseEvent[] = [];
  const parser = createParser({ onEvent: (event) => pending.push(event) });
  const decoder = new TextDecoder();
  for await (const chunk of chunks) {
    parser.feed(typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
    while (pending.length > 0) yield pending.shift()!;
  }
  parser.feed(decoder.decode());
  // An event without its closing blank line is incomplete: the parser keeps it, and so do we.
  while (pending.length > 0) yield pending.shift()!;
}
