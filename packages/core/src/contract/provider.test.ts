import http from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { BackendProvider, type ProviderContext, type ProviderStream } from './provider.js';
import { BaseBackendConfig } from './base-config.js';
import type { CallSettings } from './runtime.js';
import type { ChatMessage } from './messages.js';
import type { CompletionResult, EmbeddingsResult } from './results.js';
import { HttpClient } from '../http/client.js';
import { readSse, readSseBatches } from '../http/sse.js';
import { streamDeltas } from './deltas.js';
import { ProviderError } from '../errors/provider-error.js';
import { CapabilityNotSupportedError } from '../errors/capability-error.js';
import { SecretScrubber } from '../secrets/scrubber.js';
import { listenOnLoopback, type Loopback } from '../__tests__/loopback.js';

/** A scripted server: each request takes the next step of `script` (the last one repeats). */
type Step = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void;
let script: Step[] = [];
const bodies: unknown[] = [];
let server: http.Server;
let url: string;
let loopback: Loopback;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      bodies.push(JSON.parse(body));
      const step = script.length > 1 ? script.shift()! : script[0]!;
      step(req, res, body);
    });
  });
  loopback = await listenOnLoopback(server);
  url = `${loopback.base}/gen`;
});
afterAll(async () => {
  await loopback.close();
  http_.destroy();
});
beforeEach(() => {
  bodies.length = 0;
});

const ok = (text: string): Step => (_q, res) => res.end(JSON.stringify({ text }));
const status = (code: number, headers: Record<string, string> = {}): Step => (_q, res) =>
  res.writeHead(code, headers).end(JSON.stringify({ error: { message: `status ${code} from test`, key: 'sk-canary-secret-123' } }));
const sse = (parts: string[], end = true): Step => (_q, res) => {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  for (const p of parts) res.write(`data: ${JSON.stringify({ t: p })}\n\n`);
  if (end) res.end('data: [DONE]\n\n');
  else res.end();
};

/** The smallest real provider: POSTs to the test server. */
class TestProvider extends BackendProvider {
  protected override async doCompletion(messages: ChatMessage[], s: CallSettings): Promise<CompletionResult> {
    const { body } = await this.context.http.postJson<{ text: string }>(url, { messages, temperature: s.temperature, max_tokens: s.maxTokens, stop: s.stop }, this.requestOptions(s));
    return { text: body.text, finishReason: 'stop' };
  }
  protected override async *doStream(messages: ChatMessage[], s: CallSettings): ProviderStream {
    const res = await this.context.http.postStream(url, { messages, stream: true }, this.requestOptions(s));
    for await (const e of readSse(res.body)) {
      if (e.data === '[DONE]') return { finishReason: 'stop' };
      yield (JSON.parse(e.data) as { t: string }).t;
    }
    throw this.truncatedStream(url, 'data: [DONE]');
  }
}

/** The same provider reading its stream a batch at a time (every event of one network chunk together). */
class BatchProvider extends TestProvider {
  protected override async *doStream(messages: ChatMessage[], s: CallSettings): ProviderStream {
    const res = await this.context.http.postStream(url, { messages, stream: true }, this.requestOptions(s));
    const end = yield* streamDeltas(readSseBatches(res.body), (e, deltas) => {
      if (e.data === '[DONE]') return { finishReason: 'stop' };
      const event = JSON.parse(e.data) as { t?: string; error?: string };
      if (event.error) throw new ProviderError(`stream error: ${event.error}`, { url, reason: 'stream_error' });
      deltas.push(event.t!); // empty ones too: core skips them
    });
    if (end) return end;
    throw this.truncatedStream(url, 'data: [DONE]');
  }
}

/** One write: every event arrives in the same chunk, so the plugin yields them as one batch. */
const oneChunk = (events: object[], end = true): Step => (_q, res) => {
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.end(events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join('') + (end ? 'data: [DONE]\n\n' : ''));
};

