import { BaseBackendConfig, secret, z } from '@aegis/core';
import { openAICompatibleFields } from '@aegis/provider-openai';

export const VLLM_BASE_URL = 'http://localhost:8000/v1';

/** A profile of `type: vllm`: the OpenAI-compatible fields plus vLLM's own sampling parameters. */
export const VllmConfig = BaseBackendConfig.extend({
  type: z.literal('vllm'),
  ...openAICompatibleFields({ baseUrl: VLLM_BASE_URL, label: 'vLLM' }),
  api_key: secret(z.string().min(1))
    .optional()
    .describe('Key of a server started with --api-key (or VLLM_API_KEY), sent as "Authorization: Bearer <key>"'),
  top_k: z.number().int().min(-1).optional().describe('Default top-k sampling (-1 or 0 disables)'),
  min_p: z.number().min(0).max(1).optional().describe('Default min-p sampling'),
  repetition_penalty: z.number().positive().optional().describe('Default repetition penalty (1 disables)'),
  stop_token_ids: z.array(z.number().int().min(0)).optional().describe('Default token ids that stop generation'),
  min_tokens: z.number().int().min(0).optional().describe('Default minimum number of generated tokens'),
  ignore_eos: z.boolean().optional().describe('Keep generating after the end-of-sequence token'),
  include_stop_str_in_output: z.boolean().optional().describe('Keep the matched stop string in the answer'),
});

export type VllmConfig = z.infer<typeof VllmConfig>;
