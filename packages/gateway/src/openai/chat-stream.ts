/**
 * A streamed answer's events (`stream.events()`) as OpenAI chunks: text as
 * `delta.content`, reasoning as `delta.reasoning` (vLLM's field), tool calls
 * as `delta.tool_calls` (a first chunk with `index`, `id`, `type`, the name
 * and empty arguments, then argument fragments). Every text goes through a
 * streaming secret scrubber, one per channel (the text, the reasoning, each
 * call's arguments), so a secret split across deltas is caught whole.
 */
import type { StreamEvent } from '@aegis/core';
import type { ChunkWriter } from './chat.js';

/** Text that arrives in pieces, made safe: `write` returns what may be sent now, `end` what was held back. */
export interface PieceScrubber {
  write(piece: string): string;
  end(): string;
}

/** Two scrubbers one after the other (the instance's secrets, then the gateway's own keys). */
export function chainScrubbers(first: PieceScrubber, second: PieceScrubber | undefined): PieceScrubber {
  if (!second) return first;
  return {
    write: (piece) => second.write(first.write(piece)),
    end: () => second.write(first.end()) + second.end(),
  };
}

/** Where a piece of text belongs: the answer, the reasoning, or one tool call's arguments (by its OpenAI index). */
type Channel = 'content' | 'reasoning' | number;

export class ChatStreamEncoder {
  private readonly scrubbers = new Map<Channel, PieceScrubber>();
  /** The channel that spoke last: its held-back text is sent when another one speaks. */
  private current: Channel | undefined;
  /** The contract's call index → OpenAI's `index`, 0, 1, ... in the order calls start. */
  private readonly indexes = new Map<number, number>();

  constructor(
    private readonly chunks: ChunkWriter,
    private readonly newScrubber: () => PieceScrubber,
  ) {}

  /** The chunks for one event ('' when there is nothing to send yet). `finish` sends nothing: see `end`. */
  event(event: StreamEvent): string {
    switch (event.type) {
      case 'text-delta':
        return this.text('content', event.text);
      case 'reasoning-delta':
        return this.text('reasoning', event.text);
      case 'tool-call-start': {
        const index = this.indexes.size;
        this.indexes.set(event.index, index);
        // The id and the name come from the backend too: scrubbed whole, as they are sent whole.
        return this.switchTo(index) + this.chunks.toolCallStart(index, this.whole(event.id), this.whole(event.name));
      }
      case 'tool-call-delta': {
        const index = this.indexes.get(event.index);
        return index === undefined ? '' : this.text(index, event.argumentsDelta);
      }
      case 'tool-call': {
        // The call is complete: what its arguments' scrubber held goes now.
        const index = this.indexes.get(event.index);
        if (index === undefined || this.current !== index) return '';
        this.current = undefined;
        return this.flush(index);
      }
      default:
        return '';
    }
  }

  /** What is still held back, at the end of the stream (before the finish chunk). */
  end(): string {
    const last = this.current;
    this.current = undefined;
    return last === undefined ? '' : this.flush(last);
  }

  private text(channel: Channel, piece: string): string {
    if (piece === '') return '';
    const before = this.switchTo(channel);
    const safe = this.scrubber(channel).write(piece);
    return safe === '' ? before : before + this.chunk(channel, safe);
  }

  private switchTo(channel: Channel): string {
    const previous = this.current;
    this.current = channel;
    return previous === undefined || previous === channel ? '' : this.flush(previous);
  }

  private flush(channel: Channel): string {
    const rest = this.scrubbers.get(channel)?.end() ?? '';
    return rest === '' ? '' : this.chunk(channel, rest);
  }

  private whole(text: string): string {
    const scrubber = this.newScrubber();
    return scrubber.write(text) + scrubber.end();
  }

  private scrubber(channel: Channel): PieceScrubber {
    let scrubber = this.scrubbers.get(channel);
    if (!scrubber) {
      scrubber = this.newScrubber();
      this.scrubbers.set(channel, scrubber);
    }
    return scrubber;
  }

  private chunk(channel: Channel, text: string): string {
    if (channel === 'content') return this.chunks.delta(text);
    if (channel === 'reasoning') return this.chunks.reasoning(text);
    return this.chunks.toolCallArguments(channel, text);
  }
}
