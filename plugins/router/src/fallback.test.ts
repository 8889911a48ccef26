import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CAPABILITIES, CapabilityNotSupportedError, ProviderError, type Aegis } from '@aegis/core';
import { startExampleComEmulator, type Emulator } from '@aegis/testkit';
import { MembersFailedError } from './index.js';
import { aegisFor, closedPortUrl, compositeProfile, exampleProfile, hi, KEY, rejection } from './__tests__/helpers.js';

let a: Emulator;
let b: Emulator;
let held: HeldBackend;
let aegis: Aegis;
let dispose: () => void;

/**
 * An Example.com backend whose streams send their first delta and then wait: it
 * tells when the client closed a stream's connection before the stream ended.
 */
interface HeldBackend {
  url: string;
  /** Resolves when a stream has sent its first delta. */
  nextStream(): Promise<{ closed: Promise<void> }>;
  close(): Promise<void>;
}

async function startHeldBackend(): Promise<HeldBackend> {
  const waiting: ((stream: { closed: Promise<void> }) => void)[] = [];
  const ready: { closed: Promise<void> }[] = [];
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const closed = new Promise<void>((resolve) => res.on('close', () => resolve()));
      res.write(`data: ${JSON.stringify({ text: 'held ', finish_reason: null })}\n\n`);
      const stream = { closed };
      const waiter = waiting.shift();
      if (waiter) waiter(stream);
      else ready.push(stream);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    nextStream: () => {
      const stream = ready.shift();
      return stream ? Promise.resolve(stream) : new Promise((resolve) => waiting.push(resolve));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

beforeAll(async () => {
  a = await startExampleComEmulator({ apiKey: KEY });
  b = await startExampleComEmulator({ apiKey: KEY });
  held = await startHeldBackend();
  const closed = await closedPortUrl();
  // cooldown: 0 keeps one test's failures from changing the next one's order (cooldowns: fallback-cooldown.test.ts).
  ({ aegis, dispose } = aegisFor([
    ...exampleProfile('a', a.url),
    ...exampleProfile('b', b.url),
    ...exampleProfile('a_retrying', a.url, 'max_retries: 1'),
    ...exampleProfile('a_impatient', a.url, 'idle_timeout: 0.2'),
    ...exampleProfile('down', closed),
    ...exampleProfile('held', held.url),
    ...exampleProfile('wrong_key', a.url).map((l) => l.replace(KEY, 'not-the-key')),
    '- profile_name: embedder',
    '  type: fake_embedder',
    ...compositeProfile('chain', 'fallback', ['a', 'b'], 'cooldown: 0'),
    ...compositeProfile('down_first', 'fallback', ['down', 'b'], 'cooldown: 0'),
    ...compositeProfile('a_then_down', 'fallback', ['a', 'down'], 'cooldown: 0'),
    ...compositeProfile('held_first', 'fallback', ['held', 'b'], 'cooldown: 0'),
    ...compositeProfile('retrying_first', 'fallback', ['a_retrying', 'b'], 'cooldown: 0'),
    ...compositeProfile('key_first', 'fallback', ['wrong_key', 'b'], 'cooldown: 0'),
    ...compositeProfile('text_only', 'fallback', ['a', 'b'], 'cooldown: 0'),
    ...compositeProfile('embeds', 'fallback', ['a', 'embedder'], 'cooldown: 0'),
    ...compositeProfile('nested', 'fallback', ['text_only', 'embedder'], 'cooldown: 0'),
    ...compositeProfile('impatient_first', 'fallback', ['a_impatient', 'b'], 'cooldown: 0'),
    // 1 s, not less: it is handed to b too, whose answer must come within it whatever the load.
    ...compositeProfile('impatient_chain', 'fallback', ['a', 'b'], 'idle_timeout: 1', 'cooldown: 0'),
  ]));
});

afterAll(async () => {
  dispose();
  await Promise.all([a.close(), b.close(), held?.close()]);
});

beforeEach(() => {
  a.reset();
  b.reset();
  a.setReply({ text: 'from a', chunks: ['from', ' a'] });
  b.setReply({ text: 'from b', chunks: ['from', ' b'] });
});

describe('type: fallback, one-shot calls', () => {
  it('answers from the first member when it answers', async () => {
    const chain = await aegis.getProviderForProfile('chain');
    expect((await chain.getCompletion(hi)).text).toBe('from a');
    expect([a.requests.length, b.requests.length]).toEqual([1, 0]);
  });

  it('falls back to the second member on HTTP 503', async () => {
    a.failNext({ kind: 'status', status: 503 });
    const chain = await aegis.getProviderForProfile('chain');
    expect((await chain.getCompletion(hi)).text).toBe('from b');
    expect([a.requests.length, b.requests.length]).toEqual([1, 1]);
  });

  it('falls back to the second member when the first refuses the connection', async () => {
    const result = await aegis.getCompletion('down_first', hi);
    expect(result.text).toBe('from b');
    expect(b.requests.length).toBe(1);
  });

  it('lets a member retry per its own profile before moving on', async () => {
    a.failNext({ kind: 'status', status: 503 });
    const result = await aegis.getCompletion('retrying_first', hi);
    expect(result.text).toBe('from a');
    expect([a.requests.length, b.requests.length]).toEqual([2, 0]);
  });

  it('does not fall back on HTTP 400: the error is thrown as the member threw it, naming the member', async () => {
    a.failNext({ kind: 'status', status: 400 });
    const e = await rejection(aegis.getCompletion('chain', hi));
    expect(ProviderError.isInstance(e)).toBe(true);
    const error = e as ProviderError;
    expect([error.status, error.retryable, error.profile]).toEqual([400, false, 'a']);
    expect(error.message).toContain('profile "a" (example_com)');
    expect(MembersFailedError.isInstance(error)).toBe(false);
    expect(b.requests.length).toBe(0);
  });

  it('does not fall back on HTTP 401 either', async () => {
    const e = (await rejection(aegis.getCompletion('key_first', hi))) as ProviderError;
    expect([e.status, e.profile]).toEqual([401, 'wrong_key']);
    expect(b.requests.length).toBe(0);
  });

  it('when every member fails, says what each returned and carries the individual errors', async () => {
    a.failNext({ kind: 'status', status: 503 });
    const e = await rejection(aegis.getCompletion('a_then_down', hi));
    expect(ProviderError.isInstance(e)).toBe(true);
    expect(MembersFailedError.isInstance(e)).toBe(true);
    const error = e as MembersFailedError;
    expect(error.profile).toBe('a_then_down');
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/^profile "a_then_down" \(fallback\): all 2 member profiles failed: "a": .*HTTP 503.*; "down": .*connection refused/);
    expect(error.attempts.map((x) => x.profile)).toEqual(['a', 'down']);
    const [first, second] = error.attempts.map((x) => x.error as ProviderError);
    expect([first!.status, first!.profile]).toEqual([503, 'a']);
    expect([second!.reason, second!.profile]).toEqual(['connection', 'down']);
    expect(error.cause).toBe(second);
  });

  it('hands the call settings to the member', async () => {
    await aegis.getCompletion('chain', hi, { temperature: 0.9, maxTokens: 7, stop: ['\n'] });
    expect(a.lastRequest?.json).toMatchObject({ temp: 0.9, max_tokens: 7, stop: ['\n'] });
  });

  it("keeps each member's own idle_timeout when the composite profile sets none", async () => {
    a.failNext({ kind: 'hang' });
    expect((await aegis.getCompletion('impatient_first', hi)).text).toBe('from b');
  });

  it("hands the composite profile's idle_timeout to the members when it sets one", async () => {
    a.failNext({ kind: 'hang' });
    expect((await aegis.getCompletion('impatient_chain', hi)).text).toBe('from b');
  });

  it("does not move on once the call itself is out of time or aborted: the member's error, the next member never called", async () => {
    // The call's deadline (an AbortSignal.timeout's reason) or the caller's abort, once the request has reached `a`.
    for (const reason of [new DOMException('the deadline passed', 'TimeoutError'), undefined]) {
      a.reset();
      b.reset();
      a.failNext({ kind: 'hang' });
      const controller = new AbortController();
      const call = aegis.getCompletion('chain', hi, { signal: controller.signal });
      while (a.requests.length === 0) await new Promise((resolve) => setImmediate(resolve));
      controller.abort(reason);
      const e = await rejection(call);
      expect(ProviderError.isInstance(e)).toBe(true);
      expect(MembersFailedError.isInstance(e)).toBe(false);
      expect([(e as ProviderError).reason, (e as ProviderError).profile]).toEqual([reason ? 'timeout' : 'aborted', 'a']);
      expect(b.requests.length).toBe(0);
    }
  });

  it('defaults its own max_retries to 0', async () => {
    expect((await aegis.getBackendConfig('chain')).max_retries).toBe(0);
  });
});

describe('type: fallback, capabilities', () => {
  it('declares every operation and every completion feature', async () => {
    const chain = await aegis.getProviderForProfile('chain');
    expect([...chain.capabilities].sort()).toEqual([...CAPABILITIES].sort());
  });

  it('throws CapabilityNotSupportedError for an operation no member supports', async () => {
    const chain = await aegis.getProviderForProfile('text_only');
    for (const call of [() => chain.getEmbeddings(['x']), () => chain.getSpeech('x'), () => chain.getTranscription(new Uint8Array(4))]) {
      const e = await rejection(call());
      expect(CapabilityNotSupportedError.isInstance(e)).toBe(true);
      expect((e as CapabilityNotSupportedError).profile).toBe('text_only');
    }
    expect(a.requests.length + b.requests.length).toBe(0);
  });

  it('skips a member that does not support the operation', async () => {
    const embeds = await aegis.getProviderForProfile('embeds');
    expect((await embeds.getEmbeddings(['abc', 'de'])).embeddings).toEqual([
      [3, 1],
      [2, 1],
    ]);
    expect((await embeds.getCompletion(hi)).text).toBe('from a');
  });

  it('skips a member (a nested fallback) that turns out not to support it when called', async () => {
    const nested = await aegis.getProviderForProfile('nested');
    expect((await nested.getEmbeddings(['abcd'])).embeddings).toEqual([[4, 1]]);
    a.failNext({ kind: 'status', status: 503 });
    expect((await nested.getCompletion(hi)).text).toBe('from b');
  });
});

describe('type: fallback, streaming', () => {
  async function collect(profile: string): Promise<{ deltas: string[]; error?: unknown; text?: string }> {
    const provider = await aegis.getProviderForProfile(profile);
    const stream = provider.streamCompletion(hi);
    const deltas: string[] = [];
    try {
      for await (const delta of stream) deltas.push(delta);
      return { deltas, text: (await stream.result).text };
    } catch (error) {
      return { deltas, error };
    }
  }

  it('switches member on a 503 before the first delta', async () => {
    a.failNext({ kind: 'status', status: 503 });
    expect(await collect('chain')).toEqual({ deltas: ['from', ' b'], text: 'from b' });
  });

  it('switches member when the first stream ends before its first delta', async () => {
    a.failNext({ kind: 'truncate', afterChunks: 0 });
    expect(await collect('chain')).toEqual({ deltas: ['from', ' b'], text: 'from b' });
    expect(a.requests.length).toBe(1);
  });

  it('switches member on connection refused', async () => {
    expect(await collect('down_first')).toEqual({ deltas: ['from', ' b'], text: 'from b' });
  });

  it('does not switch after the first delta: the error carries the text received so far', async () => {
    a.setReply({ chunks: ['one ', 'two ', 'three'] });
    a.failNext({ kind: 'truncate', afterChunks: 2 });
    const { deltas, error } = await collect('chain');
    expect(deltas).toEqual(['one ', 'two ']);
    expect(ProviderError.isInstance(error)).toBe(true);
    expect((error as ProviderError).reason).toBe('truncated_stream');
    expect((error as ProviderError).partialText).toBe('one two ');
    expect((error as ProviderError).profile).toBe('a');
    expect(b.requests.length).toBe(0);
  });

  it('rejects `result` too when the stream breaks after the first delta', async () => {
    a.setReply({ chunks: ['one ', 'two ', 'three'] });
    a.failNext({ kind: 'reset-mid-stream', afterChunks: 1 });
    const chain = await aegis.getProviderForProfile('chain');
    const e = (await rejection(chain.streamCompletion(hi).result)) as ProviderError;
    expect(ProviderError.isInstance(e)).toBe(true);
    expect(e.partialText).toBe('one ');
    expect(b.requests.length).toBe(0);
  });

  it('does not switch on a 400', async () => {
    a.failNext({ kind: 'status', status: 400 });
    const { deltas, error } = await collect('chain');
    expect(deltas).toEqual([]);
    expect([(error as ProviderError).status, (error as ProviderError).profile]).toEqual([400, 'a']);
    expect(b.requests.length).toBe(0);
  });

  it('reports every member when all streams fail before their first delta', async () => {
    a.failNext({ kind: 'status', status: 503 });
    const { error } = await collect('a_then_down');
    expect(MembersFailedError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/"a": .*HTTP 503.*; "down": .*connection refused/);
  });

  it('closes the member stream when the consumer stops early', async () => {
    a.setReply({ chunks: ['one ', 'two ', 'three'] });
    const chain = await aegis.getProviderForProfile('chain');
    const stream = chain.streamCompletion(hi);
    for await (const delta of stream) {
      expect(delta).toBe('one ');
      break;
    }
    await expect(stream.result).rejects.toThrow(/closed by the consumer/);
    expect(b.requests.length).toBe(0);
  });

  it("closes the member's connection when the consumer stops early, while the member's stream is still open", async () => {
    const stream = (await aegis.getProviderForProfile('held_first')).streamCompletion(hi);
    const reached = held.nextStream();
    for await (const delta of stream) {
      expect(delta).toBe('held ');
      break;
    }
    // The backend never ends this stream: only the client closing its connection resolves this (the test times out otherwise).
    await (await reached).closed;
    await expect(stream.result).rejects.toThrow(/closed by the consumer/);
    expect(b.requests.length).toBe(0);
  });
});
