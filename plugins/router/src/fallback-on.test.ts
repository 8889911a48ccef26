/**
 * Which failures move a composite call on (`fallback_on`), that a member is
 * not retried with backoff after a refused connection, and that a member that
 * keeps failing is skipped for a cooldown. Mechanisms are asserted (requests
 * received, retries logged, member state), never wall-clock races.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  BackendProvider,
  BaseBackendConfig,
  ConfigurationError,
  definePlugin,
  PLUGIN_API_VERSION,
  ProviderError,
  z,
  type Aegis,
  type EmbeddingsResult,
} from '@aegis/core';
import { startExampleComEmulator, type Emulator } from '@aegis/testkit';
import { FallbackProvider, MembersFailedError, failureKind } from './index.js';
import { aegisFor, closedPortUrl, compositeProfile, exampleProfile, hi, KEY, recordingLogger, rejection } from './__tests__/helpers.js';

/** A member that has embeddings but answers 404 for them, as an Ollama behind a proxy without /api/embed did. */
class NoEmbedEndpoint extends BackendProvider {
  protected override async doEmbeddings(): Promise<EmbeddingsResult> {
    throw new ProviderError('POST http://proxy.local/api/embed failed with HTTP 404 Not Found', { status: 404, url: 'http://proxy.local/api/embed' });
  }
}
const noEmbedPlugin = definePlugin({
  apiVersion: PLUGIN_API_VERSION,
  type: 'no_embed_endpoint',
  configSchema: BaseBackendConfig.extend({ type: z.literal('no_embed_endpoint') }),
  capabilities: ['embeddings'],
  create: (config, context) => new NoEmbedEndpoint(config, context),
});

let a: Emulator;
let b: Emulator;
let aegis: Aegis;
let dispose: () => void;
const log = recordingLogger();

beforeAll(async () => {
  a = await startExampleComEmulator({ apiKey: KEY });
  b = await startExampleComEmulator({ apiKey: KEY });
  const [closed1, closed2, closed3] = [await closedPortUrl(), await closedPortUrl(), await closedPortUrl()];
  ({ aegis, dispose } = aegisFor(
    [
      ...exampleProfile('a', a.url),
      ...exampleProfile('b', b.url),
      // Members that would retry twice with backoff on their own.
      ...exampleProfile('a_retrying', a.url, 'max_retries: 2'),
      ...exampleProfile('dead1', closed1, 'max_retries: 2'),
      ...exampleProfile('dead2', closed2, 'max_retries: 2'),
      ...exampleProfile('dead3', closed3, 'max_retries: 2'),
      '- profile_name: proxy',
      '  type: no_embed_endpoint',
      '- profile_name: embedder',
      '  type: fake_embedder',
      ...compositeProfile('embed_chain', 'fallback', ['dead1', 'a', 'proxy', 'embedder']),
      ...compositeProfile('embed_strict', 'fallback', ['proxy', 'embedder'], 'fallback_on: [connection]'),
      ...compositeProfile('all_dead', 'fallback', ['dead1', 'dead2', 'dead3'], 'cooldown: 0'),
      ...compositeProfile('not_found_first', 'fallback', ['a', 'b'], 'cooldown: 0'),
      ...compositeProfile('only_connection', 'fallback', ['a', 'b'], 'fallback_on: [connection]', 'cooldown: 0'),
      ...compositeProfile('with_statuses', 'fallback', ['a', 'b'], 'fallback_on: [connection, 400, auth]', 'cooldown: 0'),
      ...compositeProfile('reset_first', 'fallback', ['a_retrying', 'b'], 'cooldown: 0'),
      ...compositeProfile('reset_kept', 'fallback', ['a_retrying', 'b'], 'fallback_on: [server_error]', 'cooldown: 0'),
      ...compositeProfile('cooling', 'fallback', ['a', 'b'], 'cooldown: 30', 'cooldown_after: 2'),
      ...compositeProfile('short_cooling', 'fallback', ['a', 'b'], 'cooldown: 0.05', 'cooldown_after: 1'),
    ],
    { plugins: [noEmbedPlugin], logger: log },
  ));
});

afterAll(async () => {
  dispose();
  await Promise.all([a.close(), b.close()]);
});

beforeEach(() => {
  log.lines.length = 0;
  a.reset();
  b.reset();
  a.setReply({ text: 'from a' });
  b.setReply({ text: 'from b' });
});

