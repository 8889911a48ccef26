/**
 * A streamed answer's events (`stream.events()`) as OpenAI chunks: text as
 * `delta.content`, reasoning as `delta.reasoning` (vLLM's field), a refusal
 * as `delta.refusal` (OpenAI's), tool calls
 * as `delta.tool_calls` (a first chunk with `index`, `id`, `type`, the name
 * and empty arguments, then argument fragments). Every text goes through a
 * streaming secret scrubber, one per channel (the text, the reasoning, the
 * refusal, each call's arguments), so a secret split across deltas is caught
 * whole, also when other channels' deltas come between its pieces.
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

/** Where a piece of text belongs: the answer, the reasoning, the refusal, or one tool call's arguments (by its OpenAI index). */
type Channel = 'content' | 'reasoning' | 'refusal' | number;

export class ChatStreamEncoder {
  /**
   * One scrubber per channel. What a channel's scrubber holds back (the start
   * of what may be a secret) stays held while other channels speak: it goes
   * out when that channel speaks again (the scrubber then decides on the
   * whole), when a tool call is complete (its arguments' channel), or at the
   * end of the stream. Ending a channel's scrubber at each switch would show
   * a secret sent in short pieces between other channels' deltas.
   */
  private readonly scrubbers = new Map<Channel, PieceScrubber>();
  /** The contract's call index → OpenAI's `index`, 0, 1, ... in the order calls start. */
  private readonly indexes = new Map<number, number>();
  /** Characters of the answer other than its text (reasoning, refusal, tool calls) received so far: for the token estimate. */
  private otherChars = 0;

  constructor(
    private readonly chunks: ChunkWriter,
    private readonly newScrubber: () => PieceScrubber,
  ) {}

  /** Characters the stream carried besides its text (`stream.text`): reasoning, refusal, tool-call names and arguments. */
  get extraChars(): number {
    return this.otherChars;
  }

  /** The chunks for one event ('' when there is nothing to send yet). `finish` sends nothing: see `end`. */
  event(event: StreamEvent): string {
    switch (event.type) {
      case 'text-delta':
        return this.text('content', event.text);
      case 'reasoning-delta':
        this.otherChars += event.text.length;
        return this.text('reasoning', event.text);
      case 'refusal-delta':
        this.otherChars += event.text.length;
        return this.text('refusal', event.text);
      case 'tool-call-start': {
        const index = this.indexes.size;
        this.indexes.set(event.index, index);
        this.otherChars += event.name.length;
        // The id and the name come from the backend too: scrubbed whole, as they are sent whole.
        return this.chunks.toolCallStart(index, this.whole(event.id), this.whole(event.name));
      }
      case 'tool-call-delta': {
        const index = this.indexes.get(event.index);
        if (index === undefined) return '';
        this.otherChars += event.argumentsDelta.length;
        return this.text(index, event.argumentsDelta);
      }
      case 'tool-call': {
        // The call is complete: what its arguments' scrubber held goes now.
        const index = this.indexes.get(event.index);
        return index === undefined ? '' : this.flush(index);
      }
      default:
        return '';
    }
  }

  /**
   * What every channel still holds back, at the end of the stream (before the
   * finish chunk) or before the error event that ends it: a piece of a secret
   * (8 characters or more) is sent redacted, a shorter one as it is.
   */
  end(): string {
    let out = '';
    for (const channel of [...this.scrubbers.keys()]) out += this.flush(channel);
    return out;
  }

  private text(channel: Channel, piece: string): string {
    if (piece === '') return '';
    const safe = this.scrubber(channel).write(piece);
    return safe === '' ? '' : this.chunk(channel, safe);
  }

  /** Ends a channel's scrubber (the channel is over): its held-back text, as a chunk. */
  private flush(channel: Channel): string {
    const scrubber = this.scrubbers.get(channel);
    if (!scrubber) return '';
    this.scrubbers.delete(channel);
    const rest = scrubber.end();
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
    if (channel === 'refusal') return this.chunks.refusal(text);
    return this.chunks.toolCallArguments(channel, text);
  }
}
