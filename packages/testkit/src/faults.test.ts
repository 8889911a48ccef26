import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import {
  startKoboldCppEmulator,
  startOllamaEmulator,
  startOpenAIEmulator,
  startVllmEmulator,
  type Emulator,
} from './index.js';
import { postJson, readAll, sseData, sseEvents } from './__tests__/helpers.js';

const chat = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };
const stream = { ...chat, stream: true };

let openai: Emulator;
let chatUrl: string;

beforeAll(async () => {
  openai = await startOpenAIEmulator();
  chatUrl = `${openai.baseUrl}/chat/completions`;
});
afterAll(() => openai.close());
afterEach(() => {
  openai.reset();
  openai.setReply({});
});

describe('faults meant for some requests', () => {
  it('with match, only a request it accepts takes the fault; the others are answered as usual', async () => {
    const wanted = { ...chat, messages: [{ role: 'user', content: 'the call under test' }] };
    openai.failNext({ kind: 'status', status: 503 }, 1, (request) => request.body.includes('call under test'));
    expect((await postJson(chatUrl, chat)).status).toBe(200);
    expect((await postJson(chatUrl, wanted)).status).toBe(503);
    expect((await postJson(chatUrl, wanted)).status).toBe(200);
  });
});

describe('status faults', () => {
  it('sends the backend error body for the status, with Retry-After and extra headers', async () => {
    openai.failNext({ kind: 'status', status: 429, retryAfter: '2', headers: { 'x-ratelimit-remaining-requests': '0' } });
    const res = await postJson(chatUrl, chat);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(res.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    const body = await res.json();
    expect(Object.keys(body.error)).toEqual(['message', 'type', 'param', 'code']);
    expect(body.error.code).toBe('rate_limit_exceeded');
    // then normal again
    expect((await postJson(chatUrl, chat)).status).toBe(200);
  });

  it('sends a custom body as JSON or text', async () => {
    openai.failNext({ kind: 'status', status: 500, body: { oops: true } });
    openai.failNext({ kind: 'status', status: 502, body: '<html>bad gateway</html>' });
    const a = await postJson(chatUrl, chat);
    expect([a.status, await a.json()]).toEqual([500, { oops: true }]);
    const b = await postJson(chatUrl, chat);
    expect(b.status).toBe(502);
    expect(b.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await b.text()).toBe('<html>bad gateway</html>');
  });

  it('uses each backend own error shape', async () => {
    const vllm = await startVllmEmulator();
    const ollama = await startOllamaEmulator();
    const kobold = await startKoboldCppEmulator();
    try {
      vllm.failNext({ kind: 'status', status: 401 });
      vllm.failNext({ kind: 'status', status: 500 });
      expect(await (await postJson(`${vllm.baseUrl}/chat/completions`, chat)).text()).toBe('{"error":"Unauthorized"}');
      expect(await (await postJson(`${vllm.baseUrl}/chat/completions`, chat)).json()).toEqual({
        error: { message: 'Internal server error', type: 'InternalServerError', param: null, code: 500 },
      });
      ollama.failNext({ kind: 'status', status: 500 });
      expect(await (await postJson(`${ollama.url}/api/chat`, chat)).json()).toEqual({ error: 'the model failed to generate a response' });
      kobold.failNext({ kind: 'status', status: 503 });
      const k = await postJson(`${kobold.url}/api/v1/generate`, { prompt: 'x' });
      expect(k.status).toBe(503);
      expect(await k.text()).toBe('{"detail": {"msg": "Server is busy; please try again later.", "type": "service_unavailable"}}');
    } finally {
      await Promise.all([vllm.close(), ollama.close(), kobold.close()]);
    }
  });
});

describe('connection faults', () => {
  it('reset: destroys the socket before any response byte', async () => {
    openai.failNext({ kind: 'reset' });
    await expect(postJson(chatUrl, chat)).rejects.toThrow();
    expect(openai.requests).toHaveLength(1);
    expect((await postJson(chatUrl, chat)).status).toBe(200);
  });

  it('reset-mid-stream: sends headers and some chunks, then drops the connection', async () => {
    openai.failNext({ kind: 'reset-mid-stream', afterChunks: 2 });
    const res = await postJson(chatUrl, stream);
    expect(res.status).toBe(200);
    const { text, error } = await readAll(res);
    expect(error).toBeDefined();
    expect(sseEvents(text)).toHaveLength(2);
    expect(text).not.toContain('[DONE]');
  });

  it('reset-mid-stream on a non-stream request breaks the body', async () => {
    openai.failNext({ kind: 'reset-mid-stream' });
    const res = await postJson(chatUrl, chat);
    const { error } = await readAll(res);
    expect(error).toBeDefined();
  });

  it('hang: never answers until the client gives up', async () => {
    openai.failNext({ kind: 'hang' });
    await expect(fetch(chatUrl, { method: 'POST', body: JSON.stringify(chat), signal: AbortSignal.timeout(150) })).rejects.toThrow();
    expect((await postJson(chatUrl, chat)).status).toBe(200);
  });

  it('close() releases hanging requests and open streams', async () => {
    const emu = await startOpenAIEmulator({ chunkDelayMs: 50 });
    emu.failNext({ kind: 'hang' });
    const hanging = postJson(`${emu.baseUrl}/chat/completions`, chat);
    const streaming = postJson(`${emu.baseUrl}/chat/completions`, stream).then((r) => readAll(r));
    while (emu.requests.length < 2) await new Promise((r) => setTimeout(r, 5));
    // Without the release, close() would wait for the hanging request forever (the test's timeout).
    await emu.close();
    await expect(hanging).rejects.toThrow();
    expect((await streaming).error).toBeDefined();
  });
});

describe('stream faults', () => {
  it('truncate: ends cleanly without the end marker', async () => {
    openai.failNext({ kind: 'truncate' });
    const { text, error } = await readAll(await postJson(chatUrl, stream));
    expect(error).toBeUndefined();
    expect(text).not.toContain('[DONE]');
    const chunks = sseData(text);
    expect(chunks.length).toBeGreaterThan(2);
    expect(chunks.every((c) => c.choices[0].finish_reason === null)).toBe(true);
    openai.failNext({ kind: 'truncate', afterChunks: 1 });
    expect(sseEvents(await (await postJson(chatUrl, stream)).text())).toHaveLength(1);
  });

  it('truncate on ollama drops the done line', async () => {
    const emu = await startOllamaEmulator();
    try {
      emu.failNext({ kind: 'truncate' });
      const text = await (await postJson(`${emu.url}/api/chat`, chat)).text();
      const lines = text.trim().split('\n').map((l) => JSON.parse(l));
      expect(lines.length).toBeGreaterThan(0);
      expect(lines.every((l) => l.done === false)).toBe(true);
    } finally {
      await emu.close();
    }
  });

  it('malformed-json: broken body, or one broken event in a stream', async () => {
    openai.failNext({ kind: 'malformed-json' });
    const res = await postJson(chatUrl, chat);
    expect(res.status).toBe(200);
    await expect(res.json()).rejects.toThrow();
    openai.failNext({ kind: 'malformed-json' });
    const text = await (await postJson(chatUrl, stream)).text();
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
    const bad = sseEvents(text).filter((e) => {
      try {
        JSON.parse(e.slice(6));
        return false;
      } catch {
        return e !== 'data: [DONE]';
      }
    });
    expect(bad).toHaveLength(1);
  });

  it('wrong-shape: valid JSON that is not the backend shape', async () => {
    openai.failNext({ kind: 'wrong-shape' });
    const body = await (await postJson(chatUrl, chat)).json();
    expect(body.choices).toBeUndefined();
    openai.failNext({ kind: 'wrong-shape' });
    const chunks = sseData(await (await postJson(chatUrl, stream)).text());
    expect(chunks).toHaveLength(1);
    expect(chunks[0].choices).toBeUndefined();
  });

  it('stream-error: OpenAI error event', async () => {
    openai.failNext({ kind: 'stream-error', message: 'boom' });
    const res = await postJson(chatUrl, stream);
    expect(res.status).toBe(200);
    const events = sseEvents(await res.text());
    expect(JSON.parse(events[events.length - 1]!.slice(6))).toEqual({ error: { message: 'boom', type: 'server_error', param: null, code: null } });
    openai.failNext({ kind: 'stream-error' });
    expect((await postJson(chatUrl, chat)).status).toBe(500);
  });

  it('stream-error: vLLM error event (json.dumps spacing) then [DONE]', async () => {
    const emu = await startVllmEmulator();
    try {
      emu.failNext({ kind: 'stream-error', message: 'Internal server error' });
      const text = await (await postJson(`${emu.baseUrl}/chat/completions`, stream)).text();
      expect(text.endsWith(
        'data: {"error": {"message": "Internal server error", "type": "InternalServerError", "param": null, "code": 500}}\n\ndata: [DONE]\n\n',
      )).toBe(true);
    } finally {
      await emu.close();
    }
  });
});

describe('timing and size faults', () => {
  it('drip: the normal answer one byte at a time', async () => {
    openai.failNext({ kind: 'drip', intervalMs: 1 });
    const res = await fetch(`${openai.baseUrl}/models`);
    const reader = res.body!.getReader();
    let reads = 0;
    const parts: Uint8Array[] = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      reads++;
      parts.push(value);
    }
    const normal = await (await fetch(`${openai.baseUrl}/models`)).text();
    expect(Buffer.concat(parts).toString()).toBe(normal);
    expect(reads).toBeGreaterThan(10);
  });

  it('delay: waits before answering normally', async () => {
    openai.failNext({ kind: 'delay', ms: 150 });
    const t0 = Date.now();
    const res = await postJson(chatUrl, chat);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);
    expect(res.status).toBe(200);
  });

  it('oversized: a huge 200 body, streamed or not', async () => {
    openai.failNext({ kind: 'oversized', bytes: 3_000_000 });
    const res = await postJson(chatUrl, chat);
    expect(res.status).toBe(200);
    expect((await res.arrayBuffer()).byteLength).toBeGreaterThanOrEqual(3_000_000);
    openai.failNext({ kind: 'oversized', bytes: 1_000_000 });
    const s = await (await postJson(chatUrl, stream)).text();
    expect(s.length).toBeGreaterThanOrEqual(1_000_000);
    openai.failNext({ kind: 'oversized', bytes: 500_000 });
    expect((await (await fetch(`${openai.baseUrl}/models`)).arrayBuffer()).byteLength).toBe(500_000);
  });

  it('chunkDelayMs spaces stream frames', async () => {
    const emu = await startOpenAIEmulator({ chunkDelayMs: 20, reply: { chunks: ['a', 'b', 'c', 'd'] } });
    try {
      const t0 = Date.now();
      const res = await postJson(`${emu.baseUrl}/chat/completions`, stream);
      const reader = res.body!.getReader();
      await reader.read();
      const firstByte = Date.now() - t0;
      while (!(await reader.read()).done);
      const total = Date.now() - t0;
      expect(total).toBeGreaterThanOrEqual(100); // 7 frames, 6 pauses
      expect(firstByte).toBeLessThan(total);
    } finally {
      await emu.close();
    }
  });
});

describe('fault queue', () => {
  it('applies a fault `times` times, then answers normally; reset() clears it', async () => {
    openai.failNext({ kind: 'status', status: 503 }, 2);
    expect((await postJson(chatUrl, chat)).status).toBe(503);
    expect((await postJson(chatUrl, chat)).status).toBe(503);
    expect((await postJson(chatUrl, chat)).status).toBe(200);
    openai.failNext({ kind: 'status', status: 503 }, 3);
    openai.reset();
    expect(openai.requests).toHaveLength(0);
    expect((await postJson(chatUrl, chat)).status).toBe(200);
    expect(openai.requests).toHaveLength(1);
  });
});
