/** `GET /models` of an OpenAI-compatible server, mapped to core's ModelInfo. */
import { withoutUndefined, type ModelInfo } from '@aegis/core';
import { badResponse } from './wire.js';

/** One card of a `/models` list; vLLM adds `max_model_len`, `root` and `parent`. */
export interface WireModelCard {
  id?: unknown;
  owned_by?: unknown;
  created?: unknown;
  max_model_len?: unknown;
  root?: unknown;
  parent?: unknown;
}

export interface WireModelList {
  data?: WireModelCard[];
}

const positiveInt = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined);
const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The models of a `/models` body (the context length where the server reports one); throws `bad_response` otherwise. */
export function mapModelList(body: WireModelList, url: string): ModelInfo[] {
  const data = body && typeof body === 'object' ? body.data : undefined;
  if (!Array.isArray(data)) throw badResponse(url, 'without a data array', body);
  return data.map((card) => {
    const id = text(card?.id);
    if (!id) throw badResponse(url, 'with a model card without an id', card);
    const metadata = withoutUndefined({ created: positiveInt(card.created), root: text(card.root), parent: text(card.parent) });
    return withoutUndefined({
      id,
      contextLength: positiveInt(card.max_model_len),
      ownedBy: text(card.owned_by),
      providerMetadata: Object.keys(metadata).length > 0 ? metadata : undefined,
    }) as ModelInfo;
  });
}
