/**
 * Stream faults, through real profiles and the real plugins: Ollama (NDJSON,
 * ends with a `"done": true` line), OpenAI (SSE, ends with `data: [DONE]`) and
 * KoboldCpp (SSE without an end marker: the last event carries finish_reason,
 * then the server closes the connection).
 *
 * A stream must never lose or invent part of an answer: it ends normally only
 * when the backend's end was seen; a break after the first delta is not
 * retried (the caller has the text already) and surfaces a typed error
 * carrying the text so far; a failure before the first delta is retried.
 *
 * Timing (see suites/README.md): the tests assert which error ended a stream
 * and what had been received, never that a timer beat a busy event loop. The
 * slow emulators space frames SLOW_GAP_MS apart, far beyond the idle timeout;
 * the deadline falls between the first content frame and the next, with a
 * second to spare on either side.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { ProviderError, type ChatMessage } from '@aegis/core';
import { defaultReplyText } from '@aegis/testkit';
import {
  abortsArrived,
  collect,
  forEachKind,
  KINDS,
  type Fleet,
  type Kind,
  removeTempProjects,
  requestsTo,
  startFleet,
  streamError,
  TARGETS,
  timed,
  freshEmulators,
} from './helpers.js';

const messages: ChatMessage[] = [{ role: 'user', content: 'Tell me a story' }];
const REPLY = (kind: Kind) => defaultReplyText(TARGETS[kind].label);

/** The gap between two frames of the slow emulators. OpenAI's first frame carries no text, so its first delta comes one gap in. */
const SLOW_GAP_MS = 2000;
/** The `deadline` profile's timeout: after the first delta (one gap in, at worst), a second before the next one. */
const DEADLINE_MS = 3000;
/** The `drip` profile's idle_timeout: the gap between two dripped bytes (a few ms) is far shorter. */
const DRIP_IDLE_MS = 1000;
/** Milliseconds between two dripped bytes, per kind, so that each whole stream (Ollama ~550 bytes, OpenAI ~1,100, KoboldCpp ~190) takes well over DRIP_IDLE_MS. */
const DRIP_INTERVAL_MS: Record<Kind, number> = { ollama: 3, openai: 2, koboldcpp: 8 };

/**
 * What a reset in the middle of a stream surfaces as. KoboldCpp's stream has no
 * length and no end marker: its body ends when the connection closes, and when the
 * reset comes right behind the last bytes, Node's HTTP parser can finish such a body
 * before the socket error reaches the reader (seen about once in ten loaded runs), so
 * the stream reads as cut short. Either way: a retryable error with the text so far.
 */
const RESET_REASONS: Record<Kind, string[]> = { ollama: ['connection'], openai: ['connection'], koboldcpp: ['connection', 'truncated_stream'] };

let fleet: Fleet;
/** Frames spaced SLOW_GAP_MS apart. */
let slow: Fleet;
const streams = (f: Fleet, kind: Kind): number => requestsTo(f.emulators[kind], TARGETS[kind].streamPath);
const stream = async (f: Fleet, kind: Kind, variant: string, runtime = {}) => (await f.provider(kind, variant)).streamCompletion(messages, runtime);
const urlOf = (f: Fleet, kind: Kind) => `${f.emulators[kind].url}${TARGETS[kind].streamPath}`;

beforeAll(async () => {
  const variants = {
    plain: { max_retries: 0, timeout: 60, idle_timeout: 60 },
    retrying: { max_retries: 3, timeout: 60, idle_timeout: 60 },
    idle: { max_retries: 0, timeout: 60, idle_timeout: 0.15 },
    deadline: { max_retries: 2, timeout: DEADLINE_MS / 1000, idle_timeout: 60 },
    drip: { max_retries: 0, timeout: 120, idle_timeout: DRIP_IDLE_MS / 1000 },
  };
  fleet = await startFleet(variants);
  slow = await startFleet(variants, { chunkDelayMs: SLOW_GAP_MS });
});

afterAll(async () => {
  await Promise.all([fleet.close(), slow.close()]);
  removeTempProjects();
});

beforeEach(() => freshEmulators([fleet, slow].flatMap((f) => Object.values(f.emulators))));

it('a normal stream: the deltas, joined, are the whole answer and the result text', async () => {
  await forEachKind(KINDS, async (kind) => {
    const s = await stream(fleet, kind, 'plain');
    const { deltas, error } = await collect(s);
    expect(error).toBeUndefined();
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.join('')).toBe(REPLY(kind));
    const result = await s.result;
    expect(result.text).toBe(REPLY(kind));
    expect(result.finishReason).toBe('stop');
  });
});

