import { describeProviderConformance, startOllamaEmulator } from '@aegis/testkit';
import plugin from './index.js';

describeProviderConformance(plugin, {
  server: () => startOllamaEmulator(),
  profile: (server) => ({ base_url: server.url, model: 'llama3.2' }),
  packageJson: new URL('../package.json', import.meta.url),
  secretField: { field: 'api_key', value: 'ollama-conformance-key-3d8f1b' },
});
