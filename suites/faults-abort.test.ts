/**
 * Cancellation: an AbortSignal stops a call at once in any phase (before the
 * response, mid-stream, during the wait before a retry), as a typed
 * `aborted` error, and frees the socket (the emulator sees the connection
 * closed; nothing is left half-read in the agent's pool).
 *
 * Every test starts its own emulators so that the open connections counted are
 * the test's own. KoboldCpp keeps generating after a client has gone, so its
 * plugin sends a best-effort POST /api/extra/abort when a call is cancelled:
 * that request completes normally and its socket stays in the keep-alive pool.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { ProviderError, type ChatMessage } from '@aegis/core';
import type { Emulator } from '@aegis/testkit';
import {
  eventually,
  forEachKind,
  KINDS,
  type Fleet,
  type Kind,
  openConnections,
  providerError,
  removeTempProjects,
  requestsTo,
  startFleet,
  TARGETS,
  timed,
} from './helpers.js';

const messages: ChatMessage[] = [{ role: 'user', content: 'Tell me a story' }];
const VARIANTS = { call: { max_retries: 2, timeout: 10, idle_timeout: 10 } };
/** How soon after abort() the call must have failed. */
const AT_ONCE_MS = 100;

const fleets: Fleet[] = [];
async function fleet(options = {}): Promise<Fleet> {
  const f = await startFleet(VARIANTS, options);
  fleets.push(f);
  return f;
}

afterEach(async () => {
  await Promise.all(fleets.splice(0).map((f) => f.close()));
  removeTempProjects();
});

async function arrived(emulator: Emulator, path: string, count = 1): Promise<void> {
  if (!(await eventually(() => requestsTo(emulator, path) >= count, 2000))) throw new Error(`no request to ${path} arrived`);
}

/**
 * The aborted call's connection is closed: the emulator has no open connection
 * left but the kept-alive one of KoboldCpp's abort request (a new connection:
 * the aborted one was not put back in the pool).
 */
async function expectSocketFreed(kind: Kind, emulator: Emulator): Promise<void> {
  const kept = kind === 'koboldcpp' ? 1 : 0;
  // KoboldCpp's server-side abort is sent in the background: wait for it too.
  const abortArrived = () => kind !== 'koboldcpp' || emulator.lastRequest?.path === '/api/extra/abort';
  await eventually(async () => (await openConnections(emulator)) <= kept && emulator.connectionCount === 1 + kept && abortArrived(), 300);
  expect({ open: await openConnections(emulator), total: emulator.connectionCount }).toEqual({ open: kept, total: 1 + kept });
  if (kind === 'koboldcpp') expect(emulator.lastRequest?.path).toBe('/api/extra/abort');
}

function expectAborted(error: unknown, kind: Kind): asserts error is ProviderError {
  expect(ProviderError.isInstance(error)).toBe(true);
  expect(error).toMatchObject({ reason: 'aborted', retryable: false, profile: `${kind}_call` });
}

