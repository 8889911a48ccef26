/**
 * Transport and HTTP faults on plain (non-streamed) completions, through real
 * profiles and the real plugins (ollama, openai, koboldcpp), against the
 * loopback emulators: refused and reset connections, a server that never
 * answers (deadline, idle timeout), a slow drip, rate limits and overload with
 * Retry-After, broken and oversized bodies. Every failure must be a typed
 * ProviderError (reason, retryable, status, url); every retryable one is
 * retried by the base class and then succeeds with the right text.
 *
 * Each test runs its scenario against the three backends at once (one
 * emulator each), so the waits of the retry and timeout cases overlap.
 *
 * Timing (see suites/README.md): a test asserts which error ended the call and
 * in which phase, never that a wall-clock timer beat a busy event loop. Where a
 * timer must fire, every other timer that could end the call instead is far away
 * (profiles default to 60 s); where real work must finish before a timer (a
 * request reaching the emulator, a retry), that timer leaves it a second or more.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { ProviderError, type ChatMessage } from '@aegis/core';
import { defaultReplyText } from '@aegis/testkit';
import {
  abortsArrived,
  CANARY,
  expectNoCanary,
  forEachKind,
  KINDS,
  type Fleet,
  type Kind,
  providerError,
  removeTempProjects,
  requestsTo,
  startFleet,
  TARGETS,
  timed,
  freshEmulators,
} from './helpers.js';

const messages: ChatMessage[] = [{ role: 'user', content: 'Why is the sky blue?' }];
const REPLY = (kind: Kind) => defaultReplyText(TARGETS[kind].label);

let fleet: Fleet;
const completions = (kind: Kind): number => requestsTo(fleet.emulators[kind], TARGETS[kind].completionPath);
const completion = async (kind: Kind, variant: string, runtime = {}) => (await fleet.provider(kind, variant)).getCompletion(messages, runtime);
const urlOf = (kind: Kind) => `${fleet.emulators[kind].url}${TARGETS[kind].completionPath}`;

/** The `deadline` profile's timeout: long enough for a request (and a 503 and its retry) to reach the emulator first, whatever the load. */
const DEADLINE_MS = 1000;
/** The `idle_retrying` and `drip` profiles' idle_timeout: the retried request, or the gap between two dripped bytes, is far shorter. */
const LIVE_IDLE_MS = 1000;

beforeAll(async () => {
  fleet = await startFleet({
    plain: { max_retries: 0, timeout: 60, idle_timeout: 60 },
    retrying: { max_retries: 3, timeout: 60, idle_timeout: 60 },
    capped: { max_retries: 3, timeout: 60, idle_timeout: 60, max_response_bytes: 1024 * 1024 },
    deadline: { max_retries: 2, timeout: DEADLINE_MS / 1000, idle_timeout: 60 },
    idle: { max_retries: 0, timeout: 60, idle_timeout: 0.15 },
    idle_retrying: { max_retries: 1, timeout: 60, idle_timeout: LIVE_IDLE_MS / 1000 },
    drip: { max_retries: 0, timeout: 120, idle_timeout: LIVE_IDLE_MS / 1000 },
    refused: { max_retries: 0 },
    refused_retrying: { max_retries: 2, timeout: 1.5 },
  });
});

afterAll(async () => {
  await fleet.close();
  removeTempProjects();
});

beforeEach(() => freshEmulators(Object.values(fleet.emulators)));

it('answers normally, sending the secret from .env to the backend (which requires it)', async () => {
  await forEachKind(KINDS, async (kind) => {
    expect((await completion(kind, 'plain')).text).toBe(REPLY(kind));
    expect(completions(kind)).toBe(1);
  });
});

