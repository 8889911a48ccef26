/**
 * The stream machinery between a plugin's stream and the caller behaves as an
 * async generator would: a stream closed while it waits to retry sends no new
 * request, and `next()` called again before the last one settled is queued,
 * not run beside it.
 */
import { describe, expect, it } from '@jest/globals';
import { BackendProvider, type ProviderContext, type ProviderStream } from './provider.js';
import { BaseBackendConfig } from './base-config.js';
import { HttpClient } from '../http/client.js';
import { ProviderError } from '../errors/provider-error.js';
import { SecretScrubber } from '../secrets/scrubber.js';

type Script = (attempt: number) => ProviderStream;

class Scripted extends BackendProvider {
  attempts = 0;
  script!: Script;
  protected override doStream(): ProviderStream {
    return this.script(++this.attempts);
  }
}

function scripted(script: Script, onRetry: () => void = () => undefined): Scripted {
  const config = BaseBackendConfig.parse({ profile_name: 'test', type: 'test', max_retries: 2 });
  const context: ProviderContext = {
    profileName: 'test',
    providerType: 'test',
    capabilities: ['streaming'],
    http: new HttpClient(),
    logger: { debug() {}, info: (m) => /retry/.test(m) && onRetry(), warn() {}, error() {} },
    secrets: new SecretScrubber(),
    getProvider: () => Promise.reject(new Error('none')),
  };
  const provider = new Scripted(config, context);
  provider.script = script;
  return provider;
}

const hi = [{ role: 'user' as const, content: 'hi' }];

describe('the stream machinery', () => {
  it('a stream closed while it waits to retry makes no new attempt, and ends at once', async () => {
    let waiting!: () => void;
    const retryScheduled = new Promise<void>((resolve) => (waiting = resolve));
    const provider = scripted(async function* (attempt) {
      // The first attempt fails with a wait far longer than the test may take.
      if (attempt === 1) throw new ProviderError('busy', { status: 503, retryable: true, retryAfterMs: 60_000 });
      yield 'late';
      return { finishReason: 'stop' };
    }, () => waiting());
    const iterator = provider.streamCompletion(hi)[Symbol.asyncIterator]();
    const first = iterator.next();
    await retryScheduled;
    await iterator.return(undefined as never);
    expect(await first).toEqual({ value: undefined, done: true });
    expect(provider.attempts).toBe(1);
  });

  it('next() called again before the last one settled is queued: every delta is handed out once, in order', async () => {
    const provider = scripted(async function* () {
      yield ['a', 'b'];
      yield ['c', 'd'];
      yield 'e';
      return { finishReason: 'stop' };
    });
    const stream = provider.streamCompletion(hi);
    const iterator = stream[Symbol.asyncIterator]();
    const steps = await Promise.all(Array.from({ length: 7 }, () => iterator.next()));
    expect(steps.map((s) => (s.done ? 'DONE' : s.value))).toEqual(['a', 'b', 'c', 'd', 'e', 'DONE', 'DONE']);
    expect((await stream.result).text).toBe('abcde');
  });

  it('events() hands out what happened before a stream broke (a tool call begun), then the error', async () => {
    const provider = scripted(async function* () {
      yield 'hello';
      yield { type: 'tool-call-delta', index: 0, id: 'c1', name: 'lookup', arguments: '{"q":' };
      throw new ProviderError('the stream broke', { reason: 'connection', retryable: true });
    });
    const seen: string[] = [];
    let failure: unknown;
    try {
      for await (const event of provider.streamCompletion(hi).events()) seen.push(event.type === 'text-delta' ? `text ${event.text}` : event.type);
    } catch (error) {
      failure = error;
    }
    expect(seen).toEqual(['text hello', 'tool-call-start', 'tool-call-delta']);
    expect(ProviderError.isInstance(failure) && failure.message).toMatch(/the stream broke/);
  });

  it('events() hands out the events of parts as they arrive, not with the next text delta', async () => {
    // The plugin's stream pauses after a tool call has begun, until the test has seen that call's events.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const provider = scripted(async function* () {
      yield { type: 'reasoning', text: 'thinking' };
      yield [
        { type: 'tool-call-delta', index: 0, id: 'c1', name: 'lookup', arguments: '{"q":' },
        { type: 'tool-call-delta', index: 0, arguments: '1' },
      ];
      await gate;
      yield ['done', { type: 'tool-call-delta', index: 0, arguments: '}' }];
      return { finishReason: 'stop' };
    });
    const events = provider.streamCompletion(hi).events();
    const types = async (n: number) => {
      const out: string[] = [];
      for (let i = 0; i < n; i++) out.push(((await events.next()).value as { type: string }).type);
      return out;
    };
    // Read while the plugin is paused: nothing waits for a text delta (before, these reads never resolved).
    expect(await types(4)).toEqual(['reasoning-delta', 'tool-call-start', 'tool-call-delta', 'tool-call-delta']);
    release();
    expect(await types(4)).toEqual(['text-delta', 'tool-call-delta', 'tool-call', 'finish']);
    expect((await events.next()).done).toBe(true);
  });

  it('plain iteration never sees an empty delta for parts (only events() is handed them)', async () => {
    const provider = scripted(async function* () {
      yield { type: 'reasoning', text: 'thinking' };
      yield ['a', { type: 'reasoning', text: 'more' }];
      yield 'b';
      return { finishReason: 'stop' };
    });
    const deltas: string[] = [];
    for await (const delta of provider.streamCompletion(hi)) deltas.push(delta);
    expect(deltas).toEqual(['a', 'b']);
  });
});
