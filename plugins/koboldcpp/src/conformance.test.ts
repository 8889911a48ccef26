import { describeProviderConformance, startKoboldCppEmulator } from '@aegis/testkit';
import plugin from './index.js';

const PASSWORD = 'kobold-conformance-pass-7e2a4c';

describeProviderConformance(plugin, {
  server: () => startKoboldCppEmulator({ apiKey: PASSWORD }),
  profile: (server) => ({ base_url: server.url, password: PASSWORD }),
  packageJson: new URL('../package.json', import.meta.url),
  secretField: { field: 'password', value: PASSWORD },
});