describe('a stream broken after its first delta: not retried, a typed error with the text so far', () => {
  it('truncated: every content frame but no end (no done line, no [DONE], no finish_reason) is never a normal end', async () => {
    await forEachKind(KINDS, async (kind) => {
      fleet.emulators[kind].failNext({ kind: 'truncate' });
      const s = await stream(fleet, kind, 'retrying');
      const { deltas, error } = await streamError(s);
      expect(error).toMatchObject({ reason: 'truncated_stream', profile: `${kind}_retrying`, providerType: kind });
      expect(error.url).toBe(urlOf(fleet, kind));
      expect(deltas.join('')).toBe(REPLY(kind));
      expect(error.partialText).toBe(REPLY(kind));
      await expect(s.result).rejects.toBe(error);
      expect(streams(fleet, kind)).toBe(1);
    });
  });

  it('truncated after the first frames', async () => {
    await forEachKind(KINDS, async (kind) => {
      fleet.emulators[kind].failNext({ kind: 'truncate', afterChunks: 3 });
      const { deltas, error } = await streamError(await stream(fleet, kind, 'retrying'));
      expect(error.reason).toBe('truncated_stream');
      expect(deltas.length).toBeGreaterThan(0);
      expect(error.partialText).toBe(deltas.join(''));
      expect(REPLY(kind).startsWith(error.partialText!)).toBe(true);
      expect(error.partialText!.length).toBeLessThan(REPLY(kind).length);
      expect(streams(fleet, kind)).toBe(1);
    });
  });

  it('connection reset mid-stream: a connection error with the text so far, one request only', async () => {
    await forEachKind(KINDS, async (kind) => {
      fleet.emulators[kind].failNext({ kind: 'reset-mid-stream', afterChunks: 3 });
      const { deltas, error } = await streamError(await stream(fleet, kind, 'retrying'));
      expect(error).toMatchObject({ retryable: true, profile: `${kind}_retrying`, url: urlOf(fleet, kind) });
      expect(RESET_REASONS[kind]).toContain(error.reason);
      expect(deltas.length).toBeGreaterThan(0);
      expect(error.partialText).toBe(deltas.join(''));
      expect(REPLY(kind).startsWith(error.partialText!)).toBe(true);
      expect(streams(fleet, kind)).toBe(1);
    });
  });

  it("the backend's in-stream error event: stream_error, not retryable, with the text so far", async () => {
    await forEachKind(KINDS, async (kind) => {
      fleet.emulators[kind].failNext({ kind: 'stream-error', message: 'CUDA error: out of memory' });
      const { deltas, error } = await streamError(await stream(fleet, kind, 'retrying'));
      expect(error).toMatchObject({ reason: 'stream_error', retryable: false, profile: `${kind}_retrying` });
      expect(error.message).toContain('CUDA error: out of memory');
      expect(deltas.length).toBeGreaterThan(0);
      expect(error.partialText).toBe(deltas.join(''));
      expect(streams(fleet, kind)).toBe(1);
    });
  });

  it('a frame that is not valid JSON: bad_response with the text so far', async () => {
    await forEachKind(KINDS, async (kind) => {
      fleet.emulators[kind].failNext({ kind: 'malformed-json' });
      const { deltas, error } = await streamError(await stream(fleet, kind, 'retrying'));
      expect(error).toMatchObject({ reason: 'bad_response', retryable: false, profile: `${kind}_retrying` });
      expect(error.url).toBe(urlOf(fleet, kind));
      expect(error.partialText ?? '').toBe(deltas.join(''));
      expect(REPLY(kind).startsWith(deltas.join(''))).toBe(true);
      expect(streams(fleet, kind)).toBe(1);
    });
  });

  it('idle_timeout mid-stream: a backend that stops sending is cut after the idle time, with the text so far', async () => {
    await forEachKind(KINDS, async (kind) => {
      const { value } = await timed(collect(await stream(slow, kind, 'idle')));
      const { deltas, error } = value!;
      expect(ProviderError.isInstance(error)).toBe(true);
      // A 2 s gap, a 0.15 s idle timeout, a 60 s deadline: the reason says the silence ended it.
      expect(error).toMatchObject({ reason: 'idle_timeout', profile: `${kind}_idle` });
      expect((error as ProviderError).partialText ?? '').toBe(deltas.join(''));
      expect(streams(slow, kind)).toBe(1);
      await abortsArrived(kind, slow.emulators[kind]);
    });
  });

  it('the deadline mid-stream: reason "timeout" no earlier than the deadline, with the text so far', async () => {
    await forEachKind(KINDS, async (kind) => {
      const { ms, value } = await timed(collect(await stream(slow, kind, 'deadline')));
      const { deltas, error } = value!;
      expect(error).toMatchObject({ reason: 'timeout', retryable: false, profile: `${kind}_deadline` });
      expect(deltas.length).toBeGreaterThan(0);
      expect((error as ProviderError).partialText).toBe(deltas.join(''));
      expect(ms).toBeGreaterThanOrEqual(DEADLINE_MS - 20);
      expect(streams(slow, kind)).toBe(1);
      await abortsArrived(kind, slow.emulators[kind]);
    });
  });
});

