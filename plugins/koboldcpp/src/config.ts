import { BaseBackendConfig, secret, z } from '@aegis/core';
import { INSTRUCT_PRESETS } from './prompt.js';

const tag = (what: string) => z.string().optional().describe(what);

/** Instruct tags that replace the chosen preset's, one by one. */
export const InstructTags = z
  .object({
    system_start: tag('Put before a system message'),
    system_end: tag('Put after a system message'),
    user_start: tag('Put before a user message'),
    user_end: tag('Put after a user message'),
    assistant_start: tag('Put before an assistant message; the prompt ends with it'),
    assistant_end: tag('Put after an assistant message; also a stop sequence'),
  })
  .strict();

export type InstructTags = z.infer<typeof InstructTags>;

/** A profile of `type: koboldcpp`: KoboldCpp's native (KoboldAI) API. */
export const KoboldCppConfig = BaseBackendConfig.extend({
  type: z.literal('koboldcpp'),
  base_url: z.url().default('http://localhost:5001').describe('Root URL of the KoboldCpp server (without /api)'),
  password: secret(z.string().min(1))
    .optional()
    .describe('The server\'s --password, sent as "Authorization: Bearer <password>"'),
  model: z.string().optional().describe('Name of the loaded model, for information only (KoboldCpp serves the model it was started with)'),

  // Length and context
  max_length: z.number().int().positive().default(512).describe('Tokens to generate (max_tokens / maxTokens override it)'),
  max_context_length: z.number().int().positive().optional().describe('Context size to use, up to the server\'s --contextsize'),

  // Samplers (temperature and top_p come from the common fields)
  top_k: z.number().int().min(0).optional().describe('Top-K sampling (0 disables)'),
  top_a: z.number().min(0).optional().describe('Top-A sampling (0 disables)'),
  typical: z.number().min(0).max(1).optional().describe('Typical sampling (1 disables)'),
  tfs: z.number().min(0).max(1).optional().describe('Tail-free sampling (1 disables)'),
  min_p: z.number().min(0).max(1).optional().describe('Min-P sampling (0 disables)'),
  rep_pen: z.number().min(0).optional().describe('Repetition penalty (1 disables)'),
  rep_pen_range: z.number().int().min(0).optional().describe('Tokens the repetition penalty looks back over'),
  rep_pen_slope: z.number().min(0).optional().describe('Repetition penalty slope'),
  sampler_order: z.array(z.number().int().min(0).max(6)).min(1).max(7).optional().describe('Order of the samplers, ids 0..6'),
  sampler_seed: z.number().int().optional().describe('Sampling seed (seed / CallSettings.seed override it)'),
  dynatemp_range: z.number().min(0).optional().describe('Dynamic temperature range (0 disables)'),
  mirostat: z.number().int().min(0).max(2).optional().describe('Mirostat mode: 0 off, 1 or 2'),
  mirostat_tau: z.number().min(0).optional().describe('Mirostat target entropy'),
  mirostat_eta: z.number().min(0).optional().describe('Mirostat learning rate'),
  grammar: z.string().optional().describe('GBNF grammar the output must follow'),
  banned_tokens: z.array(z.string()).optional().describe('Strings the model may not generate'),

  // Stopping and prompt
  stop_sequence: z.array(z.string().min(1)).optional().describe('Stop sequences sent on every call (merged with `stop` and the template\'s turn ends)'),
  trim_stop: z.boolean().default(true).describe('Remove the stop sequence from the output'),
  memory: z.string().optional().describe('Text KoboldCpp always keeps at the start of the context'),
  instruct: z.enum(INSTRUCT_PRESETS).default('chatml').describe('Chat template that turns messages into the prompt'),
  instruct_tags: InstructTags.optional().describe('Tags replacing the preset\'s, one by one'),

  // Audio
  voice: z.string().min(1).default('kobo').describe('Default TTS voice (kobo, cheery, sleepy, shouty, chatty, or any string as a seed)'),
  transcription_language: z.string().min(1).default('auto').describe('Default transcription language code (auto detects)'),
  suppress_non_speech: z.boolean().default(false).describe('Ask the transcriber to drop non-speech tokens'),
});

export type KoboldCppConfig = z.infer<typeof KoboldCppConfig>;
