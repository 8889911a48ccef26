import { definePlugin, PLUGIN_API_VERSION } from '@aegis/core';
import { OllamaConfig } from './config.js';
import { OllamaProvider } from './provider.js';

export { OllamaConfig, OllamaModelOptions } from './config.js';
export { OllamaProvider } from './provider.js';
export { modelInfoOf, modelNamesOf, type OllamaShowResponse, type OllamaTagsResponse } from './models.js';

/** The plugin object: what `aegis` imports when a profile has `type: ollama`. */
export default definePlugin({
  apiVersion: PLUGIN_API_VERSION,
  type: 'ollama',
  description: 'Ollama native API (/api/chat with NDJSON streaming, /api/embed), local or ollama.com cloud',
  configSchema: OllamaConfig,
  capabilities: ['completion', 'streaming', 'embeddings', 'models', 'tools', 'reasoning', 'structured_output', 'vision'],
  create: (config, context) => new OllamaProvider(config, context),
});
