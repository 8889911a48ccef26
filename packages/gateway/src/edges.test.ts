/**
 * Requests at the edges: names a client chooses (unknown models, escapes),
 * how a key is presented, bodies past the limit, message fields the gateway
 * cannot honour, a client gone before its answer, a backend's Retry-After,
 * secrets in tool calls, and answers given while draining.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import type { Logger } from '@aegis/core';
import { pcmTone, wavFile } from '@aegis/testkit';
import { MemoryLimitStore } from './limits/store.js';
import { backendsYaml, heldProfile, startBackends, startFailingBackend, startGateway, startHeldUpstream, UPSTREAM_ENV, waitForLog, type Backends, type HeldUpstream, type RunningGateway } from './__tests__/harness.js';

const KEYS = { KEY_ALICE: 'alice-key-0123456789abcdef', KEY_BOB: 'bob-key-0123456789abcdef', KEY_DAVE: 'dave-key-0123456789abcdef', KEY_FRAN: 'fran-key-0123456789abcdef' };

let backends: Backends;
let held: HeldUpstream;
let gw: RunningGateway;
let clock = 1_000_000_020_000;
const errors: string[] = [];
const logger: Logger = { debug: () => undefined, info: () => undefined, warn: (m) => errors.push(m), error: (m) => errors.push(m) };

beforeAll(async () => {
  [backends, held] = await Promise.all([startBackends(), startHeldUpstream()]);
  const yaml = backendsYaml(
    backends,
    `${heldProfile(held.baseUrl)}gateway:
  max_body_bytes: 2000
  models:
    fast: llama
    smart: chat
    slow: held
  keys:
    - name: alice
      key: \${KEY_ALICE}
    - name: bob
      key: \${KEY_BOB}
      models: [fast]
    - name: dave
      key: \${KEY_DAVE}
      models: [slow]
      tokens_per_minute: 20
    - name: fran
      key: \${KEY_FRAN}
      models: [smart]
      max_concurrent: 1
`,
  );
  gw = await startGateway(yaml, KEYS, { now: () => clock, logger });
});
afterAll(async () => {
  await gw?.close();
  await Promise.all([backends?.close(), held?.close()]);
});
beforeEach(() => {
  backends.openai.reset();
  backends.ollama.reset();
  errors.length = 0;
});

function post(path: string, body: unknown, headers: Record<string, string> = { authorization: `Bearer ${KEYS.KEY_ALICE}` }, init: RequestInit = {}): Promise<Response> {
  return fetch(`${gw.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body), ...init });
}

const chat = (model: string, extra: Record<string, unknown> = {}) => ({ model, messages: [{ role: 'user', content: 'hi' }], ...extra });
const metricsText = async () => (await fetch(`${gw.url}/metrics`)).text();

describe('names the client chooses', () => {
  it('a model it does not serve is a 404 that labels nothing: no metric series of its own, a shortened name in the log', async () => {
    const long = 'm'.repeat(1500);
    for (const model of ['nope-1', 'nope-2', long]) expect((await post('/v1/chat/completions', chat(model))).status).toBe(404);
    const metrics = await metricsText();
    expect(metrics).not.toContain('nope-');
    expect(metrics).not.toContain('mmmm');
    expect(metrics).toMatch(/aegis_gateway_requests_total\{route="chat",model="",status="404"\} 3/);
    const entry = await waitForLog(gw, (e) => typeof e.model === 'string' && e.model.startsWith('mmm'));
    expect((entry.model as string).length).toBeLessThan(200);
    // An unknown route is labelled as one.
    expect((await fetch(`${gw.url}/v2/whatever`)).status).toBe(404);
    expect(await metricsText()).toMatch(/aegis_gateway_requests_total\{route="unknown",model="",status="404"\} 1/);
  });

  it("the access log escapes what a terminal would act on that JSON leaves as it is (C1 controls, bidi overrides)", async () => {
    expect((await post('/v1/chat/completions', chat('evil\u009b31m\u202etxt'))).status).toBe(404);
    const line = gw.logs.find((l) => l.includes('evil'))!;
    expect(line).not.toMatch(/[\u0080-\u009f\u202a-\u202e]/);
    expect(line).toContain('evil\\u009b31m\\u202etxt');
    expect(JSON.parse(line).model).toBe('evil\u009b31m\u202etxt');
  });

  it('a key the client puts in a model name or a path is not written to the access log (upstream secrets and gateway keys alike)', async () => {
    const upstreamKey = UPSTREAM_ENV.UPSTREAM_KEY;
    expect((await post('/v1/chat/completions', chat(`x-${upstreamKey}`))).status).toBe(404);
    expect((await post('/v1/chat/completions', chat(`y-${KEYS.KEY_BOB}`))).status).toBe(404);
    expect((await fetch(`${gw.url}/v1/models/z-${KEYS.KEY_DAVE}`, { headers: { authorization: `Bearer ${KEYS.KEY_ALICE}` } })).status).toBe(404);
    await waitForLog(gw, (e) => typeof e.model === 'string' && e.model.startsWith('x-'));
    await waitForLog(gw, (e) => typeof e.model === 'string' && e.model.startsWith('y-'));
    const byPath = await waitForLog(gw, (e) => typeof e.path === 'string' && e.path.startsWith('/v1/models/z-'));
    expect(byPath.path).toBe('/v1/models/z-***');
    const log = gw.logs.join('\n');
    for (const secret of [upstreamKey, KEYS.KEY_BOB, KEYS.KEY_DAVE]) expect(log).not.toContain(secret);
  });

  it('/v1/models/{id} with a malformed escape is a 404, not an error; /models and /audio/* answer without /v1 as the chat route does', async () => {
    const auth = { authorization: `Bearer ${KEYS.KEY_ALICE}` };
    const malformed = await fetch(`${gw.url}/v1/models/%E0%A4%A`, { headers: auth });
    expect(malformed.status).toBe(404);
    expect((await malformed.json()).error.code).toBe('model_not_found');
    expect(errors).toEqual([]);
    expect((await (await fetch(`${gw.url}/models`, { headers: auth })).json()).data.map((m: { id: string }) => m.id)).toEqual(['fast', 'smart', 'slow']);
    expect((await fetch(`${gw.url}/models/fast`, { headers: auth })).status).toBe(200);
    const speech = await post('/audio/speech', { model: 'smart', input: 'hi', voice: 'alloy' });
    expect(speech.status).toBe(200);
  });
});

describe('keys', () => {
  it('a proxy\'s own Basic credentials in Authorization do not hide the key in x-api-key', async () => {
    const response = await post('/v1/chat/completions', chat('fast'), { authorization: 'Basic cHJveHk6cGFzcw==', 'x-api-key': KEYS.KEY_BOB });
    expect(response.status).toBe(200);
    expect((await post('/v1/chat/completions', chat('fast'), { authorization: 'Basic cHJveHk6cGFzcw==' })).status).toBe(401);
  });

  it('the key in each header form clients use: Bearer in any case, x-api-key, Azure\'s api-key; each is that key, not another', async () => {
    const forms: Record<string, string>[] = [
      { authorization: `bearer ${KEYS.KEY_BOB}` },
      { authorization: `BEARER  ${KEYS.KEY_BOB}` },
      { 'x-api-key': KEYS.KEY_BOB },
      { 'api-key': KEYS.KEY_BOB },
    ];
    for (const headers of forms) {
      expect({ headers, status: (await post('/v1/chat/completions', chat('fast'), headers)).status }).toEqual({ headers, status: 200 });
      // bob's key serves only "fast": the key found is bob's.
      expect({ headers, status: (await post('/v1/chat/completions', chat('smart'), headers)).status }).toEqual({ headers, status: 404 });
    }
    expect((await post('/v1/chat/completions', chat('fast'), { 'api-key': 'not-a-key-0123456789' })).status).toBe(401);
  });

  it("tokens_per_minute is charged for a stream the client leaves before its usage came (an estimate), so leaving early is no way around it", async () => {
    const controller = new AbortController();
    // ~100 characters of prompt: about 25 tokens, past dave's 20 a minute.
    const long = { model: 'slow', stream: true, messages: [{ role: 'user', content: 'x'.repeat(100) }] };
    const response = await post('/v1/chat/completions', long, { authorization: `Bearer ${KEYS.KEY_DAVE}` }, { signal: controller.signal });
    const call = await held.nextCall();
    const reader = response.body!.getReader();
    let seen = '';
    while (!seen.includes('first')) {
      const read = await reader.read();
      if (read.done) break;
      seen += new TextDecoder().decode(read.value);
    }
    expect(seen).toContain('first');
    controller.abort();
    await call.aborted;
    await waitForLog(gw, (e) => e.key === 'dave' && e.client_closed === true);
    const refused = await post('/v1/chat/completions', chat('slow'), { authorization: `Bearer ${KEYS.KEY_DAVE}` });
    expect(refused.status).toBe(429);
    expect((await refused.json()).error.code).toBe('token_limit_exceeded');
    clock += 120_000;
  });
});

describe('bodies and messages', () => {
  it('a chunked body past max_body_bytes gets its 413 (the connection closes after it)', async () => {
    const answer = await new Promise<{ status: number; body: string; connection?: string }>((resolve, reject) => {
      const req = http.request(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEYS.KEY_ALICE}` } }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body, connection: res.headers.connection }));
      });
      req.on('error', reject);
      // No Content-Length: chunked, so the size is known only once past the limit.
      req.write('{"model":"fast","messages":[{"role":"user","content":"');
      req.write('x'.repeat(3000));
      req.end('"}]}');
    });
    expect(answer.status).toBe(413);
    expect(JSON.parse(answer.body).error.code).toBe('request_too_large');
    expect(answer.connection).toBe('close');
    expect(backends.ollama.requests).toHaveLength(0);
  });

  it('a body of exactly max_body_bytes is read, declared or chunked; one byte more is a 413', async () => {
    const sized = (bytes: number) => {
      const head = '{"model":"fast","messages":[{"role":"user","content":"';
      const tail = '"}]}';
      return head + 'x'.repeat(bytes - head.length - tail.length) + tail;
    };
    const send = (body: string, chunked: boolean) =>
      new Promise<number>((resolve, reject) => {
        const headers: Record<string, string> = { 'content-type': 'application/json', authorization: `Bearer ${KEYS.KEY_ALICE}` };
        if (!chunked) headers['content-length'] = String(Buffer.byteLength(body));
        const req = http.request(`${gw.url}/v1/chat/completions`, { method: 'POST', agent: false, headers }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode!));
        });
        req.on('error', reject);
        if (chunked) req.write(body.slice(0, 1000));
        req.end(chunked ? body.slice(1000) : body);
      });
    for (const chunked of [false, true]) {
      expect({ chunked, status: await send(sized(2000), chunked) }).toEqual({ chunked, status: 200 });
      expect({ chunked, status: await send(sized(2001), chunked) }).toEqual({ chunked, status: 413 });
    }
  });

  it('a body that is JSON but not an object (an array) is a 400 saying so', async () => {
    const response = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEYS.KEY_ALICE}` }, body: '[{"model":"fast"}]' });
    expect(response.status).toBe(400);
    expect((await response.json()).error.message).toBe('the request body must be a JSON object');
    expect(backends.ollama.requests).toHaveLength(0);
  });

  it('message fields it cannot honour are refused by name; a reasoning model\'s echoed reasoning is left out', async () => {
    const cases: [unknown[], string, string][] = [
      [[{ role: 'assistant', content: null, function_call: { name: 'f', arguments: '{}' } }, { role: 'user', content: 'hi' }], 'messages[0].function_call', 'unsupported_parameter'],
      [[{ role: 'user', content: 'hi', audio: { id: 'a1' } }], 'messages[0].audio', 'unsupported_parameter'],
      [[{ role: 'user', content: 'hi', colour: 'red' }], 'messages[0].colour', 'unknown_parameter'],
    ];
    for (const [messages, param, code] of cases) {
      const response = await post('/v1/chat/completions', { model: 'fast', messages });
      expect(response.status).toBe(400);
      expect((await response.json()).error).toMatchObject({ type: 'invalid_request_error', param, code });
    }
    const echoed = [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello', reasoning_content: 'thought' }, { role: 'user', content: 'again' }];
    expect((await post('/v1/chat/completions', { model: 'fast', messages: echoed })).status).toBe(200);
    expect(JSON.stringify(backends.ollama.requests.at(-1)?.json)).not.toContain('thought');
  });

  it('stream_options without stream is a 400, as OpenAI answers', async () => {
    const response = await post('/v1/chat/completions', chat('fast', { stream_options: { include_usage: true } }));
    expect(response.status).toBe(400);
    expect((await response.json()).error.param).toBe('stream_options');
  });

  it('a transcription with an empty file, or a field sent twice, is a 400', async () => {
    const form = (parts: [string, string | Blob, string?][]) => {
      const f = new FormData();
      for (const [name, value, file] of parts) (file ? f.append(name, value as Blob, file) : f.append(name, value as string));
      return f;
    };
    const send = (body: FormData) => fetch(`${gw.url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${KEYS.KEY_ALICE}` }, body });
    const empty = await send(form([['model', 'smart'], ['file', new Blob([]), 'a.wav']]));
    expect(empty.status).toBe(400);
    expect((await empty.json()).error.param).toBe('file');
    const twice = await send(form([['model', 'smart'], ['model', 'fast'], ['file', new Blob([new Uint8Array(8)]), 'a.wav']]));
    expect(twice.status).toBe(400);
    expect((await twice.json()).error.param).toBe('model');
    expect(backends.openai.requests).toHaveLength(0);
  });

  it('a transcription gives its max_concurrent slot back when it ends, answered or failed', async () => {
    const transcribe = () => {
      const form = new FormData();
      form.append('model', 'smart');
      form.append('file', new Blob([new Uint8Array(wavFile(pcmTone(5)))], { type: 'audio/wav' }), 'clip.wav');
      return fetch(`${gw.url}/v1/audio/transcriptions`, { method: 'POST', headers: { authorization: `Bearer ${KEYS.KEY_FRAN}` }, body: form });
    };
    backends.openai.setReply({ transcription: 'said' });
    // One after the other: never two at once, so each must find the key's one slot free.
    for (let i = 0; i < 2; i++) {
      const answer = await transcribe();
      expect(answer.status).toBe(200);
      expect((await answer.json()).text).toBe('said');
    }
    backends.openai.failNext({ kind: 'status', status: 500 });
    expect((await transcribe()).status).toBe(502);
    const after = await transcribe();
    expect(after.status).toBe(200);
    expect((await after.json()).text).toBe('said');
    expect(backends.openai.requests).toHaveLength(4);
  });
});

describe('the client and the backend', () => {
  it('a client gone before any answer is logged 499, and is nobody\'s error', async () => {
    backends.ollama.failNext({ kind: 'hang' });
    const controller = new AbortController();
    const pending = post('/v1/chat/completions', chat('fast'), undefined, { signal: controller.signal }).catch(() => undefined);
    while (backends.ollama.requests.length === 0) await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    await pending;
    const entry = await waitForLog(gw, (e) => e.client_closed === true && e.model === 'fast');
    expect(entry.status).toBe(499);
    expect(await metricsText()).toMatch(/aegis_gateway_requests_total\{route="chat",model="fast",status="499"\} 1/);
    expect(errors).toEqual([]);
  });

  it("a backend's Retry-After is passed on, and kept as the model's cooldown, up to 300 s", async () => {
    backends.openai.failNext({ kind: 'status', status: 429, retryAfter: '99999999999999999999999' });
    const limited = await post('/v1/chat/completions', chat('smart'));
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('300');
    const cooling = await post('/v1/chat/completions', chat('smart'));
    expect(cooling.status).toBe(429);
    expect(Number(cooling.headers.get('retry-after'))).toBeLessThanOrEqual(300);
    expect(backends.openai.requests).toHaveLength(1);
    clock += 301_000;
    expect((await post('/v1/chat/completions', chat('smart'))).status).toBe(200);
  });

  it("a backend's Retry-After of 5 s keeps the model cooling down for 5 s (of the gateway's clock), not 5 ms", async () => {
    backends.openai.failNext({ kind: 'status', status: 429, retryAfter: '5' });
    const limited = await post('/v1/chat/completions', chat('smart'));
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('5');
    clock += 1_000;
    const cooling = await post('/v1/chat/completions', chat('smart'));
    expect(cooling.status).toBe(429);
    expect((await cooling.json()).error.code).toBe('upstream_rate_limited');
    expect(Number(cooling.headers.get('retry-after'))).toBe(4);
    expect(backends.openai.requests).toHaveLength(1); // answered from the cooldown, without calling the backend
    clock += 4_000;
    expect((await post('/v1/chat/completions', chat('smart'))).status).toBe(200);
    expect(backends.openai.requests).toHaveLength(2);
  });

  it("a secret in a tool call's id never reaches the client, streamed or not", async () => {
    const secret = UPSTREAM_ENV.UPSTREAM_KEY;
    const tools = [{ type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }];
    for (const stream of [false, true]) {
      backends.openai.setReply({ toolCalls: [{ id: `call_${secret}`, name: 'lookup', arguments: {} }] });
      const text = await (await post('/v1/chat/completions', chat('smart', { tools, stream }))).text();
      expect(text).toContain('lookup');
      expect(text).toContain('call_***');
      expect(text).not.toContain(secret);
    }
  });
});

describe('draining', () => {
  it('a JSON answer given while draining says the connection closes after it', async () => {
    // The call waits in the limit store (a gate) until the gateway has begun to drain.
    let open!: () => void;
    let reached!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const atGate = new Promise<void>((resolve) => (reached = resolve));
    class GatedStore extends MemoryLimitStore {
      override async take(...args: Parameters<MemoryLimitStore['take']>) {
        reached();
        await gate;
        return super.take(...args);
      }
    }
    const yaml = backendsYaml(backends, `gateway:\n  keys:\n    - name: erin\n      key: \${KEY_ERIN}\n      requests_per_minute: 10\n`);
    const draining = await startGateway(yaml, { KEY_ERIN: 'erin-key-0123456789abcdef' }, { store: new GatedStore() });
    const answer = new Promise<{ status: number; connection?: string }>((resolve, reject) => {
      const req = http.request(`${draining.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer erin-key-0123456789abcdef' } }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection }));
      });
      req.on('error', reject);
      req.end(JSON.stringify(chat('llama')));
    });
    await atGate;
    const closed = draining.gateway.close({ timeoutMs: 600_000 });
    open();
    expect(await answer).toEqual({ status: 200, connection: 'close' });
    await closed;
    draining.test.close();
  });
});

describe('a served model whose profile is not usable', () => {
  it('is left out, and the log says which model, which profile and which field', async () => {
    const warnings: string[] = [];
    const yaml = backendsYaml(
      backends,
      `  - profile_name: keyless
    type: openai
    base_url: http://127.0.0.1:9/v1
    api_key: \${UNSET_UPSTREAM_KEY}
    model: m
gateway:
  models:
    fast: llama
    smart: keyless
`,
    );
    const broken = await startGateway(yaml, {}, { logger: { ...logger, warn: (m) => warnings.push(m) } });
    try {
      const models = await (await fetch(`${broken.url}/v1/models`)).json();
      expect(models.data.map((m: { id: string }) => m.id)).toEqual(['fast']);
      expect((await fetch(`${broken.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify(chat('smart')) })).status).toBe(404);
      expect(warnings).toEqual([expect.stringMatching(/^gateway: model "smart" \(profile "keyless"\) is not served: field "api_key": .*UNSET_UPSTREAM_KEY/)]);
    } finally {
      await broken.close();
    }
  });
});

describe('the log of an upstream failure', () => {
  it('one line for one failed call (the warning that names model and profile), not a second error line', async () => {
    const failing = await startFailingBackend();
    const lines: string[] = [];
    const keep = (m: string) => void lines.push(m);
    const yaml = `profiles:
  - profile_name: broken
    type: openai
    base_url: ${failing.baseUrl}
    api_key: \${UPSTREAM_KEY}
    model: m
    max_retries: 0
`;
    const gw = await startGateway(yaml, {}, { logger: { debug: () => undefined, info: () => undefined, warn: keep, error: keep } });
    try {
      const answer = await fetch(`${gw.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'broken', messages: [{ role: 'user', content: 'hi' }] }) });
      expect(answer.status).toBe(502);
      expect(lines).toEqual([expect.stringMatching(/^gateway: model "broken" \(profile "broken"\): .*HTTP 500/)]);
    } finally {
      await gw.close();
      await failing.close();
    }
  });
});
