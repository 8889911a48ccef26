import { definePlugin, PLUGIN_API_VERSION } from '@aegis/core';
import { ExampleComConfig } from './config.js';
import { ExampleComProvider } from './provider.js';

export { ExampleComConfig } from './config.js';
export { ExampleComProvider } from './provider.js';

/** The plugin object: what `aegis` imports when a profile has `type: example_com`. */
export default definePlugin({
  apiVersion: PLUGIN_API_VERSION,
  type: 'example_com',
  description: 'Example.com completion API (the reference third-party plugin)',
  configSchema: ExampleComConfig,
  capabilities: ['completion', 'streaming'],
  create: (config, context) => new ExampleComProvider(config, context),
});