describe('fallback_on', () => {
  it('skips members without the capability, and moves on after a refused connection and a 404', async () => {
    const result = await aegis.getProviderForProfile('embed_chain').then((p) => p.getEmbeddings(['abc']));
    expect(result.embeddings).toEqual([[3, 1]]);
    expect(a.requests.length).toBe(0); // example_com has no embeddings: never called
    expect(log.lines.filter((l) => l.includes('member "proxy" failed'))).toEqual([expect.stringContaining('HTTP 404')]);
  });

  it('is configurable per profile: without not_found, a 404 is thrown as the member threw it', async () => {
    const e = (await rejection(aegis.getProviderForProfile('embed_strict').then((p) => p.getEmbeddings(['abc'])))) as ProviderError;
    expect([e.status, e.profile]).toEqual([404, 'proxy']);
  });

  it('moves on after HTTP 404, 405 and 501 by default ("no such endpoint or model")', async () => {
    for (const status of [404, 405, 501]) {
      a.failNext({ kind: 'status', status });
      expect((await aegis.getCompletion('not_found_first', hi)).text).toBe('from b');
    }
    expect(b.requests.length).toBe(3);
  });

  it('a kind left out is thrown at once; a status or kind added moves on', async () => {
    a.failNext({ kind: 'status', status: 503 });
    expect(((await rejection(aegis.getCompletion('only_connection', hi))) as ProviderError).status).toBe(503);
    a.failNext({ kind: 'status', status: 400 });
    expect((await aegis.getCompletion('with_statuses', hi)).text).toBe('from b');
    a.failNext({ kind: 'status', status: 403 });
    expect((await aegis.getCompletion('with_statuses', hi)).text).toBe('from b');
    a.failNext({ kind: 'status', status: 422 });
    expect(((await rejection(aegis.getCompletion('with_statuses', hi))) as ProviderError).status).toBe(422);
  });

  it('is validated: unknown kinds and statuses outside 400-599 are configuration errors naming the field', async () => {
    const { aegis: bad, dispose: done } = aegisFor([
      ...exampleProfile('a', a.url),
      ...compositeProfile('typo', 'fallback', ['a'], 'fallback_on: [conection, 200]'),
    ]);
    try {
      const e = (await rejection(bad.getProviderForProfile('typo'))) as ConfigurationError;
      expect(ConfigurationError.isInstance(e)).toBe(true);
      expect(e.issues.map((i) => [i.profile, i.field])).toEqual([
        ['typo', 'fallback_on[0]'],
        ['typo', 'fallback_on[1]'],
      ]);
    } finally {
      done();
    }
  });

  it('defaults to connection, timeout, rate_limit, server_error, not_found, truncated', async () => {
    expect((await aegis.getBackendConfig('not_found_first')).fallback_on).toEqual([
      'connection',
      'timeout',
      'rate_limit',
      'server_error',
      'not_found',
      'truncated',
    ]);
  });

  it('classifies failures into the documented kinds', () => {
    const http = (status: number) => new ProviderError('x', { status, retryable: status >= 500 || status === 429 });
    expect([429, 404, 405, 501, 401, 403, 408, 409, 500, 503, 400, 422].map((s) => failureKind(http(s)))).toEqual([
      'rate_limit',
      'not_found',
      'not_found',
      'not_found',
      'auth',
      'auth',
      'server_error',
      'server_error',
      'server_error',
      'server_error',
      'bad_request',
      'bad_request',
    ]);
    expect(failureKind(new ProviderError('x', { reason: 'aborted' }))).toBeUndefined();
    expect(failureKind(new Error('x'))).toBeUndefined();
  });

  it('classifies failures without a status by their reason (and whether they are retryable)', () => {
    const kind = (reason: string, retryable: boolean) => failureKind(new ProviderError('x', { reason: reason as never, retryable }));
    expect([
      kind('connection', true),
      kind('idle_timeout', true),
      kind('timeout', true),
      kind('truncated_stream', true),
      // A stream that broke in a way worth another try is a truncated one; otherwise the answer was bad.
      kind('stream_error', true),
      kind('stream_error', false),
      kind('bad_response', false),
      kind('response_too_large', false),
      kind('invalid_structured_output', false),
      // An HTTP failure without a status: a retryable one is the server's, another a bad answer.
      kind('http', true),
      kind('http', false),
    ]).toEqual(['connection', 'timeout', 'timeout', 'truncated', 'truncated', 'bad_response', 'bad_response', 'bad_response', 'structured_output', 'server_error', 'bad_response']);
  });
});

