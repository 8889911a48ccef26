/** `POST /v1/embeddings`. */
import { z, type EmbeddingsResult } from '@aegis/core';
import { parseRequest } from './validate.js';

const embeddingsSchema = z.object({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.string()).min(1).max(2048)]),
  encoding_format: z.enum(['float', 'base64']).optional(),
  /** Shorter vectors (core's `EmbeddingsOptions.dimensions`); null is absent, as OpenAI's schema allows. */
  dimensions: z.number().int('expected a positive integer').positive('expected a positive integer').nullable().optional(),
  user: z.string().optional(),
});

export interface EmbeddingsRequest {
  model: string;
  input: string[];
  base64: boolean;
  /** The vector length asked for; undefined: the model's own. */
  dimensions?: number;
}

export function parseEmbeddingsRequest(body: Record<string, unknown>): EmbeddingsRequest {
  if (Array.isArray(body.input) && body.input.some((x) => typeof x !== 'string')) {
    // Token arrays: the profiles' backends take text.
    body = { ...body, input: 0 };
  }
  const req = parseRequest(embeddingsSchema, body);
  return {
    model: req.model,
    input: typeof req.input === 'string' ? [req.input] : req.input,
    base64: req.encoding_format === 'base64',
    dimensions: req.dimensions ?? undefined,
  };
}

/** A vector as OpenAI's base64 encoding: little-endian float32. */
function base64Of(vector: number[]): string {
  const floats = new Float32Array(vector);
  return Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength).toString('base64');
}

export function embeddingsBody(model: string, result: EmbeddingsResult, base64: boolean): Record<string, unknown> {
  const prompt = result.usage?.promptTokens ?? 0;
  return {
    object: 'list',
    data: result.embeddings.map((embedding, index) => ({ object: 'embedding', index, embedding: base64 ? base64Of(embedding) : embedding })),
    model,
    usage: { prompt_tokens: prompt, total_tokens: result.usage?.totalTokens ?? prompt },
  };
}
