/**
 * Keys, limits, errors, secrets, metrics, disconnects, backpressure,
 * graceful shutdown and reload, in process, against the emulators and an
 * upstream the test steers.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import { ConfigurationError, createAegis } from '@aegis/core';
import { createTestAegis } from '@aegis/testkit';
import { createGateway } from './index.js';
import {
  backendsYaml,
  flakyFallback,
  heldProfile as heldProfileOf,
  PLUGINS,
  startBackends,
  startFailingBackend,
  startGateway,
  startHeldUpstream,
  UPSTREAM_ENV,
  waitForLog,
  type Backends,
  type HeldUpstream,
  type RunningGateway,
} from './__tests__/harness.js';

const KEYS = { KEY_ALICE: 'alice-key-0123456789abcdef', KEY_BOB: 'bob-key-0123456789abcdef', KEY_CAROL: 'carol-key-0123456789abcdef' };

let backends: Backends;
let held: HeldUpstream;

beforeAll(async () => {
  [backends, held] = await Promise.all([startBackends(), startHeldUpstream()]);
});
afterAll(async () => {
  await Promise.all([backends?.close(), held?.close()]);
});
beforeEach(() => {
  backends.openai.reset();
  backends.ollama.reset();
});

const heldProfile = () => heldProfileOf(held.baseUrl);

const hastyProfile = () => `  - profile_name: hasty
    type: ollama
    base_url: ${backends.ollama.baseUrl}
    model: llama3.2
    max_retries: 0
    timeout: 0.3
`;

const gatewaySection = `gateway:
  models:
    fast: llama
    smart: chat
    slow: held
  keys:
    - name: alice
      key: \${KEY_ALICE}
      requests_per_minute: 2
    - name: bob
      key: \${KEY_BOB}
      models: [fast]
      tokens_per_minute: 20
    - name: carol
      key: \${KEY_CAROL}
      models: [slow]
      max_concurrent: 1
`;

function post(url: string, body: unknown, key?: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: JSON.stringify(body),
    ...init,
  });
}

const chat = (model: string, extra: Record<string, unknown> = {}) => ({ model, messages: [{ role: 'user', content: 'hi' }], ...extra });

/** Reads an SSE response until `until` appears in it. */
async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, until: string): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  while (!text.includes(until)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  return text;
}

