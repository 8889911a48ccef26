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
 *
 * "At once" is measured against what the call would otherwise wait for, and
 * everything else is far away: the deadline and idle timeout are 120 s, the
 * Retry-After 60 s, the slow emulators' next frame SLOW_GAP_MS. AT_ONCE_MS sits
 * well below all of them, so a loaded machine cannot make a correct abort look late.
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
const VARIANTS = { call: { max_retries: 2, timeout: 120, idle_timeout: 120 } };
/** The gap between two frames of the slow emulators (the next thing a stream would wait for). */
const SLOW_GAP_MS = 2000;
/** How soon after abort() the call must have failed: half of the shortest other wait. */
const AT_ONCE_MS = SLOW_GAP_MS / 2;

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
  if (!(await eventually(() => requestsTo(emulator, path) >= count))) throw new Error(`no request to ${path} arrived`);
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
  await eventually(async () => (await openConnections(emulator)) <= kept && emulator.connectionCount === 1 + kept && abortArrived());
  expect({ open: await openConnections(emulator), total: emulator.connectionCount }).toEqual({ open: kept, total: 1 + kept });
  if (kind === 'koboldcpp') expect(emulator.lastRequest?.path).toBe('/api/extra/abort');
}

/** The 503 has been read and the call is waiting to retry: it logged the retry it waits for. */
async function waiting(f: Fleet, kind: Kind): Promise<void> {
  const logged = () => f.inst.logger.lines.some((l) => l.includes(`profile "${kind}_call": retry 1 in 60000 ms`));
  if (!(await eventually(logged))) throw new Error(`${kind}: the call never started waiting to retry`);
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
      const { error } = await call;
      expectAborted(error, kind);
      await expectSocketFreed(kind, emu);
    });
  });

  it('before the response: the rejection follows abort() at once', async () => {
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
      await expectSocketFreed(kind, emu);
    });
  });

  it('mid-stream: the stream fails at once with the text so far, and frees the socket', async () => {
    const f = await fleet({ chunkDelayMs: SLOW_GAP_MS });
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

  it('during the wait before a retry (503 with Retry-After 60): at once, as aborted, with no further request', async () => {
    const f = await fleet();
    await forEachKind(KINDS, async (kind) => {
      const emu = f.emulators[kind];
      emu.failNext({ kind: 'status', status: 503, retryAfter: '60' });
      const controller = new AbortController();
      const call = timed((await f.provider(kind, 'call')).getCompletion(messages, { signal: controller.signal }));
      await waiting(f, kind);
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
      emu.failNext({ kind: 'status', status: 503, retryAfter: '60' });
      const controller = new AbortController();
      const stream = (await f.provider(kind, 'call')).streamCompletion(messages, { signal: controller.signal });
      const next = timed(stream[Symbol.asyncIterator]().next());
      await waiting(f, kind);
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
    const f = await fleet({ chunkDelayMs: SLOW_GAP_MS });
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
