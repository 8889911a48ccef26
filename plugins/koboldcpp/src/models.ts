/**
 * KoboldCpp serves one model: `GET /api/v1/model` names it, `GET
 * /api/extra/true_max_context_length` gives the real `--contextsize` (the
 * value advertised at `/api/v1/config/max_context_length` can be smaller).
 * `POST /api/extra/tokencount` counts with the loaded model's tokenizer.
 */
import { withoutUndefined, type ModelInfo, type TokenCount } from '@aegis/core';

export interface ModelResponse {
  result?: unknown;
}

export interface ValueResponse {
  value?: unknown;
}

export interface TokenCountResponse {
  value?: unknown;
  ids?: unknown;
}

/** The model's name (`koboldcpp/<name>`), or undefined when the body has none. */
export function modelNameOf(body: ModelResponse | undefined): string | undefined {
  return typeof body?.result === 'string' && body.result ? body.result : undefined;
}

/** A positive integer `value`, or undefined. */
export function contextLengthOf(body: ValueResponse | undefined): number | undefined {
  const v = body?.value;
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined;
}

export function modelInfo(name: string, contextLength: number | undefined): ModelInfo {
  return withoutUndefined({ id: name, contextLength }) as ModelInfo;
}

/** A `/api/extra/tokencount` answer as a TokenCount, or undefined when it has no count (`{"value": -1}` on a bad body). */
export function tokenCountOf(body: TokenCountResponse | undefined, model: string | undefined): TokenCount | undefined {
  const v = body?.value;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) return undefined;
  const ids = Array.isArray(body?.ids) && body.ids.every((t) => typeof t === 'number') ? (body.ids as number[]) : undefined;
  return withoutUndefined({ tokens: v, exact: true, ids, model }) as TokenCount;
}
