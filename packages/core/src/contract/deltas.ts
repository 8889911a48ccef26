import type { StreamPart } from './stream-parts.js';
import type { ProviderCompletion } from './tool-calls.js';

/**
 * How a plugin's stream ends: the final result, without the text (core
 * concatenates the deltas) and usually without tool calls or reasoning (core
 * assembles them from the parts the stream yielded; calls put here are added
 * after those).
 */
export type StreamEnd = Omit<ProviderCompletion, 'text'> & { text?: string };

/** One item a plugin's stream yields: a text delta, or a `StreamPart` (reasoning, a tool call or a piece of one). */
export type StreamItem = string | StreamPart;

/**
 * What a plugin's stream yields: text deltas one at a time, or several at once
 * (an array: the deltas parsed out of one network chunk, which costs one async
 * step instead of one per delta); they reach the caller one by one either way.
 * Besides text (plugin API 1) it may yield `StreamPart`s, alone or inside a
 * batch, in the order the backend sent them. Its return value is the final result.
 */
export type ProviderStream = AsyncGenerator<StreamItem | readonly StreamItem[], StreamEnd, undefined>;

/**
 * Reads one parsed item of a stream (an SSE event, an NDJSON line): pushes the
 * text deltas (and stream parts) it carries to `deltas`, returns the final
 * result if the item ends the stream, and throws if it reports an error.
 */
export type DeltaStep<I> = (item: I, deltas: StreamItem[]) => StreamEnd | undefined | void;

/**
 * Turns batches of parsed items (`readSseBatches`, `readNdjsonBatches`) into a
 * plugin's stream of delta batches, running `step` on every item. Returns the
 * final result, or `undefined` if the items ran out before one ended the
 * stream (a truncated stream: the plugin says what it expected). When `step`
 * throws, the deltas of the items before it are handed out first.
 *
 * The stream's first delta is handed out as soon as its item is read, before
 * the rest of its batch: a backend that sends many deltas in one network read
 * (a fast one, or one that buffers) would otherwise keep the caller's time to
 * first delta waiting on every item of the read. The rest of that batch, and
 * every later batch, goes out whole.
 *
 * ```ts
 * const end = yield* streamDeltas(readNdjsonBatches(response.body, url), (line, deltas) => { ... });
 * if (end) return end;
 * throw this.truncatedStream(url, 'the final {"done": true} line');
 * ```
 */
export async function* streamDeltas<I>(
  batches: AsyncIterable<readonly I[]>,
  step: DeltaStep<I>,
): AsyncGenerator<readonly StreamItem[], StreamEnd | undefined, undefined> {
  let first = true;
  for await (const batch of batches) {
    let deltas: StreamItem[] = [];
    let end: StreamEnd | undefined | void;
    try {
      for (let i = 0; i < batch.length && !end; i++) {
        end = step(batch[i]!, deltas);
        if (first && deltas.length > 0 && i < batch.length - 1 && !end) {
          first = false;
          yield deltas;
          deltas = [];
        }
      }
    } catch (error) {
      if (deltas.length > 0) yield deltas;
      throw error;
    }
    if (deltas.length > 0) {
      first = false;
      yield deltas;
    }
    if (end) return end;
  }
  return undefined;
}
