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
export { isStrictCompatible, toWireContent, toWireResponseFormat, type WireContentPart, type WireResponseFormat } from './structured.js';
export {
  badResponse,
  compact,
  firstChoice,
  fromWireToolCalls,
  mapChatCompletion,
  mapEmbeddings,
  openAIErrorMessage,
  pushDelta,
  reasoningOf,
  streamChoice,
  streamErrorFrom,
  toFinish,
  toolFields,
  toUsage,
  toWireMessages,
  toWireToolChoice,
  toWireTools,
  type WireAnswer,
  type WireChatResponse,
  type WireTool,
  type WireToolCall,
  type WireToolCallDelta,
  type WireToolChoice,
  type WireChoice,
  type WireEmbeddingsResponse,
  type WireMessage,
  type WireUsage,
} from './wire.js';

/** The plugin object: what `aegis` imports when a profile has `type: openai`. */
export default definePlugin({
  apiVersion: PLUGIN_API_VERSION,
  type: 'openai',
  description: 'OpenAI API (chat completions with tools, embeddings, speech, transcription) and OpenAI-compatible servers',
  configSchema: OpenAIConfig,
  capabilities: ['completion', 'streaming', 'embeddings', 'speech', 'transcription', 'models', 'tools', 'structured_output', 'vision'],
  create: (config, context) => new OpenAIProvider(config, context),
});