describe('members are not retried with backoff after a refused connection', () => {
  it('three refused members (max_retries: 2 each): one attempt each, no retry, then MembersFailedError', async () => {
    const e = (await rejection(aegis.getCompletion('all_dead', hi))) as MembersFailedError;
    expect(MembersFailedError.isInstance(e)).toBe(true);
    expect(e.attempts.map((x) => [x.profile, (x.error as ProviderError).reason])).toEqual([
      ['dead1', 'connection'],
      ['dead2', 'connection'],
      ['dead3', 'connection'],
    ]);
    expect(log.lines.filter((l) => /retry \d/.test(l))).toEqual([]);
  });

  it('a reset connection is not retried either (one attempt), while a 503 still is, per the member', async () => {
    // A call first, so the next one goes on a kept-alive connection: a reset there before any byte of
    // an answer is sent once more on a new connection by the HTTP client (not a retry); reset again too.
    await aegis.getCompletion('a', hi);
    a.reset();
    a.failNext({ kind: 'reset' }, 2);
    expect((await aegis.getCompletion('reset_first', hi)).text).toBe('from b');
    expect(a.requests.length).toBe(2);
    expect(log.lines.filter((l) => /retry \d/.test(l))).toEqual([]);
    a.reset();
    a.setReply({ text: 'from a' });
    a.failNext({ kind: 'status', status: 503 });
    expect((await aegis.getCompletion('reset_first', hi)).text).toBe('from a');
    expect(a.requests.length).toBe(2);
  });

  it('a member keeps its retries for connection failures the profile does not move on after', async () => {
    a.failNext({ kind: 'reset' });
    expect((await aegis.getCompletion('reset_kept', hi)).text).toBe('from a');
    expect(a.requests.length).toBe(2);
  });

  it('the same goes for streams', async () => {
    const stream = (await aegis.getProviderForProfile('all_dead')).streamCompletion(hi);
    const e = (await rejection(stream.result)) as MembersFailedError;
    expect(e.attempts).toHaveLength(3);
    expect(log.lines.filter((l) => /retry \d/.test(l))).toEqual([]);
  });
});

describe('cooldown', () => {
  it('skips a member after cooldown_after unhealthy failures in a row, for the cooldown', async () => {
    const cooling = (await aegis.getProviderForProfile('cooling')) as FallbackProvider;
    a.failNext({ kind: 'status', status: 503 });
    expect((await cooling.getCompletion(hi)).text).toBe('from b');
    expect(cooling.memberStates()[0]).toMatchObject({ profile: 'a', failuresInARow: 1, coolingDownForMs: 0 });
    a.failNext({ kind: 'status', status: 503 });
    expect((await cooling.getCompletion(hi)).text).toBe('from b');
    expect(cooling.memberStates()[0]!.coolingDownForMs).toBeGreaterThan(25_000);
    expect(log.lines).toContainEqual(expect.stringContaining('member "a" skipped for 30 s (2 failures in a row)'));
    // While it cools down, `a` is not tried at all.
    expect((await cooling.getCompletion(hi)).text).toBe('from b');
    expect(a.requests.length).toBe(2);
    // A member cooling down is tried last, not never: when the others fail, it still gets the call, and its answer ends the cooldown.
    b.failNext({ kind: 'status', status: 503 });
    expect((await cooling.getCompletion(hi)).text).toBe('from a');
    expect([a.requests.length, b.requests.length]).toEqual([3, 4]);
    expect(cooling.memberStates()[0]).toMatchObject({ failuresInARow: 0, coolingDownForMs: 0 });
  });

  it('a success resets the count; a 404 or a 400 does not count', async () => {
    const cooling = (await aegis.getProviderForProfile('cooling')) as FallbackProvider;
    // (a answered the previous test's last call: in rotation again.)
    a.failNext({ kind: 'status', status: 503 });
    await cooling.getCompletion(hi);
    await cooling.getCompletion(hi);
    a.failNext({ kind: 'status', status: 404 });
    await cooling.getCompletion(hi);
    a.failNext({ kind: 'status', status: 400 });
    await cooling.getCompletion(hi).catch(() => undefined);
    expect(cooling.memberStates()[0]).toMatchObject({ failuresInARow: 0, coolingDownForMs: 0 });
  });

  it('a member is tried again once its cooldown is over', async () => {
    const short = (await aegis.getProviderForProfile('short_cooling')) as FallbackProvider;
    a.failNext({ kind: 'status', status: 503 });
    expect((await short.getCompletion(hi)).text).toBe('from b');
    // The cooldown was started (read from the log: 50 ms may be over before memberStates() is read).
    expect(log.lines.filter((l) => l.includes('profile "short_cooling": member "a" skipped for 0.05 s'))).toHaveLength(1);
    const until = Date.now() + short.memberStates()[0]!.coolingDownForMs;
    while (Date.now() <= until) await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await short.getCompletion(hi)).text).toBe('from a');
  });
});
