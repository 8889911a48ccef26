/** PLACEHOLDER helpers until core's land (see the report). */
import type { StreamPart } from '@aegis/core';

/** Parts in the order they came: consecutive text deltas as one batch, the other parts one by one. */
export function* inOrder(out: readonly (string | StreamPart)[]): Generator<readonly string[] | StreamPart, void, undefined> {
  let deltas: string[] = [];
  for (const item of out) {
    if (typeof item === 'string') {
      deltas.push(item);
      continue;
    }
    if (deltas.length > 0) yield deltas;
    deltas = [];
    yield item;
  }
  if (deltas.length > 0) yield deltas;
}

