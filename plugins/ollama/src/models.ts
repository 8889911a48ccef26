/**
 * Ollama's model list: `GET /api/tags` names the local models, `POST /api/show`
 * tells each one's trained context length
 * (`model_info["<general.architecture>.context_length"]`) and capabilities.
 */
import { withoutUndefined, type ModelInfo } from '@aegis/core';
import { badResponse } from './wire.js';

export interface OllamaTagsResponse {
  models?: { name?: unknown; model?: unknown; details?: unknown; size?: unknown }[];
}

export interface OllamaShowResponse {
  model_info?: Record<string, unknown>;
  capabilities?: unknown;
  details?: Record<string, unknown>;
}

/** How many `/api/show` requests run at once while listing models. */
export const SHOW_CONCURRENCY = 4;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The model names of an `/api/tags` body; throws `bad_response` when it is not one. */
export function modelNamesOf(body: OllamaTagsResponse, url: string): string[] {
  const models = isRecord(body) ? body.models : undefined;
  if (!Array.isArray(models)) throw badResponse(url, 'without a models array', body);
  return models.map((m) => {
    const name = isRecord(m) ? (typeof m.name === 'string' && m.name ? m.name : m.model) : undefined;
    if (typeof name !== 'string' || !name) throw badResponse(url, 'with a model without a name', m);
    return name;
  });
}

/** A model's info from its `/api/show` body (the name alone when the body says nothing usable). */
export function modelInfoOf(name: string, show: OllamaShowResponse | undefined): ModelInfo {
  const info = isRecord(show?.model_info) ? show.model_info : {};
  const arch = info['general.architecture'];
  const length = typeof arch === 'string' ? info[`${arch}.context_length`] : undefined;
  const capabilities = Array.isArray(show?.capabilities) ? show.capabilities.filter((c): c is string => typeof c === 'string') : undefined;
  const details = isRecord(show?.details) ? show.details : undefined;
  const metadata = withoutUndefined({
    family: typeof details?.family === 'string' ? details.family : undefined,
    parameterSize: typeof details?.parameter_size === 'string' ? details.parameter_size : undefined,
    quantization: typeof details?.quantization_level === 'string' ? details.quantization_level : undefined,
  });
  return withoutUndefined({
    id: name,
    contextLength: typeof length === 'number' && Number.isInteger(length) && length > 0 ? length : undefined,
    capabilities,
    providerMetadata: Object.keys(metadata).length > 0 ? metadata : undefined,
  }) as ModelInfo;
}

/** Runs `task` over `items` with at most `limit` running at once, keeping order. */
export async function mapLimited<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await task(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
