/** A member's refusal (`refusal-delta` events, `result.refusal`) passes through a composite profile as it came. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BackendProvider, BaseBackendConfig, definePlugin, PLUGIN_API_VERSION, z, type Aegis, type ProviderStream } from '@aegis/core';
import { aegisFor, compositeProfile, hi } from './__tests__/helpers.js';

/** A member that declines, in two streamed pieces (no network). */
class Declining extends BackendProvider {
  protected override async *doStream(): ProviderStream {
    yield { type: 'refusal', text: "I'm sorry, " };
    yield { type: 'refusal', text: 'I cannot help with that.' };
    return { finishReason: 'stop' };
  }
}
const decliningPlugin = definePlugin({
  apiVersion: PLUGIN_API_VERSION,
  type: 'declining',
  configSchema: BaseBackendConfig.extend({ type: z.literal('declining') }),
  capabilities: ['streaming'],
  create: (config, context) => new Declining(config, context),
});

let aegis: Aegis;
let dispose: () => void;
beforeAll(() => {
  ({ aegis, dispose } = aegisFor(['- profile_name: no', '  type: declining', ...compositeProfile('chain', 'fallback', ['no'])], { plugins: [decliningPlugin] }));
});
afterAll(() => dispose());

describe('a refusal through a composite profile', () => {
  it('arrives as refusal-delta events and result.refusal, as from the member itself', async () => {
    const stream = (await aegis.getProviderForProfile('chain')).streamCompletion(hi);
    const events = [];
    for await (const event of stream.events()) events.push(event);
    expect(events.filter((e) => e.type === 'refusal-delta').map((e) => (e as { text: string }).text)).toEqual(["I'm sorry, ", 'I cannot help with that.']);
    const result = await stream.result;
    expect(result.refusal).toBe("I'm sorry, I cannot help with that.");
    expect(result.text).toBe('');
  });
});
