import { BaseBackendConfig, secret, z } from '@aegis/core';

export const OPENAI_BASE_URL = 'https://api.openai.com/v1';

/** Where the token cap goes in a chat request: OpenAI's current name, or the older one most compatible servers read. */
export const MaxTokensField = z.enum(['max_completion_tokens', 'max_tokens']);
export type MaxTokensField = z.infer<typeof MaxTokensField>;

export interface OpenAICompatibleFieldDefaults {
  /** Default of `base_url` (with the `/v1` suffix). */
  baseUrl: string;
  /** Default of `embedding_model`; without one, embeddings use `model`. */
  embeddingModel?: string;
  /** Default of `transcription_model`; without one, transcriptions use `model`. */
  transcriptionModel?: string;
  /** What the server is called in descriptions ("OpenAI", "vLLM"). */
  label: string;
}

/**
 * The profile fields every OpenAI-compatible server shares: spread them into a
 * `BaseBackendConfig.extend({...})` with the server's own defaults.
 */
export function openAICompatibleFields(defaults: OpenAICompatibleFieldDefaults) {
  const { label } = defaults;
  return {
    base_url: z
      .url({ protocol: /^https?$/ })
      .default(defaults.baseUrl)
      .describe(`Base URL of the ${label} API, including /v1`),
    api_key: secret(z.string().min(1))
      .optional()
      .describe(`${label} API key, sent as "Authorization: Bearer <key>"`),
    model: z.string().min(1).describe('Chat model'),
    embedding_model: (defaults.embeddingModel ? z.string().min(1).default(defaults.embeddingModel) : z.string().min(1).optional()).describe(
      defaults.embeddingModel ? 'Embeddings model' : 'Embeddings model (default: model)',
    ),
    transcription_model: (defaults.transcriptionModel
      ? z.string().min(1).default(defaults.transcriptionModel)
      : z.string().min(1).optional()
    ).describe(defaults.transcriptionModel ? 'Speech-to-text model' : 'Speech-to-text model (default: model)'),
    frequency_penalty: z.number().min(-2).max(2).optional().describe('Default frequency penalty (-2 to 2)'),
    presence_penalty: z.number().min(-2).max(2).optional().describe('Default presence penalty (-2 to 2)'),
    headers: secret(z.record(z.string(), z.string()))
      .optional()
      .describe('Extra HTTP headers sent with every request (treated as secret: they often carry credentials)'),
  };
}

/** What the shared OpenAI-compatible provider reads from a profile. */
export interface OpenAICompatibleConfig extends BaseBackendConfig {
  base_url: string;
  api_key?: string;
  model: string;
  embedding_model?: string;
  transcription_model?: string;
  frequency_penalty?: number;
  presence_penalty?: number;
  headers?: Record<string, string>;
}

/** A profile of `type: openai`. */
export const OpenAIConfig = BaseBackendConfig.extend({
  type: z.literal('openai'),
  ...openAICompatibleFields({
    baseUrl: OPENAI_BASE_URL,
    embeddingModel: 'text-embedding-3-small',
    transcriptionModel: 'whisper-1',
    label: 'OpenAI',
  }),
  organization: z.string().min(1).optional().describe('Sent as the OpenAI-Organization header'),
  project: z.string().min(1).optional().describe('Sent as the OpenAI-Project header'),
  speech_model: z.string().min(1).default('gpt-4o-mini-tts').describe('Text-to-speech model'),
  voice: z.string().min(1).default('alloy').describe('Text-to-speech voice'),
  max_tokens_field: MaxTokensField.default('max_completion_tokens').describe(
    'Request field for the token cap: "max_completion_tokens" (OpenAI) or "max_tokens" (older OpenAI-compatible servers)',
  ),
}).check((ctx) => {
  // The key is optional so OpenAI-compatible local servers work, but api.openai.com always needs one.
  const config = ctx.value;
  if (config.api_key === undefined && isOpenAIHost(config.base_url)) {
    ctx.issues.push({
      code: 'custom',
      input: config.api_key,
      path: ['api_key'],
      message: `api_key is required for ${config.base_url} (e.g. api_key: \${OPENAI_API_KEY})`,
    });
  }
});

export type OpenAIConfig = z.infer<typeof OpenAIConfig>;

function isOpenAIHost(url: string): boolean {
  try {
    return new URL(url).hostname === 'api.openai.com';
  } catch {
    return false;
  }
}
