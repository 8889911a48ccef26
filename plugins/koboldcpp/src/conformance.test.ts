import { describeProviderConformance, startKoboldCppEmulator } from '@aegis/testkit';
import plugin from './index.js';

const PASSWORD = 'kobold-conformance-pass-7e2a4c';

/**
 * The emulator's HTTP 500 is KoboldCpp's own, `bad_input` (an unparsable or
 * too large request), which the plugin does not retry: the same request fails
 * the same way (provider.ts, koboldRetryable; provider.test.ts checks it). The
 * kit's "HTTP 500 is retryable" is about a server failing, so its 500 gets a
 * body that says so.
 */
const SERVER_ERROR = { detail: { msg: 'Internal server error', type: 'server_error' } };

describeProviderConformance(plugin, {
  server: async () => {
    const emulator = await startKoboldCppEmulator({ apiKey: PASSWORD });
    const failNext = emulator.failNext.bind(emulator);
    emulator.failNext = (fault, times, match) =>
      failNext(fault.kind === 'status' && fault.status === 500 && fault.body === undefined ? { ...fault, body: SERVER_ERROR } : fault, times, match);
    return emulator;
  },
  profile: (server) => ({ base_url: server.url, password: PASSWORD }),
  packageJson: new URL('../package.json', import.meta.url),
  secretField: { field: 'password', value: PASSWORD },
});