describe('an AbortSignal stops the call at once', () => {
  it('before the response (a server that never answers), and frees the socket', async () => {
    const f = await fleet();
    await forEachKind(KINDS, async (kind) => {
      const emu = f.emulators[kind];
      emu.failNext({ kind: 'hang' });
      const controller = new AbortController();
      const call = timed((await f.provider(kind, 'call')).getCompletion(messages, { signal: controller.signal }));
      await arrived(emu, TARGETS[kind].completionPath);
      controller.abort();
      const { ms, error } = await call;
      expectAborted(error, kind);
      expect(ms).toBeLessThan(2000);
      await expectSocketFreed(kind, emu);
    });
  });

  it('before the response: the rejection follows abort() within 100 ms', async () => {
    const f = await fleet();
    await forEachKind(KINDS, async (kind) => {
      const emu = f.emulators[kind];
      emu.failNext({ kind: 'hang' });
      const controller = new AbortController();
      const call = (await f.provider(kind, 'call')).getCompletion(messages, { signal: controller.signal });
      await arrived(emu, TARGETS[kind].completionPath);
      const start = performance.now();
      controller.abort();
      const error = await providerError(call);
      expect(performance.now() - start).toBeLessThan(AT_ONCE_MS);
      expectAborted(error, kind);
    });
  });

  it('mid-stream: the stream fails at once with the text so far, and frees the socket', async () => {
    const f = await fleet({ chunkDelayMs: 300 });
    await forEachKind(KINDS, async (kind) => {
      const emu = f.emulators[kind];
      const controller = new AbortController();
      const stream = (await f.provider(kind, 'call')).streamCompletion(messages, { signal: controller.signal });
      const iterator = stream[Symbol.asyncIterator]();
      const first = await iterator.next();
      expect(first.done).toBe(false);
      const start = performance.now();
      controller.abort();
      const { error } = await timed(iterator.next());
      expect(performance.now() - start).toBeLessThan(AT_ONCE_MS);
      expectAborted(error, kind);
      expect(error.partialText).toBe(first.value);
      await expect(stream.result).rejects.toBe(error);
      await expectSocketFreed(kind, emu);
    });
  });

  it('during the wait before a retry (503 with Retry-After 5): at once, as aborted, with no further request', async () => {
    const f = await fleet();
    await forEachKind(KINDS, async (kind) => {
      const emu = f.emulators[kind];
      emu.failNext({ kind: 'status', status: 503, retryAfter: '5' });
      const controller = new AbortController();
      const call = timed((await f.provider(kind, 'call')).getCompletion(messages, { signal: controller.signal }));
      await arrived(emu, TARGETS[kind].completionPath);
      await new Promise((resolve) => setTimeout(resolve, 30)); // the 503 has been read: the call is waiting
      const start = performance.now();
      controller.abort();
      const { error } = await call;
      expect(performance.now() - start).toBeLessThan(AT_ONCE_MS);
      expectAborted(error, kind);
      expect(requestsTo(emu, TARGETS[kind].completionPath)).toBe(1);
    });
  });

  it('during the wait before a retry of a stream that failed before its first delta: at once, as aborted', async () => {
    const f = await fleet();
    await forEachKind(KINDS, async (kind) => {
      const emu = f.emulators[kind];
      emu.failNext({ kind: 'status', status: 503, retryAfter: '5' });
      const controller = new AbortController();
      const stream = (await f.provider(kind, 'call')).streamCompletion(messages, { signal: controller.signal });
      const next = timed(stream[Symbol.asyncIterator]().next());
      await arrived(emu, TARGETS[kind].streamPath);
      await new Promise((resolve) => setTimeout(resolve, 30));
      const start = performance.now();
      controller.abort();
      const { error } = await next;
      expect(performance.now() - start).toBeLessThan(AT_ONCE_MS);
      expectAborted(error, kind);
      expect(requestsTo(emu, TARGETS[kind].streamPath)).toBe(1);
    });
  });

  it('with a signal aborted before the call: rejected at once, nothing sent', async () => {
    const f = await fleet();
    await forEachKind(KINDS, async (kind) => {
      const controller = new AbortController();
      controller.abort();
      const provider = await f.provider(kind, 'call');
      const { ms, error } = await timed(provider.getCompletion(messages, { signal: controller.signal }));
      expectAborted(error, kind);
      expect(ms).toBeLessThan(AT_ONCE_MS);
      const streamed = await timed(provider.streamCompletion(messages, { signal: controller.signal }).result);
      expectAborted(streamed.error, kind);
      expect(f.emulators[kind].requests.filter((r) => r.path !== '/api/extra/abort')).toEqual([]);
    });
  });
});

describe('a consumer that stops reading', () => {
  it('closes the stream: the socket is freed and the result says the stream was not finished', async () => {
    const f = await fleet({ chunkDelayMs: 300 });
    await forEachKind(KINDS, async (kind) => {
      const emu = f.emulators[kind];
      const stream = (await f.provider(kind, 'call')).streamCompletion(messages);
      for await (const delta of stream) {
        expect(delta).not.toBe('');
        break;
      }
      await expect(stream.result).rejects.toThrow(/closed by the consumer/);
      await expectSocketFreed(kind, emu);
    });
  });
});
