import { describeProviderConformance, startVllmEmulator } from '@aegis/testkit';
import plugin from './index.js';

const API_KEY = 'vllm-conformance-key-9b1d3f';

describeProviderConformance(plugin, {
  server: () => startVllmEmulator({ apiKey: API_KEY }),
  profile: (server) => ({ base_url: server.baseUrl, api_key: API_KEY, model: 'meta-llama/Llama-3.1-8B-Instruct' }),
  packageJson: new URL('../package.json', import.meta.url),
  secretField: { field: 'api_key', value: API_KEY },
});