describe('keys and limits', () => {
  let gw: RunningGateway;
  let clock = 1_000_000_020_000;

  beforeAll(async () => {
    gw = await startGateway(backendsYaml(backends, heldProfile() + gatewaySection), KEYS, { now: () => clock });
  });
  afterAll(() => gw?.close());

  it('401 without a key or with a wrong one, in OpenAI format', async () => {
    const none = await post(`${gw.url}/v1/chat/completions`, chat('fast'));
    expect(none.status).toBe(401);
    expect((await none.json()).error).toMatchObject({ type: 'invalid_request_error', code: 'missing_api_key' });
    const wrong = await post(`${gw.url}/v1/chat/completions`, chat('fast'), 'alice-key-0123456789abcdeX');
    expect(wrong.status).toBe(401);
    expect((await wrong.json()).error.code).toBe('invalid_api_key');
  });

  it('a model outside the key\'s list is one that does not exist (404, as OpenAI); /v1/models shows only its models', async () => {
    const denied = await post(`${gw.url}/v1/chat/completions`, chat('smart'), KEYS.KEY_BOB);
    expect(denied.status).toBe(404);
    const unknown = await post(`${gw.url}/v1/chat/completions`, chat('no-such-model'), KEYS.KEY_BOB);
    // The two answers differ only by the name quoted: a key cannot tell which other models are served.
    expect((await denied.json()).error).toEqual({ ...(await unknown.json()).error, message: expect.stringContaining('"smart"') });
    const list = await (await fetch(`${gw.url}/v1/models`, { headers: { authorization: `Bearer ${KEYS.KEY_BOB}` } })).json();
    expect(list.data.map((m: { id: string }) => m.id)).toEqual(['fast']);
    const all = await (await fetch(`${gw.url}/v1/models`, { headers: { 'x-api-key': KEYS.KEY_ALICE } })).json();
    expect(all.data.map((m: { id: string }) => m.id)).toEqual(['fast', 'smart', 'slow']);
  });

  it('429 with Retry-After past requests_per_minute, and room again as the window slides', async () => {
    expect((await post(`${gw.url}/v1/chat/completions`, chat('fast'), KEYS.KEY_ALICE)).status).toBe(200);
    expect((await post(`${gw.url}/v1/chat/completions`, chat('fast'), KEYS.KEY_ALICE)).status).toBe(200);
    const limited = await post(`${gw.url}/v1/chat/completions`, chat('fast'), KEYS.KEY_ALICE);
    expect(limited.status).toBe(429);
    expect((await limited.json()).error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded' });
    const wait = Number(limited.headers.get('retry-after'));
    expect(wait).toBeGreaterThan(0);
    expect(wait).toBeLessThanOrEqual(120);
    clock += wait * 1000;
    expect((await post(`${gw.url}/v1/chat/completions`, chat('fast'), KEYS.KEY_ALICE)).status).toBe(200);
  });

  it('429 once a key\'s tokens for the minute are used up (counted from the backends\' usage)', async () => {
    backends.ollama.setReply({ text: 'x', promptTokens: 15, completionTokens: 10 });
    expect((await post(`${gw.url}/v1/chat/completions`, chat('fast'), KEYS.KEY_BOB)).status).toBe(200);
    const limited = await post(`${gw.url}/v1/chat/completions`, chat('fast'), KEYS.KEY_BOB);
    expect(limited.status).toBe(429);
    expect((await limited.json()).error.code).toBe('token_limit_exceeded');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    clock += 120_000;
    expect((await post(`${gw.url}/v1/chat/completions`, chat('fast'), KEYS.KEY_BOB)).status).toBe(200);
  });

  it('429 past max_concurrent while a stream is in flight; free again when it ends', async () => {
    const first = await post(`${gw.url}/v1/chat/completions`, chat('slow', { stream: true }), KEYS.KEY_CAROL);
    const call = await held.nextCall();
    const reader = first.body!.getReader();
    expect(await readUntil(reader, 'first')).toContain('"content":"first"');
    const second = await post(`${gw.url}/v1/chat/completions`, chat('slow'), KEYS.KEY_CAROL);
    expect(second.status).toBe(429);
    expect((await second.json()).error.code).toBe('concurrency_limit_exceeded');
    call.release();
    expect(await readUntil(reader, '[DONE]')).toContain('data: [DONE]');
    const third = post(`${gw.url}/v1/chat/completions`, chat('slow', { stream: true }), KEYS.KEY_CAROL);
    (await held.nextCall()).release();
    expect((await third).status).toBe(200);
    expect(await (await third).text()).toContain('data: [DONE]');
  });

  it('counts a stream in flight until it ends; an answer given within its turn (a 404) never was', async () => {
    const metricsText = async () => (await fetch(`${gw.url}/metrics`)).text();
    const chatInFlight = async () => Number(/aegis_gateway_in_flight_requests\{route="chat"\} (\d+)/.exec(await metricsText())?.[1] ?? 0);
    expect((await fetch(`${gw.url}/v1/nowhere`)).status).toBe(404);
    expect(await metricsText()).not.toMatch(/aegis_gateway_in_flight_requests\{route=""\}/);
    const before = await chatInFlight();
    const first = await post(`${gw.url}/v1/chat/completions`, chat('slow', { stream: true }), KEYS.KEY_CAROL);
    const call = await held.nextCall();
    const reader = first.body!.getReader();
    await readUntil(reader, 'first');
    expect(await chatInFlight()).toBe(before + 1);
    call.release();
    await readUntil(reader, '[DONE]');
    // The count drops when the gateway's side of the answer closes, a moment after the client read its end.
    while ((await chatInFlight()) !== before) await new Promise((resolve) => setImmediate(resolve));
  });

  it('never shows a key or an upstream secret: responses, access log, metrics', async () => {
    clock += 10 * 60_000; // a fresh window for alice's requests_per_minute
    backends.openai.failNext({ kind: 'status', status: 500, body: { error: { message: `bad key ${UPSTREAM_ENV.UPSTREAM_KEY} at http://10.0.0.7/internal` } } });
    const failed = await post(`${gw.url}/v1/chat/completions`, chat('smart'), KEYS.KEY_ALICE);
    expect(failed.status).toBe(502);
    const text = await failed.text();
    expect(JSON.parse(text).error).toMatchObject({ type: 'upstream_error' });
    expect(text).not.toContain(UPSTREAM_ENV.UPSTREAM_KEY);
    expect(text).not.toContain('10.0.0.7');
    // A backend echoing a secret (here the other profile's key) in its answer, whole or streamed.
    // Streamed, split across deltas: the gateway's stream scrubber holds the start back until it knows.
    const key = UPSTREAM_ENV.UPSTREAM_KEY;
    backends.ollama.setReply({ chunks: ['the key is ', key.slice(0, 6), key.slice(6, 15), key.slice(15), ' ok'] });
    clock += 10 * 60_000;
    const echoed = await (await post(`${gw.url}/v1/chat/completions`, chat('fast'), KEYS.KEY_ALICE)).text();
    clock += 10 * 60_000;
    const echoedStream = await (await post(`${gw.url}/v1/chat/completions`, chat('fast', { stream: true }), KEYS.KEY_ALICE)).text();
    expect(echoed).toContain('the key is ');
    expect(echoedStream).toContain('the key is ');
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/aegis_gateway_requests_total\{route="chat",model="smart",status="502"\} 1/);
    expect(metrics).toMatch(/aegis_gateway_upstream_errors_total\{profile="chat",reason="http_500"\} 1/);
    expect(metrics).toMatch(/aegis_gateway_tokens_total\{model="fast",profile="llama",kind="prompt"\}/);
    const everything = [text, echoed, echoedStream, metrics, ...gw.logs].join('\n');
    for (const secret of [...Object.values(KEYS), UPSTREAM_ENV.UPSTREAM_KEY]) expect(everything).not.toContain(secret);
    const entry = gw.logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.status === 502);
    expect(entry).toMatchObject({ method: 'POST', path: '/v1/chat/completions', status: 502, model: 'smart', profile: 'chat', key: 'alice' });
    // When the request came (an ISO time, written with the line), first on the line.
    expect(Object.keys(entry!)[0]).toBe('time');
    expect(Math.abs(Date.parse(entry!.time as string) - Date.now())).toBeLessThan(60_000);
  });

  it('a stream: its request id, key, model, profile, stream true, tokens, and first_delta_ms within duration_ms; an answer in one piece has none; tokens counted by kind', async () => {
    clock += 10 * 60_000; // a fresh window for alice's requests_per_minute
    const headers = (id: string) => ({ headers: { 'content-type': 'application/json', authorization: `Bearer ${KEYS.KEY_ALICE}`, 'x-request-id': id } });
    const streamed = await post(`${gw.url}/v1/chat/completions`, chat('fast', { stream: true }), undefined, headers('log-stream-1'));
    expect((await streamed.text()).trimEnd().endsWith('data: [DONE]')).toBe(true);
    const entry = await waitForLog(gw, (e) => e.request_id === 'log-stream-1');
    expect(entry).toMatchObject({ method: 'POST', path: '/v1/chat/completions', status: 200, model: 'fast', profile: 'llama', key: 'alice', stream: true });
    expect(typeof entry.first_delta_ms).toBe('number');
    expect(entry.first_delta_ms as number).toBeGreaterThanOrEqual(0);
    expect(entry.first_delta_ms as number).toBeLessThanOrEqual(entry.duration_ms as number);
    expect(typeof entry.prompt_tokens).toBe('number');
    expect(typeof entry.completion_tokens).toBe('number');

    // aegis_gateway_tokens_total counts each kind in its own series, by what the backend reported.
    const tokens = async (kind: string) => Number(new RegExp(`aegis_gateway_tokens_total\\{model="fast",profile="llama",kind="${kind}"\\} (\\d+)`).exec(await (await fetch(`${gw.url}/metrics`)).text())?.[1] ?? 0);
    const [prompt, completion] = [await tokens('prompt'), await tokens('completion')];
    const answered = await post(`${gw.url}/v1/chat/completions`, chat('fast'), undefined, headers('log-whole-1'));
    expect(answered.status).toBe(200);
    const { usage } = (await answered.json()) as { usage: { prompt_tokens: number; completion_tokens: number } };
    expect(usage.prompt_tokens).not.toBe(usage.completion_tokens);
    expect([(await tokens('prompt')) - prompt, (await tokens('completion')) - completion]).toEqual([usage.prompt_tokens, usage.completion_tokens]);
    const whole = await waitForLog(gw, (e) => e.request_id === 'log-whole-1');
    expect(whole).toMatchObject({ status: 200, model: 'fast', key: 'alice', stream: false, prompt_tokens: usage.prompt_tokens, completion_tokens: usage.completion_tokens });
    expect(whole).not.toHaveProperty('first_delta_ms');
  });
});