const http_ = new HttpClient();
function provider(overrides: Record<string, unknown> = {}, capabilities = ['completion', 'streaming'] as const, Class = TestProvider): TestProvider {
  const config = BaseBackendConfig.parse({ profile_name: 'test', type: 'test', max_retries: 2, ...overrides });
  const secrets = new SecretScrubber();
  secrets.add('sk-canary-secret-123');
  const context: ProviderContext = {
    profileName: 'test',
    providerType: 'test',
    capabilities,
    http: http_,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    secrets,
    getProvider: () => Promise.reject(new Error('none')),
  };
  return new Class(config, context);
}
const hi: ChatMessage[] = [{ role: 'user', content: 'hi' }];

async function rejection(promise: Promise<unknown>): Promise<ProviderError> {
  try {
    await promise;
  } catch (e) {
    return e as ProviderError;
  }
  throw new Error('expected a rejection');
}

/** Streams with a signal that the consumer aborts as soon as it has a delta. */
async function abortAfterFirstDelta(p: TestProvider): Promise<{ deltas: string[]; error: ProviderError }> {
  const controller = new AbortController();
  const stream = p.streamCompletion(hi, { signal: controller.signal });
  const deltas: string[] = [];
  const error = await rejection(
    (async () => {
      for await (const d of stream) {
        deltas.push(d);
        controller.abort();
      }
    })(),
  );
  return { deltas, error };
}

