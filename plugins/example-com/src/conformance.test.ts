import { describeProviderConformance, startExampleComEmulator } from '@aegis/testkit';
import plugin from './index.js';

const API_KEY = 'ec-conformance-key-5a7c9e';

describeProviderConformance(plugin, {
  server: () => startExampleComEmulator({ apiKey: API_KEY }),
  profile: (server) => ({ llm_url: `${server.url}/v1/completion`, api_key: API_KEY, model: 'example-model-v1' }),
  packageJson: new URL('../package.json', import.meta.url),
  secretField: { field: 'api_key', value: API_KEY },
});
