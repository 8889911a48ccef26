import { definePlugin, PLUGIN_API_VERSION } from '@aegis/core';
import { VllmConfig } from './config.js';
import { VllmProvider } from './provider.js';

export { VllmConfig, VLLM_BASE_URL } from './config.js';
export { VllmProvider, vllmErrorMessage, type VllmCompletionResult } from './provider.js';
export { serverRoot, tokenizeBody, tokenCountOf, type WireTokenizeResponse } from './tokens.js';

/** The plugin object: what `aegis` imports when a profile has `type: vllm`. */
export default definePlugin({
  apiVersion: PLUGIN_API_VERSION,
  type: 'vllm',
  description: 'vLLM OpenAI-compatible server (chat completions with tools and reasoning, embeddings, transcription)',
  configSchema: VllmConfig,
  capabilities: ['completion', 'streaming', 'embeddings', 'transcription', 'models', 'tokens', 'tools', 'reasoning', 'structured_output', 'vision'],
  create: (config, context) => new VllmProvider(config, context),
});
