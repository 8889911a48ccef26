/**
 * CORS (`gateway.cors`): preflights answered before the key is checked,
 * Access-Control-Allow-Origin on the answers (errors and streams included) for
 * an allowed origin only, nothing at all without the section, and a broken
 * section reported with file:line. Requests are made with node:http, which
 * sends Origin and the preflight headers as given (a browser would add them).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import OpenAI from 'openai';
import { ConfigurationError } from '@aegis/core';
import { createTestAegis } from '@aegis/testkit';
import { createGateway } from './index.js';
import { backendsYaml, PLUGINS, startBackends, startGateway, UPSTREAM_ENV, waitForLog, type Backends, type RunningGateway } from './__tests__/harness.js';

const KEYS = { KEY_WEB: 'web-key-0123456789abcdef' };
const APP = 'https://app.example.com';
const OTHER = 'https://evil.example.net';

const keysSection = `  keys:
    - name: web
      key: \${KEY_WEB}
      requests_per_minute: 1000
`;

let backends: Backends;

beforeAll(async () => {
  backends = await startBackends();
});
afterAll(async () => {
  await backends?.close();
});
beforeEach(() => {
  backends.openai.reset();
  backends.ollama.reset();
});

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request on a connection of its own; resolves once the whole answer is read. */
function request(url: string, method: string, headers: Record<string, string>, body?: unknown): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(url, { method, agent: false, headers: text === undefined ? headers : { 'content-type': 'application/json', ...headers } }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (data += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: data }));
    });
    req.on('error', reject);
    req.end(text);
  });
}

const preflight = (url: string, origin: string, method = 'POST', requestHeaders = 'authorization, content-type') =>
  request(url, 'OPTIONS', { origin, 'access-control-request-method': method, 'access-control-request-headers': requestHeaders });

const chat = (model: string, extra: Record<string, unknown> = {}) => ({ model, messages: [{ role: 'user', content: 'hi' }], ...extra });
const withKey = (origin?: string) => ({ authorization: `Bearer ${KEYS.KEY_WEB}`, ...(origin ? { origin } : {}) });
const corsHeaderNames = (answer: Answer) => Object.keys(answer.headers).filter((name) => name.startsWith('access-control-'));
const listOf = (value: string | string[] | undefined) => String(value ?? '').split(',').map((s) => s.trim().toLowerCase());

