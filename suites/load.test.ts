/**
 * Load: 1,000 concurrent completions through one profile to one emulator.
 * All succeed with the right text (each call asks for a different number of
 * tokens, so a mixed-up answer shows), the HTTP agent reuses its kept-alive
 * sockets (at most maxSockets = 64 connections, far below 1,000), and no error
 * is lost: with 5% of the requests answered 503 (Retry-After 0) every call
 * still succeeds, and the emulator saw exactly 1,000 + the injected failures.
 * Streams that end normally must reuse connections the same way.
 *
 * Nothing here is timed: the profiles' deadline and idle timeout (LOAD_SETTINGS)
 * and the tests' own timeout are minutes, so a loaded machine only makes the
 * run slower, never a call fail.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import type { ChatMessage, CompletionResult } from '@aegis/core';
import { defaultReplyText, splitIntoChunks, startEmulator, type Emulator } from '@aegis/testkit';
import { CANARY, instance, type Instance, type Kind, profileYaml, removeTempProjects, startFleet, TARGETS } from './helpers.js';

const CALLS = 1000;
const MAX_SOCKETS = 64;
const messages: ChatMessage[] = [{ role: 'user', content: 'Count for me' }];
/** Every call starts at once and waits its turn for one of 64 sockets: its deadline must cover the whole batch. */
const LOAD_SETTINGS = { max_retries: 3, timeout: 240, idle_timeout: 240 };
const TEST_TIMEOUT_MS = 300_000;

let emulator: Emulator | undefined;
let inst: Instance | undefined;

afterEach(async () => {
  inst?.aegis.close();
  await emulator?.close();
  inst = undefined;
  emulator = undefined;
  removeTempProjects();
});

async function setUp(kind: Kind): Promise<{ chunks: string[] }> {
  emulator = await startEmulator(kind, { apiKey: CANARY });
  inst = instance(profileYaml(TARGETS[kind], 'busy', 'URL', LOAD_SETTINGS), { URL: TARGETS[kind].baseUrl(emulator) });
  return { chunks: splitIntoChunks(defaultReplyText(TARGETS[kind].label)) };
}

/** Call i asks for (i mod chunks) + 1 tokens; the emulator answers with that many chunks of its reply. */
function expectedText(chunks: string[], i: number): string {
  return chunks.slice(0, (i % chunks.length) + 1).join('');
}

async function fireAll(): Promise<PromiseSettledResult<CompletionResult>[]> {
  const provider = await inst!.aegis.getProviderForProfile('busy');
  return Promise.allSettled(
    Array.from({ length: CALLS }, (_, i) => provider.getCompletion(messages, { maxTokens: (i % 13) + 1 })),
  );
}

// One profile, of the Ollama plugin (the HTTP agent and the retries are core's, the same for every plugin).
describe.each(['ollama'] as Kind[])('%s: 1,000 concurrent completions through one profile', (kind) => {
  it('all succeed with the right text, over at most 64 reused connections', async () => {
    const { chunks } = await setUp(kind);
    expect(chunks.length).toBeGreaterThanOrEqual(13);
    const outcomes = await fireAll();
    const failed = outcomes.filter((o) => o.status === 'rejected');
    expect(failed.map((o) => String((o as PromiseRejectedResult).reason)).slice(0, 3)).toEqual([]);
    const wrong = outcomes
      .map((o, i) => ({ i, text: (o as PromiseFulfilledResult<CompletionResult>).value.text }))
      .filter(({ i, text }) => text !== expectedText(chunks.slice(0, 13), i));
    expect(wrong.slice(0, 3)).toEqual([]);
    expect(emulator!.requests).toHaveLength(CALLS);
    expect(emulator!.connectionCount).toBeGreaterThan(0);
    expect(emulator!.connectionCount).toBeLessThanOrEqual(MAX_SOCKETS);
  }, TEST_TIMEOUT_MS);

  it('with 5% of the requests answered 503 (Retry-After 0): all still succeed, and every failure was retried once', async () => {
    const { chunks } = await setUp(kind);
    const injected = CALLS * 0.05;
    emulator!.failNext({ kind: 'status', status: 503, retryAfter: '0' }, injected);
    const outcomes = await fireAll();
    expect(outcomes.filter((o) => o.status === 'rejected')).toHaveLength(0);
    outcomes.forEach((o, i) => {
      if ((o as PromiseFulfilledResult<CompletionResult>).value.text !== expectedText(chunks.slice(0, 13), i)) {
        throw new Error(`call ${i} got the wrong text: ${JSON.stringify((o as PromiseFulfilledResult<CompletionResult>).value.text)}`);
      }
    });
    expect(emulator!.requests).toHaveLength(CALLS + injected);
    expect(emulator!.connectionCount).toBeLessThanOrEqual(MAX_SOCKETS);
    expect(inst!.logger.lines.filter((l) => l.includes('retry 1 in 0 ms'))).toHaveLength(injected);
  }, TEST_TIMEOUT_MS);
});

it('streams too: 200 concurrent Ollama streams through one profile, each whole, over reused connections', async () => {
  const fleet = await startFleet({ busy: LOAD_SETTINGS }, {}, ['ollama']);
  try {
    const provider = await fleet.provider('ollama', 'busy');
    const reply = defaultReplyText('Ollama');
    const texts = await Promise.all(
      Array.from({ length: 200 }, async () => {
        let text = '';
        for await (const delta of provider.streamCompletion(messages)) text += delta;
        return text;
      }),
    );
    expect(texts.filter((t) => t !== reply)).toEqual([]);
    // A stream that ended normally leaves its socket to the keep-alive pool, as a plain completion does.
    expect(fleet.emulators.ollama.connectionCount).toBeLessThanOrEqual(MAX_SOCKETS);
  } finally {
    await fleet.close();
  }
}, TEST_TIMEOUT_MS);
