import { BaseBackendConfig, secret, z } from '@aegis/core';

/** A profile of `type: example_com`, as in the old guide's Step 1. */
export const ExampleComConfig = BaseBackendConfig.extend({
  type: z.literal('example_com'),
  llm_url: z.url().describe('The full URL of the Example.com /completion endpoint'),
  api_key: secret(z.string().min(1)).describe('The Example.com API key'),
  model: z.string().default('example-model-v1').describe('Model name'),
  temperature: z.number().min(0).max(2).default(0.5).describe('Sampling temperature'),
});

export type ExampleComConfig = z.infer<typeof ExampleComConfig>;