describe('connection refused (a closed port)', () => {
  it('is a retryable connection error naming the profile and the URL', async () => {
    await forEachKind(KINDS, async (kind) => {
      const e = await providerError(completion(kind, 'refused'));
      expect(e).toMatchObject({ reason: 'connection', retryable: true, profile: `${kind}_refused`, providerType: kind });
      expect(e.status).toBeUndefined();
      expect(e.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
      expect(e.message).toContain('connection refused');
    });
  });

  it('is retried while the deadline allows, then fails with the connection error (not a timeout) within the deadline', async () => {
    // The jitter pinned to its top: the waits are 500 ms, then 1,000 ms. With a 1.5 s deadline the
    // first retry always fits (1 s to spare) and the second never does (500 + 1,000 >= 1,500
    // whatever the load), so the call must end with the second refusal, well before the deadline.
    const random = jest.spyOn(Math, 'random').mockReturnValue(0.999);
    try {
      await forEachKind(KINDS, async (kind) => {
        const error = await providerError(completion(kind, 'refused_retrying'));
        expect(error).toMatchObject({ reason: 'connection', retryable: true });
        const retries = fleet.inst.logger.lines.filter((l) => l.includes(`profile "${kind}_refused_retrying": retry`));
        expect(retries).toEqual([expect.stringContaining('retry 1 in 500 ms')]);
      });
    } finally {
      random.mockRestore();
    }
  });
});

describe('connection reset', () => {
  // Each scenario first makes a call, so the next one goes on a kept-alive connection: a reset
  // there before any byte of an answer is what a server closing an idle connection looks like,
  // and the HTTP client sends that request once more on a new connection (not a retry).
  it('before the first byte, on a kept-alive connection: sent once more on a new connection, and answered without a retry', async () => {
    await forEachKind(KINDS, async (kind) => {
      const emu = fleet.emulators[kind];
      await completion(kind, 'plain');
      const connections = emu.connectionCount;
      emu.failNext({ kind: 'reset' });
      expect((await completion(kind, 'plain')).text).toBe(REPLY(kind));
      expect(completions(kind)).toBe(3);
      expect(emu.connectionCount).toBe(connections + 1);
    });
  });

  it('before the first byte, again on the new connection: a retryable connection error; with retries, retried and then the right answer', async () => {
    await forEachKind(KINDS, async (kind) => {
      const emu = fleet.emulators[kind];
      await completion(kind, 'plain');
      emu.failNext({ kind: 'reset' }, 2);
      const e = await providerError(completion(kind, 'plain'));
      expect(e).toMatchObject({ reason: 'connection', retryable: true, profile: `${kind}_plain` });
      expect(e.url).toBe(urlOf(kind));
      expect(completions(kind)).toBe(1 + 2);
      await completion(kind, 'plain');
      emu.failNext({ kind: 'reset' }, 2);
      expect((await completion(kind, 'retrying')).text).toBe(REPLY(kind));
      expect(completions(kind)).toBe(4 + 3); // the reset request, sent once more, then retried by the provider
    });
  });

  it('in the middle of the body: a retryable error naming the URL; with retries, retried and then the right answer', async () => {
    await forEachKind(KINDS, async (kind) => {
      const emu = fleet.emulators[kind];
      emu.failNext({ kind: 'reset-mid-stream' });
      const e = await providerError(completion(kind, 'plain'));
      expect(e).toMatchObject({ reason: 'connection', retryable: true, profile: `${kind}_plain` });
      expect(e.url).toBe(urlOf(kind));
      emu.failNext({ kind: 'reset-mid-stream' });
      expect((await completion(kind, 'retrying')).text).toBe(REPLY(kind));
      expect(completions(kind)).toBe(3);
    });
  });
});

describe('a server that accepts and never answers', () => {
  it('the profile timeout ends the call with reason "timeout" (not idle_timeout), no earlier than the deadline, and it is not retried', async () => {
    await forEachKind(KINDS, async (kind) => {
      // Every request hangs, as on a wedged server (KoboldCpp's best-effort abort request included).
      fleet.emulators[kind].failNext({ kind: 'hang' }, 3);
      const { ms, error } = await timed(completion(kind, 'deadline'));
      expect(ProviderError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ reason: 'timeout', retryable: false, profile: `${kind}_deadline` });
      expect((error as ProviderError).url).toBe(urlOf(kind));
      // Only the deadline ends a hang here (the idle timeout is 60 s): the reason says it was the deadline.
      expect(ms).toBeGreaterThanOrEqual(DEADLINE_MS - 20);
      expect(completions(kind)).toBe(1);
      await abortsArrived(kind, fleet.emulators[kind]);
    });
  });

  it("timeoutMs of the call overrides the profile's (60 s): the call's own deadline ends it", async () => {
    await forEachKind(KINDS, async (kind) => {
      fleet.emulators[kind].failNext({ kind: 'hang' });
      const { ms, error } = await timed(completion(kind, 'plain', { timeoutMs: 200 }));
      expect(error).toMatchObject({ reason: 'timeout', retryable: false });
      expect(ms).toBeGreaterThanOrEqual(180);
      // Far below the profile's 60 s: the call's timeoutMs, not the profile's timeout, ended it.
      expect(ms).toBeLessThan(30_000);
      await abortsArrived(kind, fleet.emulators[kind]);
    });
  });

  it('the deadline includes the retries: a 503 (Retry-After 0), then a hang, still ends at the deadline', async () => {
    await forEachKind(KINDS, async (kind) => {
      fleet.emulators[kind].failNext({ kind: 'status', status: 503, retryAfter: '0' });
      fleet.emulators[kind].failNext({ kind: 'hang' }, 2);
      const { ms, error } = await timed(completion(kind, 'deadline'));
      // One deadline for the whole call: the retry did not start a new one (that would be 2 × DEADLINE_MS).
      expect(error).toMatchObject({ reason: 'timeout', retryable: false });
      expect(ms).toBeGreaterThanOrEqual(DEADLINE_MS - 20);
      expect(completions(kind)).toBe(2);
      await abortsArrived(kind, fleet.emulators[kind]);
    });
  });

  it('idle_timeout (0.15 s) cuts a hang after the idle time, as a retryable idle_timeout error', async () => {
    await forEachKind(KINDS, async (kind) => {
      fleet.emulators[kind].failNext({ kind: 'hang' });
      const { ms, error } = await timed(completion(kind, 'idle'));
      expect(ProviderError.isInstance(error)).toBe(true);
      // The deadline is 60 s away: the reason says the silence ended it.
      expect(error).toMatchObject({ reason: 'idle_timeout', retryable: true, profile: `${kind}_idle` });
      expect((error as ProviderError).url).toBe(urlOf(kind));
      expect(ms).toBeGreaterThanOrEqual(130);
      await abortsArrived(kind, fleet.emulators[kind]);
    });
  });

  it('after an idle_timeout the call is retried and succeeds', async () => {
    await forEachKind(KINDS, async (kind) => {
      fleet.emulators[kind].failNext({ kind: 'hang' });
      expect((await completion(kind, 'idle_retrying')).text).toBe(REPLY(kind));
      expect(completions(kind)).toBe(2);
      await abortsArrived(kind, fleet.emulators[kind]);
    });
  });

  it('a body dripped one byte at a time, faster than idle_timeout, completes with the full text', async () => {
    // Non-streamed bodies are large (OpenAI's is pretty-printed): the Ollama one (~280 bytes) is
    // dripped here, 5 ms apart, so the whole takes well over the idle timeout while no gap comes
    // near it; every stream is in faults-stream.
    fleet.emulators.ollama.setReply({ text: 'Drip drop.' });
    fleet.emulators.ollama.failNext({ kind: 'drip', intervalMs: 5 });
    const { ms, value, error } = await timed(completion('ollama', 'drip'));
    expect(error).toBeUndefined();
    expect(value!.text).toBe('Drip drop.');
    // The whole answer took longer than the idle timeout: only silence is cut.
    expect(ms).toBeGreaterThan(LIVE_IDLE_MS);
  }, 300_000);
});