describe('the in-flight and duration metrics', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway(backendsYaml(backends, heldProfile()));
  });
  afterAll(() => gw?.close());

  const metricsText = async () => (await fetch(`${gw.url}/metrics`)).text();
  const gauge = async (route: string) => Number(new RegExp(`aegis_gateway_in_flight_requests\\{route="${route}"\\} (\\d+)`).exec(await metricsText())?.[1] ?? 0);

  it('each route is counted in flight under its own label (the first route counted does not take the others)', async () => {
    // The first call counted is an embeddings one: its series exists before any chat one does.
    expect((await post(`${gw.url}/v1/embeddings`, { model: 'llama', input: 'alpha' })).status).toBe(200);
    while ((await gauge('embeddings')) !== 0) await new Promise((resolve) => setImmediate(resolve));
    expect(await metricsText()).toMatch(/aegis_gateway_in_flight_requests\{route="embeddings"\} 0/);
    const response = await post(`${gw.url}/v1/chat/completions`, chat('held', { stream: true }));
    const call = await held.nextCall();
    const reader = response.body!.getReader();
    await readUntil(reader, 'first');
    expect([await gauge('chat'), await gauge('embeddings')]).toEqual([1, 0]);
    call.release();
    await readUntil(reader, '[DONE]');
  });

  it("a request's duration is observed in seconds: the histogram's sum grows by the access log's duration_ms / 1000", async () => {
    const sumOf = async () => Number(/aegis_gateway_request_duration_seconds_sum\{route="chat",model="llama"\} ([\d.e+-]+)/.exec(await metricsText())?.[1] ?? 0);
    const before = await sumOf();
    const response = await post(`${gw.url}/v1/chat/completions`, chat('llama'), undefined, { headers: { 'content-type': 'application/json', 'x-request-id': 'timed-1' } });
    expect(response.status).toBe(200);
    const entry = await waitForLog(gw, (e) => e.request_id === 'timed-1');
    expect((await sumOf()) - before).toBeCloseTo((entry.duration_ms as number) / 1000, 6);
  });
});

