import { z } from 'zod';

/**
 * The fields every profile has, whatever its type. A plugin's config schema
 * extends it: `BaseBackendConfig.extend({ type: z.literal('mine'), ... })`.
 * Keys are snake_case, as in `backends.yaml`.
 */
export const BaseBackendConfig = z.object({
  profile_name: z.string().min(1).describe('Name the profile is selected by'),
  type: z.string().min(1).describe('Provider type; selects the plugin'),
  description: z.string().optional().describe('Free text shown by `aegis profiles`'),
  timeout: z.number().positive().default(600).describe('Deadline of a whole call in seconds, retries included'),
  idle_timeout: z
    .number()
    .positive()
    .default(180)
    .describe('Fail when the backend sends no byte for this many seconds (model loading can take minutes)'),
  max_retries: z.number().int().min(0).max(20).default(2).describe('Retries on retryable failures'),
  temperature: z.number().min(0).optional().describe('Default sampling temperature'),
  max_tokens: z.number().int().positive().optional().describe('Default cap on generated tokens'),
  top_p: z.number().min(0).max(1).optional().describe('Default nucleus sampling'),
  stop: z.array(z.string()).optional().describe('Default stop sequences'),
  seed: z.number().int().optional().describe('Default sampling seed'),
  max_embeddings_per_call: z
    .number()
    .int()
    .positive()
    .optional()
    .describe("Most texts in one embeddings request; more are sent as several requests, in order (default: the plugin's limit)"),
});

export type BaseBackendConfig = z.infer<typeof BaseBackendConfig>;

/** The keys of BaseBackendConfig, used to check that a plugin's schema extends it. */
export const BASE_CONFIG_KEYS = Object.keys(BaseBackendConfig.shape) as (keyof BaseBackendConfig)[];
