/** `POST /v1/embeddings`. */
import { z, type EmbeddingsResult } from '@aegis/core';
import { parseRequest } from './validate.js';

const embeddingsSchema = z.object({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.string()).min(1).max(2048)]),
  encoding_format: z.enum(['float', 'base64']).optional(),
  user: z.string().optional(),
});

export interface EmbeddingsRequest {
  model: string;
  input: string[];
  base64: boolean;
}

export function parseEmbeddingsRequest(body: Record<string, unknown>): EmbeddingsRequest {
  if (Array.isArray(body.input) && body.input.some((x) => typeof x !== 'string')) {
    // Token arrays: the profiles' backends take text.
    body = { ...body, input: 0 };
  }
  const req = parseRequest(embeddingsSchema, body, {
    dimensions: { why: 'AEGIS profiles return the model\'s own dimension' },
  });
  return { model: req.model, input: typeof req.input === 'string' ? [req.input] : req.input, base64: req.encoding_format === 'base64' };
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