describe('rate limits and overload', () => {
  it('429 with Retry-After: the wait asked for (0.4 s) is honoured, then the right answer', async () => {
    await forEachKind(KINDS, async (kind) => {
      fleet.emulators[kind].failNext({ kind: 'status', status: 429, retryAfter: '0.4' });
      const { ms, value, error } = await timed(completion(kind, 'retrying'));
      expect(error).toBeUndefined();
      expect(value!.text).toBe(REPLY(kind));
      // It waited at least what was asked, and the log says the wait was the server's, not a backoff.
      expect(ms).toBeGreaterThanOrEqual(380);
      expect(completions(kind)).toBe(2);
      expect(fleet.inst.logger.lines.some((l) => l.includes(`profile "${kind}_retrying": retry 1 in 400 ms`) && l.includes('429'))).toBe(true);
    });
  });

  it('429 without retries: status, url, retryable and retryAfterMs', async () => {
    await forEachKind(KINDS, async (kind) => {
      fleet.emulators[kind].failNext({ kind: 'status', status: 429, retryAfter: '7' });
      const e = await providerError(completion(kind, 'plain'));
      expect(e).toMatchObject({ reason: 'http', status: 429, retryable: true, retryAfterMs: 7000, profile: `${kind}_plain`, url: urlOf(kind) });
    });
  });

  it('a Retry-After beyond the deadline fails at once with the 429 rather than waiting past the deadline', async () => {
    await forEachKind(KINDS, async (kind) => {
      // 120 s asked, 60 s of deadline: had the call waited, the deadline would have ended it as a timeout.
      fleet.emulators[kind].failNext({ kind: 'status', status: 429, retryAfter: '120' });
      const logged = fleet.inst.logger.lines.length;
      const error = await providerError(completion(kind, 'retrying'));
      expect(error).toMatchObject({ reason: 'http', status: 429, retryable: true, retryAfterMs: 120_000 });
      expect(completions(kind)).toBe(1);
      expect(fleet.inst.logger.lines.slice(logged).filter((l) => l.includes(`profile "${kind}_retrying": retry`))).toEqual([]);
    });
  });

  it('503 twice (Retry-After 0), then the right answer', async () => {
    await forEachKind(KINDS, async (kind) => {
      fleet.emulators[kind].failNext({ kind: 'status', status: 503, retryAfter: '0' }, 2);
      expect((await completion(kind, 'retrying')).text).toBe(REPLY(kind));
      expect(completions(kind)).toBe(3);
    });
  });

  it('503 without Retry-After is retried after a backoff (at least 250 ms)', async () => {
    await forEachKind(KINDS, async (kind) => {
      fleet.emulators[kind].failNext({ kind: 'status', status: 503 });
      const { ms, value } = await timed(completion(kind, 'retrying'));
      expect(value?.text).toBe(REPLY(kind));
      expect(ms).toBeGreaterThanOrEqual(245);
      expect(completions(kind)).toBe(2);
    });
  });

  it('more 503s than retries: the last 503, typed, after max_retries + 1 requests', async () => {
    await forEachKind(KINDS, async (kind) => {
      fleet.emulators[kind].failNext({ kind: 'status', status: 503, retryAfter: '0' }, 5);
      const e = await providerError(completion(kind, 'retrying'));
      expect(e).toMatchObject({ reason: 'http', status: 503, retryable: true, profile: `${kind}_retrying`, url: urlOf(kind) });
      expect(completions(kind)).toBe(4);
    });
  });

  it('a 400 is not retried', async () => {
    await forEachKind(KINDS, async (kind) => {
      fleet.emulators[kind].failNext({ kind: 'status', status: 400 });
      const e = await providerError(completion(kind, 'retrying'));
      expect(e).toMatchObject({ reason: 'http', status: 400, retryable: false });
      expect(completions(kind)).toBe(1);
    });
  });
});

