/**
 * A call's `timeoutMs` and `idleTimeoutMs` as a caller may pass them: Infinity
 * (none), a value past what one Node timer holds, and values that make no
 * sense (negative, 0, NaN, not a number), refused before any request. Before,
 * a negative or infinite `idleTimeoutMs` crashed the process from a timer set
 * up outside any promise, and an infinite `timeoutMs` ended the call after 1 ms.
 */
import http from 'node:http';
import { setTimeout as wait } from 'node:timers/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { BackendProvider, type ProviderContext, type ProviderStream } from './provider.js';
import { BaseBackendConfig } from './base-config.js';
import type { CallSettings, RuntimeExecutionConfig } from './runtime.js';
import type { ChatMessage } from './messages.js';
import type { CompletionResult } from './results.js';
import { HttpClient } from '../http/client.js';
import { readSse } from '../http/sse.js';
import { SecretScrubber } from '../secrets/scrubber.js';
import { listenOnLoopback, type Loopback } from '../__tests__/loopback.js';

let loopback: Loopback;
let url: string;
let requests = 0;
/** Holds each answer until it is let go (see `answerLater`). */
let gate: Promise<void> = Promise.resolve();

beforeAll(async () => {
  const server = http.createServer((req, res) => {
    requests++;
    req.resume();
    req.on('end', () => {
      void gate.then(() => {
        if (req.url === '/stream') {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.end('data: {"t":"streamed"}\n\ndata: [DONE]\n\n');
        } else res.end(JSON.stringify({ text: 'answered' }));
      });
    });
  });
  loopback = await listenOnLoopback(server);
  url = loopback.base;
});
afterAll(async () => {
  await loopback.close();
  client.destroy();
});
beforeEach(() => {
  requests = 0;
  gate = Promise.resolve();
});

class TestProvider extends BackendProvider {
  protected override async doCompletion(_messages: ChatMessage[], s: CallSettings): Promise<CompletionResult> {
    const { body } = await this.context.http.postJson<{ text: string }>(`${url}/gen`, {}, this.requestOptions(s));
    return { text: body.text, finishReason: 'stop' };
  }
  protected override async *doStream(_messages: ChatMessage[], s: CallSettings): ProviderStream {
    const res = await this.context.http.postStream(`${url}/stream`, {}, this.requestOptions(s));
    for await (const e of readSse(res.body)) {
      if (e.data === '[DONE]') return { finishReason: 'stop' };
      yield (JSON.parse(e.data) as { t: string }).t;
    }
    throw this.truncatedStream(url, 'data: [DONE]');
  }
}

const client = new HttpClient();
function provider(): TestProvider {
  const context: ProviderContext = {
    profileName: 'test',
    providerType: 'test',
    capabilities: ['completion', 'streaming'],
    http: client,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    secrets: new SecretScrubber(),
    getProvider: () => Promise.reject(new Error('none')),
  };
  return new TestProvider(BaseBackendConfig.parse({ profile_name: 'test', type: 'test', max_retries: 0 }), context);
}
const hi: ChatMessage[] = [{ role: 'user', content: 'hi' }];

/**
 * Lets the server answer only once a 20 ms timer, set after the request has
 * arrived, has fired: any timer the call set before for less than that (a
 * deadline that overflowed to 1 ms) has fired by then, as Node runs timers in
 * the order they are due. No race: a right implementation has no such timer.
 */
function answerLater(): void {
  let open!: () => void;
  gate = new Promise((r) => (open = r));
  const started = requests;
  void (async () => {
    for (let i = 0; requests === started && i < 2000; i++) await wait(5);
    await wait(20);
    open();
  })();
}

describe('timeoutMs and idleTimeoutMs of a call', () => {
  it('Infinity is no deadline: the call is not cut after 1 ms', async () => {
    answerLater();
    expect((await provider().getCompletion(hi, { timeoutMs: Infinity })).text).toBe('answered');
    answerLater();
    expect((await provider().streamCompletion(hi, { timeoutMs: Infinity }).result).text).toBe('streamed');
  });

  it('Infinity is no idle timeout (it crashed the process from the socket timer)', async () => {
    expect((await provider().getCompletion(hi, { idleTimeoutMs: Infinity })).text).toBe('answered');
    expect((await provider().streamCompletion(hi, { idleTimeoutMs: Infinity }).result).text).toBe('streamed');
  });

  it('a deadline and an idle timeout past what one timer holds (24.8 days) are waited for, not cut short', async () => {
    answerLater();
    const far = 30 * 24 * 3600 * 1000;
    expect((await provider().getCompletion(hi, { timeoutMs: far, idleTimeoutMs: far })).text).toBe('answered');
  });

  it.each<[string, RuntimeExecutionConfig]>([
    ['a negative idleTimeoutMs', { idleTimeoutMs: -1 }],
    ['idleTimeoutMs 0', { idleTimeoutMs: 0 }],
    ['idleTimeoutMs NaN', { idleTimeoutMs: NaN }],
    ['-Infinity as idleTimeoutMs', { idleTimeoutMs: -Infinity }],
    ['a negative timeoutMs', { timeoutMs: -5 }],
    ['timeoutMs NaN', { timeoutMs: NaN }],
    ['a string as timeoutMs', { timeoutMs: '5000' as unknown as number }],
  ])('%s is a TypeError at the call, before any request', async (_name, runtime) => {
    const name = Object.keys(runtime)[0]!;
    await expect(provider().getCompletion(hi, runtime)).rejects.toThrow(TypeError);
    await expect(provider().getCompletion(hi, runtime)).rejects.toThrow(`${name} must be a number of milliseconds above 0`);
    // A stream is checked when it is made, as its messages are.
    expect(() => provider().streamCompletion(hi, runtime)).toThrow(TypeError);
    expect(requests).toBe(0);
  });
});