describe('a stream failing before its first delta is retried, and the answer is whole and not doubled', () => {
  it('a 503 (Retry-After 0)', async () => {
    await forEachKind(KINDS, async (kind) => {
      fleet.emulators[kind].failNext({ kind: 'status', status: 503, retryAfter: '0' });
      const s = await stream(fleet, kind, 'retrying');
      const { deltas, error } = await collect(s);
      expect(error).toBeUndefined();
      expect(deltas.join('')).toBe(REPLY(kind));
      expect((await s.result).text).toBe(REPLY(kind));
      expect(streams(fleet, kind)).toBe(2);
    });
  });

  it('a connection reset before the first byte', async () => {
    await forEachKind(KINDS, async (kind) => {
      fleet.emulators[kind].failNext({ kind: 'reset' });
      const { deltas, error } = await collect(await stream(fleet, kind, 'retrying'));
      expect(error).toBeUndefined();
      expect(deltas.join('')).toBe(REPLY(kind));
      expect(streams(fleet, kind)).toBe(2);
    });
  });

  it('a stream that ends before any content frame', async () => {
    await forEachKind(KINDS, async (kind) => {
      fleet.emulators[kind].failNext({ kind: 'truncate', afterChunks: 0 });
      const { deltas, error } = await collect(await stream(fleet, kind, 'retrying'));
      expect(error).toBeUndefined();
      expect(deltas.join('')).toBe(REPLY(kind));
      expect(streams(fleet, kind)).toBe(2);
    });
  });

  it('without retries, the error before the first delta carries no partial text', async () => {
    await forEachKind(KINDS, async (kind) => {
      fleet.emulators[kind].failNext({ kind: 'status', status: 503, retryAfter: '0' });
      const { deltas, error } = await streamError(await stream(fleet, kind, 'plain'));
      expect(deltas).toEqual([]);
      expect(error).toMatchObject({ reason: 'http', status: 503, retryable: true, url: urlOf(fleet, kind) });
      expect(error.partialText).toBeUndefined();
    });
  });

  it('a first frame of the wrong shape is bad_response and not retried', async () => {
    await forEachKind(KINDS, async (kind) => {
      fleet.emulators[kind].failNext({ kind: 'wrong-shape' });
      const { deltas, error } = await streamError(await stream(fleet, kind, 'retrying'));
      expect(deltas).toEqual([]);
      expect(error).toMatchObject({ reason: 'bad_response', retryable: false, url: urlOf(fleet, kind) });
      expect(streams(fleet, kind)).toBe(1);
    });
  });
});

describe('idle detection does not cut a slow but live stream', () => {
  it('a stream dripped one byte at a time, faster than idle_timeout, completes with the full text', async () => {
    await forEachKind(KINDS, async (kind) => {
      // Two content frames: OpenAI's SSE frames are large, and every byte takes a timer tick.
      fleet.emulators[kind].setReply({ chunks: ['Slow', ' but whole.'] });
      fleet.emulators[kind].failNext({ kind: 'drip', intervalMs: DRIP_INTERVAL_MS[kind] });
      // The deadline is 120 s: however slow a loaded machine makes the drip, only the idle timeout is in play.
      const { ms, value } = await timed(collect(await stream(fleet, kind, 'drip')));
      expect(value!.error).toBeUndefined();
      expect(value!.deltas.join('')).toBe('Slow but whole.');
      // Far longer in all than the idle timeout: only silence is cut.
      expect(ms).toBeGreaterThan(DRIP_IDLE_MS);
    });
  }, 300_000);
});
