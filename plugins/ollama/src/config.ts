import { BaseBackendConfig, secret, z } from '@aegis/core';

/** A scalar or list value of an Ollama model option not declared below. */
const OptionValue = z.union([z.number(), z.string(), z.boolean(), z.array(z.union([z.number(), z.string(), z.boolean()]))]);

/**
 * Ollama model options (the `options` object of /api/chat and /api/embed; the
 * same names as a Modelfile's PARAMETER lines). The common ones are typed;
 * any other option Ollama knows is passed through as written.
 */
export const OllamaModelOptions = z
  .object({
    num_ctx: z.number().int().positive().optional().describe('Context window size in tokens'),
    num_predict: z.number().int().min(-2).optional().describe('Maximum tokens to generate (-1 infinite, -2 fill the context)'),
    num_keep: z.number().int().optional().describe('Tokens of the prompt kept when the context is shifted'),
    temperature: z.number().min(0).optional().describe('Sampling temperature'),
    top_k: z.number().int().min(0).optional().describe('Top-k sampling'),
    top_p: z.number().min(0).max(1).optional().describe('Nucleus sampling'),
    min_p: z.number().min(0).max(1).optional().describe('Minimum probability relative to the most likely token'),
    typical_p: z.number().min(0).max(1).optional().describe('Locally typical sampling'),
    tfs_z: z.number().optional().describe('Tail-free sampling (older Ollama versions)'),
    repeat_penalty: z.number().optional().describe('Penalty for repeated tokens'),
    repeat_last_n: z.number().int().min(-1).optional().describe('How far back to look for repetitions (-1 = num_ctx)'),
    presence_penalty: z.number().optional().describe('Presence penalty'),
    frequency_penalty: z.number().optional().describe('Frequency penalty'),
    mirostat: z.number().int().min(0).max(2).optional().describe('Mirostat sampling (0 off, 1 Mirostat, 2 Mirostat 2.0)'),
    mirostat_tau: z.number().optional().describe('Mirostat target entropy'),
    mirostat_eta: z.number().optional().describe('Mirostat learning rate'),
    seed: z.number().int().optional().describe('Sampling seed'),
    stop: z.array(z.string()).optional().describe('Stop sequences'),
    num_gpu: z.number().int().optional().describe('Layers offloaded to the GPU'),
    num_thread: z.number().int().positive().optional().describe('CPU threads'),
    num_batch: z.number().int().positive().optional().describe('Prompt processing batch size'),
  })
  .catchall(OptionValue);

export type OllamaModelOptions = z.infer<typeof OllamaModelOptions>;

/** A Go duration (`"5m"`, `"1h30m"`, `"-1s"`) or a number of seconds as a string (`"300"`). */
const DURATION = /^[-+]?((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$|^[-+]?(\d+(\.\d*)?|\.\d+)$/;

/** A profile of `type: ollama`. */
export const OllamaConfig = BaseBackendConfig.extend({
  type: z.literal('ollama'),
  base_url: z
    .url({ protocol: /^https?$/ })
    .default('http://localhost:11434')
    .describe('Ollama server URL, without /api (https://ollama.com for Ollama cloud)'),
  model: z.string().min(1).describe('Chat model, e.g. llama3.2 or qwen3:8b'),
  embedding_model: z.string().min(1).optional().describe('Model for embeddings (default: model)'),
  keep_alive: z
    .union([z.number(), z.string().regex(DURATION, 'a duration such as "5m", "1h" or "-1"')])
    .optional()
    .describe('How long the model stays loaded after a call: "5m", "1h", seconds as a number, 0 unloads, -1 keeps it loaded'),
  options: OllamaModelOptions.optional().describe('Ollama model options (num_ctx, top_k, repeat_penalty, ...)'),
  format: z
    .union([z.literal('json'), z.record(z.string(), z.unknown())])
    .optional()
    .describe('Structured output: "json" or a JSON schema object'),
  think: z
    .union([z.boolean(), z.enum(['low', 'medium', 'high'])])
    .optional()
    .describe('Thinking models: true/false, or "low"/"medium"/"high" where the model supports levels'),
  api_key: secret(z.string().min(1)).optional().describe('API key for ollama.com cloud (sent as Authorization: Bearer)'),
});

export type OllamaConfig = z.infer<typeof OllamaConfig>;
