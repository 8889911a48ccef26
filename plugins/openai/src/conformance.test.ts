import { describeProviderConformance, startOpenAIEmulator } from '@aegis/testkit';
import plugin from './index.js';

const API_KEY = 'sk-conformance-key-0c4e6a';

describeProviderConformance(plugin, {
  server: () => startOpenAIEmulator({ apiKey: API_KEY }),
  profile: (server) => ({ base_url: server.baseUrl, api_key: API_KEY, model: 'gpt-4o-mini' }),
  packageJson: new URL('../package.json', import.meta.url),
  secretField: { field: 'api_key', value: API_KEY },
});
