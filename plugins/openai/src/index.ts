import { definePlugin, PLUGIN_API_VERSION } from '@aegis/core';
import { OpenAIConfig } from './config.js';
import { OpenAIProvider } from './provider.js';

export {
  OpenAIConfig,
  OPENAI_BASE_URL,
  MaxTokensField,
  openAICompatibleFields,
  type OpenAICompatibleConfig,
  type OpenAICompatibleFieldDefaults,
} from './config.js';
export { OpenAICompatibleProvider, type OpenAICompatibleOptions } from './compatible.js';
export { OpenAIProvider, speechMimeType } from './provider.js';
export { mapModelList, type WireModelCard, type WireModelList } from './models.js';
export {
  badResponse,
  compact,
  firstChoice,
  mapChatCompletion,
  mapEmbeddings,
  openAIErrorMessage,
  streamErrorFrom,
  toFinish,
  toUsage,
  toWireMessages,
  type WireChatResponse,
  type WireChoice,
  type WireEmbeddingsResponse,
  type WireMessage,
  type WireUsage,
} from './wire.js';

/** The plugin object: what `aegis` imports when a profile has `type: openai`. */
export default definePlugin({
  apiVersion: PLUGIN_API_VERSION,
  type: 'openai',
  description: 'OpenAI API (chat completions, embeddings, speech, transcription) and OpenAI-compatible servers',
  configSchema: OpenAIConfig,
  capabilities: ['completion', 'streaming', 'embeddings', 'speech', 'transcription', 'models'],
  create: (config, context) => new OpenAIProvider(config, context),
});