describe('with gateway.cors listing origins, and keys', () => {
  let gw: RunningGateway;

  beforeAll(async () => {
    gw = await startGateway(backendsYaml(backends, `gateway:\n${keysSection}  cors:\n    origins: ["${APP}", "http://localhost:5173"]\n    max_age: 120\n`), KEYS);
  });
  afterAll(() => gw?.close());

  it('answers a preflight before authentication: 204 with the origin, methods, headers, max age; logged and counted as an answer', async () => {
    const answer = await preflight(`${gw.url}/v1/chat/completions`, APP, 'POST', 'authorization, content-type, x-stainless-os, x-stainless-retry-count, x-request-id');
    expect(answer.status).toBe(204);
    expect(answer.body).toBe('');
    expect(answer.headers['access-control-allow-origin']).toBe(APP);
    expect(answer.headers['access-control-allow-methods']).toBe('POST');
    expect(listOf(answer.headers['access-control-allow-headers'])).toEqual(
      expect.arrayContaining(['authorization', 'content-type', 'x-api-key', 'x-request-id', 'x-stainless-os', 'x-stainless-retry-count']),
    );
    expect(answer.headers['access-control-max-age']).toBe('120');
    expect(listOf(answer.headers.vary)).toContain('origin');
    expect(answer.headers['access-control-allow-credentials']).toBeUndefined();
    // /v1/models is read with GET.
    const models = await preflight(`${gw.url}/v1/models`, 'http://localhost:5173', 'GET', 'authorization');
    expect(models.status).toBe(204);
    expect(models.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    expect(models.headers['access-control-allow-methods']).toBe('GET');

    const entry = await waitForLog(gw, (e) => e.method === 'OPTIONS' && e.path === '/v1/chat/completions');
    expect(entry).toMatchObject({ status: 204 });
    expect(entry.key).toBeUndefined();
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    expect(metrics).toMatch(/aegis_gateway_requests_total\{route="chat",model="",status="204"\} 1\n/);
  });

  it('allows every header the official openai client sends', async () => {
    const sent: string[] = [];
    const client = new OpenAI({
      baseURL: `${gw.url}/v1`,
      apiKey: KEYS.KEY_WEB,
      maxRetries: 0,
      fetch: (url, init) => {
        new Headers(init?.headers).forEach((_value, name) => sent.push(name));
        return fetch(url, init);
      },
    });
    await client.chat.completions.create({ model: 'llama', messages: [{ role: 'user', content: 'hi' }] });
    // What a browser would ask about: every header the page sets, bar the safelisted and those it sets itself.
    const asked = sent.filter((name) => !['accept', 'content-length', 'connection', 'host'].includes(name));
    expect(asked).toEqual(expect.arrayContaining(['authorization', 'content-type', 'x-stainless-lang', 'x-stainless-retry-count']));
    const answer = await preflight(`${gw.url}/v1/chat/completions`, APP, 'POST', asked.join(','));
    expect(answer.status).toBe(204);
    expect(listOf(answer.headers['access-control-allow-headers'])).toEqual(expect.arrayContaining(asked));
  });

  it('an allowed origin gets Access-Control-Allow-Origin on an answer, an error and a stream', async () => {
    backends.ollama.setReply({ text: 'hello browser' });
    const answer = await request(`${gw.url}/v1/chat/completions`, 'POST', withKey(APP), chat('llama'));
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).choices[0].message.content).toBe('hello browser');
    expect(answer.headers['access-control-allow-origin']).toBe(APP);
    expect(listOf(answer.headers['access-control-expose-headers'])).toEqual(expect.arrayContaining(['x-request-id', 'retry-after']));
    expect(listOf(answer.headers.vary)).toContain('origin');
    expect(answer.headers['access-control-allow-credentials']).toBeUndefined();

    // The app can read why it was refused.
    const refused = await request(`${gw.url}/v1/chat/completions`, 'POST', { origin: APP }, chat('llama'));
    expect(refused.status).toBe(401);
    expect(refused.headers['access-control-allow-origin']).toBe(APP);

    backends.ollama.setReply({ chunks: ['a', 'b'] });
    const stream = await request(`${gw.url}/v1/chat/completions`, 'POST', withKey(APP), chat('llama', { stream: true }));
    expect(stream.status).toBe(200);
    expect(stream.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(stream.headers['access-control-allow-origin']).toBe(APP);
    expect(stream.body.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });

  it('an origin not listed gets no CORS headers, and its preflight a 403 without them', async () => {
    const answer = await request(`${gw.url}/v1/chat/completions`, 'POST', withKey(OTHER), chat('llama'));
    expect(answer.status).toBe(200);
    expect(corsHeaderNames(answer)).toEqual([]);
    const refused = await preflight(`${gw.url}/v1/chat/completions`, OTHER);
    expect(refused.status).toBe(403);
    expect(corsHeaderNames(refused)).toEqual([]);
    expect(JSON.parse(refused.body).error).toMatchObject({ type: 'invalid_request_error', code: 'origin_not_allowed' });
    // A path or a trailing slash is another origin.
    expect((await preflight(`${gw.url}/v1/chat/completions`, `${APP}/`)).status).toBe(403);
  });

  it('matches a listed origin whatever its case (scheme and host are case-insensitive), echoing it as sent', async () => {
    const upper = APP.toUpperCase();
    const answer = await preflight(`${gw.url}/v1/chat/completions`, upper);
    expect(answer.status).toBe(204);
    expect(answer.headers['access-control-allow-origin']).toBe(upper);
  });

  it('leaves the rest as it was: no Origin, no CORS headers; an OPTIONS that is no preflight still needs the key; unknown paths 404', async () => {
    const plain = await request(`${gw.url}/v1/chat/completions`, 'POST', withKey(), chat('llama'));
    expect(plain.status).toBe(200);
    expect(corsHeaderNames(plain)).toEqual([]);
    expect((await request(`${gw.url}/v1/chat/completions`, 'OPTIONS', { origin: APP })).status).toBe(401);
    expect((await preflight(`${gw.url}/v2/nothing`, APP)).status).toBe(404);
    // The operators' routes are not for browsers.
    const health = await request(`${gw.url}/healthz`, 'GET', { origin: APP });
    expect(corsHeaderNames(health)).toEqual([]);
  });
});

describe('with gateway.cors origins "*"', () => {
  let gw: RunningGateway;

  beforeAll(async () => {
    gw = await startGateway(backendsYaml(backends, `gateway:\n${keysSection}  cors:\n    origins: "*"\n`), KEYS);
  });
  afterAll(() => gw?.close());

  it('answers any origin with "*", never with credentials, and the default max age', async () => {
    const answer = await preflight(`${gw.url}/v1/embeddings`, OTHER);
    expect(answer.status).toBe(204);
    expect(answer.headers['access-control-allow-origin']).toBe('*');
    expect(answer.headers['access-control-max-age']).toBe('600');
    expect(answer.headers['access-control-allow-credentials']).toBeUndefined();
    const embeddings = await request(`${gw.url}/v1/embeddings`, 'POST', withKey(OTHER), { model: 'llama', input: 'x' });
    expect(embeddings.status).toBe(200);
    expect(embeddings.headers['access-control-allow-origin']).toBe('*');
    expect(embeddings.headers['access-control-allow-credentials']).toBeUndefined();
  });
});

describe('without gateway.cors', () => {
  it('sends no CORS headers, and OPTIONS is answered as before: 401 with keys, 405 without', async () => {
    const keyed = await startGateway(backendsYaml(backends, `gateway:\n${keysSection}`), KEYS);
    const open = await startGateway(backendsYaml(backends));
    try {
      const refused = await preflight(`${keyed.url}/v1/chat/completions`, APP);
      expect(refused.status).toBe(401);
      expect(corsHeaderNames(refused)).toEqual([]);
      const answer = await request(`${keyed.url}/v1/chat/completions`, 'POST', withKey(APP), chat('llama'));
      expect(answer.status).toBe(200);
      expect(corsHeaderNames(answer)).toEqual([]);
      expect(answer.headers.vary).toBeUndefined();

      const notAllowed = await preflight(`${open.url}/v1/chat/completions`, APP);
      expect(notAllowed.status).toBe(405);
      expect(notAllowed.headers.allow).toBe('POST');
      expect(corsHeaderNames(notAllowed)).toEqual([]);
    } finally {
      await Promise.all([keyed.close(), open.close()]);
    }
  });
});

describe('a broken gateway.cors', () => {
  it('is a configuration error naming the field, with file:line', async () => {
    const yaml = backendsYaml(
      backends,
      `gateway:
  cors:
    origins: ["${APP}/", "app.example.com"]
    max_age: -1
    credentials: true
`,
    );
    const test = createTestAegis({ plugins: PLUGINS, profiles: yaml, env: UPSTREAM_ENV });
    const error = await createGateway(test.aegis, { accessLog: false, defaultMetrics: false }).catch((e: unknown) => e);
    test.close();
    expect(ConfigurationError.isInstance(error)).toBe(true);
    const message = (error as Error).message;
    expect(message).toMatch(
      /backends\.yaml:24:15: field "gateway\.cors\.origins\[0\]": expected an origin such as "https:\/\/app\.example\.com" \(scheme:\/\/host\[:port\], no path, no trailing "\/"; for any origin write origins: "\*"\), got a string "https:\/\/app\.example\.com\/"/,
    );
    expect(message).toMatch(/backends\.yaml:24:43: field "gateway\.cors\.origins\[1\]": expected an origin such as .*, got a string "app\.example\.com"/);
    expect(message).toMatch(/backends\.yaml:25:5: field "gateway\.cors\.max_age": expected a number at least 0, got the number -1/);
    expect(message).toMatch(/backends\.yaml:26:5: field "gateway\.cors\.credentials": unknown field "credentials"/);

    const missing = createTestAegis({ plugins: PLUGINS, profiles: backendsYaml(backends, 'gateway:\n  cors:\n    max_age: 60\n'), env: UPSTREAM_ENV });
    const second = ((await createGateway(missing.aegis, { accessLog: false, defaultMetrics: false }).catch((e: unknown) => e)) as Error).message;
    missing.close();
    expect(second).toMatch(/backends\.yaml:\d+:\d+: field "gateway\.cors\.origins": missing required field/);
  });
});