describe('broken bodies', () => {
  it('malformed JSON: bad_response naming the URL, not retried', async () => {
    await forEachKind(KINDS, async (kind) => {
      fleet.emulators[kind].failNext({ kind: 'malformed-json' });
      const e = await providerError(completion(kind, 'retrying'));
      expect(e).toMatchObject({ reason: 'bad_response', retryable: false, status: 200, profile: `${kind}_retrying`, url: urlOf(kind) });
      expect(completions(kind)).toBe(1);
    });
  });

  it('valid JSON of the wrong shape: bad_response, never an invented or empty answer', async () => {
    await forEachKind(KINDS, async (kind) => {
      fleet.emulators[kind].failNext({ kind: 'wrong-shape' });
      const e = await providerError(completion(kind, 'retrying'));
      expect(e).toMatchObject({ reason: 'bad_response', retryable: false, profile: `${kind}_retrying` });
      expect(e.url).toBe(urlOf(kind));
      expect(completions(kind)).toBe(1);
    });
  });

  it('an answer over the profile\'s size limit (max_response_bytes) is refused with response_too_large, not retried', async () => {
    // A 200 with a custom body (the default limit, 256 MiB, is attacked in hostile-backend.test.ts).
    const body = Buffer.alloc(1024 * 1024 + 1024, 0x78);
    await forEachKind(['ollama'], async (kind) => {
      fleet.emulators[kind].failNext({ kind: 'status', status: 200, body });
      const e = await providerError(completion(kind, 'capped'));
      expect(e).toMatchObject({ reason: 'response_too_large', retryable: false, status: 200, url: urlOf(kind) });
      expect(completions(kind)).toBe(1);
    });
  });

  it('a backend error body quoting the secret never shows it', async () => {
    await forEachKind(KINDS, async (kind) => {
      fleet.emulators[kind].failNext({
        kind: 'status',
        status: 500,
        body: { error: { message: `Incorrect API key provided: ${CANARY}` }, detail: { msg: `bad key ${CANARY}` } },
      });
      const e = await providerError(completion(kind, 'plain'));
      expect(e).toMatchObject({ status: 500, retryable: true });
      expect(e.message).toContain('***');
      expectNoCanary(e.message, 'the error message');
      expectNoCanary(e.bodyExcerpt ?? '', 'the error body excerpt');
      expectNoCanary(String(e.stack), 'the error stack');
    });
  });
});

it('no log line carries the secret', () => {
  expect(fleet.inst.logger.lines.length).toBeGreaterThan(0);
  for (const line of fleet.inst.logger.lines) expectNoCanary(line, 'a log line');
});
