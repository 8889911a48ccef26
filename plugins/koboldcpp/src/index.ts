import { definePlugin, PLUGIN_API_VERSION } from '@aegis/core';
import { KoboldCppConfig } from './config.js';
import { KoboldCppProvider } from './provider.js';

export { KoboldCppConfig, InstructTags } from './config.js';
export { KoboldCppProvider } from './provider.js';
export { INSTRUCT_PRESETS, PRESETS, buildPrompt, resolveTemplate, turnEndStops, type InstructPreset, type InstructTemplate } from './prompt.js';

/** The plugin object: what `aegis` imports when a profile has `type: koboldcpp`. */
export default definePlugin({
  apiVersion: PLUGIN_API_VERSION,
  type: 'koboldcpp',
  description: 'KoboldCpp native API: prompt generation with instruct templates, SSE streaming, embeddings, TTS, Whisper',
  configSchema: KoboldCppConfig,
  capabilities: ['completion', 'streaming', 'embeddings', 'speech', 'transcription', 'models', 'tokens', 'tools', 'structured_output', 'vision'],
  create: (config, context) => new KoboldCppProvider(config, context),
});