describe('the connection to the client', () => {
  let gw: RunningGateway;
  beforeAll(async () => {
    gw = await startGateway(backendsYaml(backends, heldProfile() + hastyProfile()));
  });
  afterAll(() => gw?.close());

  it('a client that disconnects mid-stream aborts the upstream call at once', async () => {
    const controller = new AbortController();
    const response = await post(`${gw.url}/v1/chat/completions`, chat('held', { stream: true }), undefined, { signal: controller.signal });
    const call = await held.nextCall();
    await readUntil(response.body!.getReader(), 'first');
    controller.abort();
    await call.aborted; // the upstream connection closes (the test times out otherwise)
    const entry = await waitForLog(gw, (e) => e.model === 'held');
    expect(entry).toMatchObject({ client_closed: true, status: 200 });
  });

  it('a slow reader holds the upstream back instead of being buffered for', async () => {
    const request = http.request(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' } });
    request.end(JSON.stringify({ model: 'held', stream: true, messages: [{ role: 'user', content: 'FLOOD' }] }));
    const response = await new Promise<http.IncomingMessage>((resolve) => request.on('response', resolve));
    response.pause(); // never read
    const call = await held.nextCall();
    const writtenWhenBlocked = await call.blocked;
    // Socket buffers on both sides hold a few MiB at most; a gateway buffering the answer would take all 256 MiB.
    expect(writtenWhenBlocked).toBeLessThan(64 * 1024 * 1024);
    request.destroy();
    await call.aborted;
  });

  it('answers 400 naming the parameter for bad and not-yet-supported parameters, 404 for unknown routes, 413 for big bodies', async () => {
    const cases: [unknown, string][] = [
      [{ ...chat('llama'), temperature: 9 }, 'temperature'],
      [{ ...chat('llama'), response_format: { type: 'json_schema', json_schema: { schema: {} } } }, 'response_format.json_schema.name'],
      [{ ...chat('llama'), frobnicate: 1 }, 'frobnicate'],
      [{ ...chat('llama'), n: 2 }, 'n'],
      [{ model: 'llama', messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: '', format: 'wav' } }] }] }, 'messages[0].content[0]'],
      [{ model: 'llama', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'file:///etc/passwd' } }] }] }, 'messages[0].content[0].image_url.url'],
      [{ model: 'llama', messages: [{ role: 'function', content: 'r', name: 'f' }] }, 'messages[0].role'],
      [{ ...chat('llama'), tools: [{ type: 'function', function: { name: 'bad name' } }] }, 'tools[0].function.name'],
    ];
    for (const [body, param] of cases) {
      const response = await post(`${gw.url}/v1/chat/completions`, body);
      expect(response.status).toBe(400);
      expect((await response.json()).error).toMatchObject({ type: 'invalid_request_error', param });
    }
    const notJson = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', body: '{nope' });
    expect(notJson.status).toBe(400);
    expect((await fetch(`${gw.url}/v2/whatever`)).status).toBe(404);
    expect((await fetch(`${gw.url}/v1/chat/completions`)).status).toBe(405);
    // A body declared past the limit is answered before any of it is sent: only the headers go out.
    const big = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const request = http.request(`${gw.url}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(26 * 1024 * 1024) } });
      request.on('response', resolve);
      request.on('error', reject);
      request.flushHeaders();
    });
    big.resume();
    expect(big.statusCode).toBe(413);
    expect(big.headers.connection).toBe('close');
    expect(backends.ollama.requests).toHaveLength(0);
  });

  it('maps a dead backend to 502 and one that hangs past the profile\'s timeout to 504', async () => {
    const dead = await post(`${gw.url}/v1/chat/completions`, chat('dead'));
    expect(dead.status).toBe(502);
    expect((await dead.json()).error.message).toMatch(/connection refused/);
    backends.ollama.failNext({ kind: 'hang' });
    const slow = await post(`${gw.url}/v1/chat/completions`, chat('hasty'));
    expect(slow.status).toBe(504);
    expect((await slow.json()).error).toMatchObject({ type: 'timeout_error', code: 'upstream_timeout' });
  });

  it("maps an upstream's own timeout answer (HTTP 504 or 408) to 504 upstream_timeout, not 502", async () => {
    for (const status of [504, 408]) {
      backends.openai.reset();
      backends.openai.failNext({ kind: 'status', status });
      const answer = await post(`${gw.url}/v1/chat/completions`, chat('chat'));
      expect(answer.status).toBe(504);
      expect((await answer.json()).error).toMatchObject({ type: 'timeout_error', code: 'upstream_timeout' });
      expect(backends.openai.requests).toHaveLength(1); // the profile's max_retries: 0, one call
    }
  });
});

describe('refusals by a limit on /metrics', () => {
  it('aegis_gateway_rate_limited_total counts each under its key and the limit that refused it', async () => {
    const section = `gateway:
  models:
    fast: llama
    slow: held
  keys:
    - name: alice
      key: \${KEY_ALICE}
      models: [fast]
      requests_per_minute: 1
    - name: bob
      key: \${KEY_BOB}
      models: [fast]
      tokens_per_minute: 20
    - name: carol
      key: \${KEY_CAROL}
      models: [slow]
      max_concurrent: 1
`;
    const gw = await startGateway(backendsYaml(backends, heldProfile() + section), KEYS, { now: () => 1_000_000_020_000 });
    try {
      expect((await post(`${gw.url}/v1/chat/completions`, chat('fast'), KEYS.KEY_ALICE)).status).toBe(200);
      expect((await post(`${gw.url}/v1/chat/completions`, chat('fast'), KEYS.KEY_ALICE)).status).toBe(429);

      backends.ollama.setReply({ text: 'x', promptTokens: 15, completionTokens: 10 });
      expect((await post(`${gw.url}/v1/chat/completions`, chat('fast'), KEYS.KEY_BOB)).status).toBe(200);
      expect((await post(`${gw.url}/v1/chat/completions`, chat('fast'), KEYS.KEY_BOB)).status).toBe(429);

      const first = await post(`${gw.url}/v1/chat/completions`, chat('slow', { stream: true }), KEYS.KEY_CAROL);
      const call = await held.nextCall();
      const reader = first.body!.getReader();
      await readUntil(reader, 'first');
      expect((await post(`${gw.url}/v1/chat/completions`, chat('slow'), KEYS.KEY_CAROL)).status).toBe(429);
      call.release();
      await readUntil(reader, '[DONE]');

      const metrics = await (await fetch(`${gw.url}/metrics`)).text();
      // The label is the limit's code, as the 429's error.code says it.
      expect(metrics).toMatch(/aegis_gateway_rate_limited_total\{key="alice",limit="rate_limit_exceeded"\} 1\n/);
      expect(metrics).toMatch(/aegis_gateway_rate_limited_total\{key="bob",limit="token_limit_exceeded"\} 1\n/);
      expect(metrics).toMatch(/aegis_gateway_rate_limited_total\{key="carol",limit="concurrency_limit_exceeded"\} 1\n/);
    } finally {
      await gw.close();
    }
  });
});

describe('health, shutdown and reload', () => {
  it('/healthz and /readyz; on close: not ready, no new connections, in-flight streams finish', async () => {
    const gw = await startGateway(backendsYaml(backends, heldProfile()));
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    const ready = await (await fetch(`${gw.url}/readyz`)).json();
    // How many models it serves, not which (it answers without a key).
    expect(ready).toEqual({ status: 'ready', problems: [], models: 5 });

    const response = await post(`${gw.url}/v1/chat/completions`, chat('held', { stream: true }));
    const call = await held.nextCall();
    const reader = response.body!.getReader();
    await readUntil(reader, 'first');
    const closed = gw.gateway.close({ timeoutMs: 600_000 });
    await expect(fetch(`${gw.url}/healthz`)).rejects.toThrow();
    call.release();
    expect(await readUntil(reader, '[DONE]')).toContain('" end"');
    await closed;
    gw.test.close();
  });

  it('past the shutdown deadline, in-flight calls are cut, their upstream calls aborted, and their clients told so', async () => {
    const gw = await startGateway(backendsYaml(backends, heldProfile()));
    const response = await post(`${gw.url}/v1/chat/completions`, chat('held', { stream: true }));
    const call = await held.nextCall();
    const reader = response.body!.getReader();
    await readUntil(reader, 'first');
    await gw.gateway.close({ timeoutMs: 1 });
    await call.aborted;
    // An error event saying why, not a bare reset; logged as the shutdown's cut, not as the backend's failure.
    expect(await readUntil(reader, 'shutting_down')).toContain('"code":"shutting_down"');
    expect(await waitForLog(gw, (e) => e.model === 'held')).toMatchObject({ status: 503, stream_broken: true });
    gw.test.close();
  });

  it("a reload's next configuration skips a fallback member still cooling down under the previous one", async () => {
    const failing = await startFailingBackend();
    const yaml = backendsYaml(backends, flakyFallback(failing.baseUrl));
    const gw = await startGateway(yaml);
    const next = createTestAegis({ plugins: PLUGINS, profiles: yaml, env: UPSTREAM_ENV });
    try {
      expect((await post(`${gw.url}/v1/chat/completions`, chat('steady'))).status).toBe(200);
      expect(failing.requests()).toBe(1); // tried, failed, cooling down; llama answered
      await gw.gateway.reload(next.aegis);
      expect((await post(`${gw.url}/v1/chat/completions`, chat('steady'))).status).toBe(200);
      expect(failing.requests()).toBe(1); // the new configuration's router knew
    } finally {
      await gw.close();
      next.close();
      await failing.close();
    }
  });

  it('reload keeps the running configuration when the new one is invalid, and switches when it is valid', async () => {
    const gw = await startGateway(backendsYaml(backends));
    const other = createTestAegis({ plugins: PLUGINS, profiles: backendsYaml(backends, 'gateway:\n  modles: {}\n'), env: UPSTREAM_ENV });
    const error = await gw.gateway.reload(other.aegis).catch((e: unknown) => e);
    expect(ConfigurationError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/backends\.yaml:23:\d+: field "gateway\.modles": unknown field "modles"; did you mean "models"\?/);
    expect((await post(`${gw.url}/v1/chat/completions`, chat('llama'))).status).toBe(200);

    const valid = createTestAegis({ plugins: PLUGINS, profiles: backendsYaml(backends, 'gateway:\n  models:\n    renamed: llama\n'), env: UPSTREAM_ENV });
    await gw.gateway.reload(valid.aegis);
    expect(gw.gateway.models).toEqual(['renamed']);
    expect((await post(`${gw.url}/v1/chat/completions`, chat('renamed'))).status).toBe(200);
    expect((await post(`${gw.url}/v1/chat/completions`, chat('llama'))).status).toBe(404);
    await gw.close();
    other.close();
    valid.close();
  });
});

describe('a stream that breaks after its 200', () => {
  it('is logged and counted with the failure status (502), marked stream_broken, so an error rate sees it', async () => {
    const gw = await startGateway(backendsYaml(backends));
    try {
      backends.openai.failNext({ kind: 'stream-error', message: 'the GPU fell over' });
      const answer = await post(`${gw.url}/v1/chat/completions`, chat('chat', { stream: true }));
      expect(answer.status).toBe(200);
      expect(await answer.text()).toContain('the GPU fell over');
      const entry = await waitForLog(gw, (e) => e.model === 'chat');
      expect(entry).toMatchObject({ status: 502, stream: true, stream_broken: true });
      const metrics = await (await fetch(`${gw.url}/metrics`)).text();
      expect(metrics).toMatch(/aegis_gateway_requests_total\{route="chat",model="chat",status="502"\} 1/);
    } finally {
      await gw.close();
    }
  });
});

describe('reloads that would weaken the running gateway', () => {
  const withKeys = () => backendsYaml(backends, 'gateway:\n  keys:\n    - name: alice\n      key: ${KEY_ALICE}\n');

  it('a configuration without keys (a cut backends.yaml) or serving no model is refused; the running one stays', async () => {
    const gw = await startGateway(withKeys(), KEYS);
    const keyless = createTestAegis({ plugins: PLUGINS, profiles: backendsYaml(backends), env: { ...UPSTREAM_ENV, ...KEYS } });
    const empty = createTestAegis({ plugins: PLUGINS, profiles: 'profiles: []\ngateway:\n  keys:\n    - name: alice\n      key: ${KEY_ALICE}\n', env: { ...UPSTREAM_ENV, ...KEYS } });
    try {
      await expect(gw.gateway.reload(keyless.aegis)).rejects.toThrow(/has no gateway keys now \(the running configuration has 1\): kept the running one/);
      await expect(gw.gateway.reload(empty.aegis)).rejects.toThrow(/serves no model now: kept the running configuration/);
      // Still the keyed configuration: no key, no answer.
      expect((await post(`${gw.url}/v1/chat/completions`, chat('llama'))).status).toBe(401);
      expect((await post(`${gw.url}/v1/chat/completions`, chat('llama'), KEYS.KEY_ALICE)).status).toBe(200);
    } finally {
      await gw.close();
    }
  });

  it('a reload that ends after close() began is refused: nothing it made keeps serving', async () => {
    const gw = await startGateway(backendsYaml(backends));
    const next = createTestAegis({ plugins: PLUGINS, profiles: backendsYaml(backends), env: UPSTREAM_ENV });
    await gw.gateway.close({ timeoutMs: 0 });
    await expect(gw.gateway.reload(next.aegis)).rejects.toThrow(/shutting down/);
    gw.test.close();
  });
});

describe('the gateway: section', () => {
  it('reports every problem with file:line and field, never the key', async () => {
    const yaml = backendsYaml(
      backends,
      `gateway:
  models:
    fast: lama
  keys:
    - name: alice
      key: written-in-clear-0123456789
      models: [fast, nope]
      requests_per_minut: 5
    - name: bob
      key: \${KEY_BOB}
      max_concurrent: -1
  redis_url: http://localhost:6379
`,
    );
    const test = createTestAegis({ plugins: PLUGINS, profiles: yaml, env: { ...UPSTREAM_ENV, ...KEYS } });
    const error = await createGateway(test.aegis, { accessLog: false }).catch((e: unknown) => e);
    test.close();
    expect(ConfigurationError.isInstance(error)).toBe(true);
    const message = (error as Error).message;
    expect(message).toMatch(/backends\.yaml:29:7: field "gateway\.keys\[0\]\.requests_per_minut": unknown field "requests_per_minut"; did you mean "requests_per_minute"\?/);
    expect(message).toMatch(/backends\.yaml:32:7: field "gateway\.keys\[1\]\.max_concurrent": expected a number more than 0/);
    expect(message).toMatch(/backends\.yaml:33:3: field "gateway\.redis_url": expected a redis:\/\/ or rediss:\/\/ URL/);
    expect(message).not.toContain('written-in-clear');

    const second = createTestAegis({ plugins: PLUGINS, profiles: yaml.replace(/      requests_per_minut: 5\n|      max_concurrent: -1\n|  redis_url: .*\n/g, ''), env: { ...UPSTREAM_ENV, ...KEYS } });
    const semantic = ((await createGateway(second.aegis, { accessLog: false }).catch((e: unknown) => e)) as Error).message;
    second.close();
    expect(semantic).toMatch(/backends\.yaml:24:5: field "gateway\.models\.fast": no profile named "lama"/);
    expect(semantic).toMatch(/backends\.yaml:27:7: field "gateway\.keys\[0\]\.key": write the key as a reference, e\.g\. key: \$\{AEGIS_GATEWAY_KEY_ALICE\}/);
    expect(semantic).not.toContain('written-in-clear');
  });

  it('refuses to listen beyond loopback without keys, saying how to add them', async () => {
    const test = createTestAegis({ plugins: PLUGINS, profiles: backendsYaml(backends), env: UPSTREAM_ENV });
    const gateway = await createGateway(test.aegis, { accessLog: false });
    const error = (await gateway.listen({ host: '0.0.0.0', port: 0 }).catch((e: unknown) => e)) as Error;
    expect(error.name).toBe('GatewayStartError');
    expect(error.message).toMatch(/refusing to listen on 0\.0\.0\.0 without keys/);
    expect(error.message).toMatch(/key: \$\{AEGIS_GATEWAY_KEY\}/);
    expect(gateway.server.listening).toBe(false);
    await gateway.close({ timeoutMs: 0 });
    test.close();
  });

  it('with keys, listens on any address', async () => {
    const test = createTestAegis({ plugins: PLUGINS, profiles: backendsYaml(backends, 'gateway:\n  keys:\n    - name: a\n      key: ${KEY_ALICE}\n'), env: { ...UPSTREAM_ENV, ...KEYS } });
    const gateway = await createGateway(test.aegis, { accessLog: false });
    const { port } = await gateway.listen({ host: '0.0.0.0', port: 0 });
    expect(port).toBeGreaterThan(0);
    await gateway.close({ timeoutMs: 0 });
    test.close();
  });

  it('an application embeds it with createGateway(aegis) and mounts its handler', async () => {
    backends.ollama.setReply({ text: 'mounted' });
    const project = createTestAegis({ plugins: PLUGINS, profiles: backendsYaml(backends), env: UPSTREAM_ENV });
    const aegis = createAegis({ plugins: PLUGINS, configPath: project.configPath, env: UPSTREAM_ENV, discover: false, logLevel: 'error' });
    const gateway = await createGateway(aegis, { accessLog: false });
    const server = http.createServer((req, res) => (req.url!.startsWith('/ai/') ? ((req.url = req.url!.slice(3)), gateway.handle(req, res)) : res.end('app')));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const answer = await (await post(`http://127.0.0.1:${port}/ai/v1/chat/completions`, chat('llama'))).json();
    expect(answer.choices[0].message.content).toBe('mounted');
    server.close();
    await gateway.close({ timeoutMs: 0 });
    project.close();
  });
});