describe('BackendProvider call machinery', () => {
  it('merges profile defaults with per-call settings', async () => {
    script = [ok('a')];
    await provider({ temperature: 0.3, max_tokens: 50, stop: ['x'] }).getCompletion(hi, { maxTokens: 7 });
    expect(bodies[0]).toMatchObject({ temperature: 0.3, max_tokens: 7, stop: ['x'] });
  });

  it("hands the plugin the call's timeouts in milliseconds: the profile's seconds, or the call's own", async () => {
    const seen: CallSettings[] = [];
    class Recording extends TestProvider {
      protected override async doCompletion(messages: ChatMessage[], s: CallSettings): Promise<CompletionResult> {
        seen.push(s);
        return super.doCompletion(messages, s);
      }
    }
    script = [ok('a')];
    const p = provider({ timeout: 30, idle_timeout: 5 }, undefined, Recording);
    await p.getCompletion(hi);
    await p.getCompletion(hi, { timeoutMs: 1234, idleTimeoutMs: 567 });
    expect(seen.map((s) => [s.timeoutMs, s.idleTimeoutMs])).toEqual([
      [30_000, 5_000],
      [1234, 567],
    ]);
  });

  it('retries 503 twice then succeeds', async () => {
    script = [status(503, { 'retry-after': '0' }), status(503, { 'retry-after': '0' }), ok('third time')];
    const result = await provider().getCompletion(hi);
    expect(result.text).toBe('third time');
    expect(bodies).toHaveLength(3);
  });

  it('honours Retry-After before retrying a 429', async () => {
    script = [status(429, { 'retry-after': '0.3' }), ok('after wait')];
    const started = Date.now();
    expect((await provider().getCompletion(hi)).text).toBe('after wait');
    // At least the wait asked for (a lower bound: a loaded machine only makes it longer).
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('does not retry a 400, names the profile, and never shows a secret', async () => {
    script = [status(400), ok('never')];
    const e = await rejection(provider().getCompletion(hi));
    expect(ProviderError.isInstance(e)).toBe(true);
    expect(bodies).toHaveLength(1);
    expect(e.message).toMatch(/^profile "test" \(test\): POST http:\/\/127\.0\.0\.1:\d+\/gen failed with HTTP 400/);
    expect(e.profile).toBe('test');
    expect([e.retryable, e.isRetryable]).toEqual([false, false]);
    expect(e.message + e.bodyExcerpt).not.toContain('sk-canary-secret-123');
  });

  it('gives up after max_retries with the last error', async () => {
    script = [status(500)];
    const e = await rejection(provider({ max_retries: 1 }).getCompletion(hi, { maxRetries: 1 }));
    expect(e.status).toBe(500);
    expect(bodies).toHaveLength(2);
  });

  it('enforces the deadline across retries', async () => {
    script = [() => undefined];
    const started = Date.now();
    const e = await rejection(provider().getCompletion(hi, { timeoutMs: 300 }));
    expect(e.reason).toBe('timeout');
    // The call's 300 ms, not the profile's own timeout (minutes), ended it.
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('throws CapabilityNotSupportedError naming type, profile and operation', async () => {
    const p = provider({}, ['completion'] as never);
    expect(() => p.streamCompletion(hi)).toThrow(CapabilityNotSupportedError);
    await expect(p.getEmbeddings(['x'])).rejects.toThrow('provider type "test" (profile "test") does not support embeddings (getEmbeddings)');
    const e = await rejection(p.getSpeech('x'));
    expect(CapabilityNotSupportedError.isInstance(e)).toBe(true);
  });

  it('streams deltas whose concatenation is the final text', async () => {
    script = [sse(['Hel', 'lo', ' world'])];
    const stream = provider().streamCompletion(hi);
    const deltas: string[] = [];
    for await (const d of stream) deltas.push(d);
    expect(deltas).toEqual(['Hel', 'lo', ' world']);
    expect((await stream.result).text).toBe('Hello world');
  });

  it('retries a stream that fails before its first delta', async () => {
    script = [status(503, { 'retry-after': '0' }), sse(['ok'])];
    expect((await provider().streamCompletion(hi).result).text).toBe('ok');
    expect(bodies).toHaveLength(2);
  });

  it('gives up a stream that keeps failing before its first delta after max_retries retries', async () => {
    script = [status(503, { 'retry-after': '0' })];
    const e = await rejection(provider({ max_retries: 1 }).streamCompletion(hi).result);
    expect(e.status).toBe(503);
    expect(bodies).toHaveLength(2);
  });

  it('does not retry a stream that fails before its first delta when retryIf vetoes it', async () => {
    script = [status(503, { 'retry-after': '0' }), sse(['ok'])];
    const vetoed: number[] = [];
    const e = await rejection(
      provider().streamCompletion(hi, {
        retryIf: (_error, attempt) => {
          vetoed.push(attempt);
          return false;
        },
      }).result,
    );
    expect(e.status).toBe(503);
    expect(vetoed).toEqual([0]);
    expect(bodies).toHaveLength(1);
  });

  it('does not retry after the first delta: a truncated stream is an error carrying the partial text', async () => {
    script = [sse(['par', 'tial'], false), sse(['never'])];
    const stream = provider().streamCompletion(hi);
    const deltas: string[] = [];
    const e = await rejection(
      (async () => {
        for await (const d of stream) deltas.push(d);
      })(),
    );
    expect(deltas).toEqual(['par', 'tial']);
    expect(e.reason).toBe('truncated_stream');
    expect(e.partialText).toBe('partial');
    expect(e.message).toContain('ended before data: [DONE]');
    await expect(stream.result).rejects.toBe(e);
    expect(bodies).toHaveLength(1);
  });

  it('aborts a stream mid-way on the caller signal', async () => {
    script = [
      (_q, res) => {
        res.writeHead(200);
        res.write(`data: {"t":"first"}\n\n`);
      },
    ];
    const { deltas, error: e } = await abortAfterFirstDelta(provider());
    expect(deltas).toEqual(['first']);
    expect(e.reason).toBe('aborted');
  });

  it('frees the stream when the consumer breaks early', async () => {
    script = [
      (_q, res) => {
        res.writeHead(200);
        res.write(`data: {"t":"one"}\n\n`);
      },
    ];
    const stream = provider().streamCompletion(hi);
    for await (const d of stream) {
      expect(d).toBe('one');
      break;
    }
    await expect(stream.result).rejects.toThrow('closed by the consumer');
  });
});

describe('a plugin stream that yields batches of deltas', () => {
  const batched = () => provider({}, undefined, BatchProvider);
  async function read(stream: AsyncIterable<string> & { text: string }): Promise<{ deltas: string[]; texts: string[]; error?: ProviderError }> {
    const deltas: string[] = [];
    const texts: string[] = [];
    try {
      for await (const d of stream) {
        deltas.push(d);
        texts.push(stream.text);
      }
      return { deltas, texts };
    } catch (error) {
      return { deltas, texts, error: error as ProviderError };
    }
  }

  it('hands the deltas to the caller one by one, skipping empty ones; text and result follow them', async () => {
    script = [oneChunk([{ t: 'Hel' }, { t: '' }, { t: 'lo' }, { t: ' world' }])];
    const stream = batched().streamCompletion(hi);
    const { deltas, texts, error } = await read(stream);
    expect(error).toBeUndefined();
    expect(deltas).toEqual(['Hel', 'lo', ' world']);
    expect(texts).toEqual(['Hel', 'Hello', 'Hello world']);
    // The result's text is joined on first read: it still serializes, spreads and can be replaced.
    const result = await stream.result;
    expect(JSON.parse(JSON.stringify(result))).toEqual({ text: 'Hello world', finishReason: 'stop' });
    expect({ ...result }).toEqual({ text: 'Hello world', finishReason: 'stop' });
    result.text = 'edited';
    expect(result.text).toBe('edited');
  });

  it('an error in the middle of a batch: the deltas before it reach the caller first, and are the partial text', async () => {
    script = [oneChunk([{ t: 'a' }, { t: 'b' }, { error: 'model crashed' }, { t: 'never' }])];
    const stream = batched().streamCompletion(hi);
    const { deltas, error } = await read(stream);
    expect(deltas).toEqual(['a', 'b']);
    expect(error).toMatchObject({ reason: 'stream_error', partialText: 'ab', profile: 'test' });
    await expect(stream.result).rejects.toBe(error);
  });

  it('an abort between two deltas of one batch stops at once', async () => {
    script = [oneChunk([{ t: 'one' }, { t: 'two' }, { t: 'three' }])];
    const { deltas, error: e } = await abortAfterFirstDelta(batched());
    expect(deltas).toEqual(['one']);
    expect(e).toMatchObject({ reason: 'aborted', partialText: 'one' });
  });

  it('a batch of empty deltas is not a first delta: the stream is still retried', async () => {
    script = [oneChunk([{ t: '' }, { t: '' }], false), oneChunk([{ t: 'ok' }])];
    expect((await batched().streamCompletion(hi).result).text).toBe('ok');
    expect(bodies).toHaveLength(2);
  });

  it('a consumer that stops mid-batch closes the stream', async () => {
    script = [oneChunk([{ t: 'one' }, { t: 'two' }])];
    const stream = batched().streamCompletion(hi);
    for await (const d of stream) {
      expect(d).toBe('one');
      break;
    }
    await expect(stream.result).rejects.toThrow('closed by the consumer');
    expect(stream.text).toBe('one');
  });
});

/** Embeddings without a server: records each request's texts and answers with the scripted usage per request. */
class EmbeddingsProvider extends TestProvider {
  requests: string[][] = [];
  usages: (EmbeddingsResult['usage'] | undefined)[] = [];
  protected override async doEmbeddings(texts: string[]): Promise<EmbeddingsResult> {
    const n = this.requests.push(texts) - 1;
    const usage = this.usages[n];
    return { embeddings: texts.map((t) => [t.charCodeAt(0)]), ...(usage ? { usage } : {}), ...(n === 1 ? { model: 'emb-1' } : {}) };
  }
}

describe('getEmbeddings over several requests', () => {
  const embedder = (): EmbeddingsProvider =>
    provider({ max_embeddings_per_call: 2 }, ['completion', 'embeddings'] as never, EmbeddingsProvider) as EmbeddingsProvider;

  it('sends at most max_embeddings_per_call texts per request and joins the vectors in order, usage added up', async () => {
    const p = embedder();
    p.usages = [
      { promptTokens: 2, totalTokens: 2 },
      { promptTokens: 3, totalTokens: 3 },
      { promptTokens: 1, totalTokens: 1 },
    ];
    const result = await p.getEmbeddings(['a', 'b', 'c', 'd', 'e']);
    expect(p.requests).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
    expect(result).toEqual({ embeddings: [[97], [98], [99], [100], [101]], usage: { promptTokens: 6, totalTokens: 6 }, model: 'emb-1' });
  });

  it('leaves out a usage count that one of the requests did not report, rather than a partial sum', async () => {
    const p = embedder();
    p.usages = [{ promptTokens: 2, totalTokens: 2 }, { promptTokens: 3 }];
    const result = await p.getEmbeddings(['a', 'b', 'c']);
    expect(result.usage).toEqual({ promptTokens: 5 });
  });
});
