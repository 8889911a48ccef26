/** Tool calls and thinking in the Ollama and KoboldCpp emulators: the wire each backend writes. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { defaultReplyText, startKoboldCppEmulator, startOllamaEmulator, startOpenAIEmulator, startVllmEmulator, type Emulator, type ScriptedReply } from './index.js';
import { fixture, fixtureJson, postJson, readAll, sseData, sseEvents } from './__tests__/helpers.js';

const TOOLS = fixtureJson('ollama/chat.tools.request.json').tools;
const ANSWER = 'It is 18 degrees in Tokyo and 12 in Paris.';
const TWO_CALLS: ScriptedReply = {
  afterToolResults: { text: ANSWER },
  toolCalls: [
    { name: 'get_weather', arguments: { city: 'Tokyo' } },
    { name: 'get_weather', arguments: { city: 'Paris' } },
  ],
};
const lines = (text: string): any[] => text.trim().split('\n').map((l) => JSON.parse(l));

describe('ollama emulator: tools and thinking', () => {
  let emu: Emulator;
  let old: Emulator;
  beforeAll(async () => {
    emu = await startOllamaEmulator();
    old = await startOllamaEmulator({ version: '0.12.5' });
  });
  afterAll(async () => {
    await Promise.all([emu.close(), old.close()]);
  });
  afterEach(() => {
    emu.setReply({});
    old.setReply({});
  });

  const ask = (e: Emulator, extra: Record<string, unknown> = {}) =>
    postJson(`${e.url}/api/chat`, { model: 'llama3.2', messages: [{ role: 'user', content: 'weather?' }], tools: TOOLS, ...extra });

  it('answers whole calls with arguments as objects, index and id (0.12.10), content "" and done_reason "stop"', async () => {
    emu.setReply(TWO_CALLS);
    const body: any = await (await ask(emu, { stream: false })).json();
    expect(body.message.content).toBe('');
    expect(body.done_reason).toBe('stop');
    expect(body.message.tool_calls).toEqual([
      { id: expect.stringMatching(/^call_[a-z0-9]{8}$/), function: { index: 0, name: 'get_weather', arguments: { city: 'Tokyo' } } },
      { id: expect.stringMatching(/^call_[a-z0-9]{8}$/), function: { index: 1, name: 'get_weather', arguments: { city: 'Paris' } } },
    ]);
  });

  it('streams each call whole in its own line before the done line', async () => {
    emu.setReply(TWO_CALLS);
    const objs = lines(await (await ask(emu)).text());
    expect(objs).toHaveLength(3);
    expect(objs[0].message.tool_calls).toHaveLength(1);
    expect(objs[0].message.tool_calls[0].function).toEqual({ index: 0, name: 'get_weather', arguments: { city: 'Tokyo' } });
    expect(objs[1].message.tool_calls[0].function.arguments).toEqual({ city: 'Paris' });
    expect(objs[2]).toMatchObject({ done: true, done_reason: 'stop', message: { content: '' } });
  });

  it('an older server (before 0.12.6) sends neither ids nor index, as in the docs example', async () => {
    old.setReply({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Tokyo' } }] });
    const objs = lines(await (await ask(old)).text());
    const [docs] = lines(fixture('ollama/chat.tools.stream.ndjson'));
    expect(objs[0].message).toEqual(docs.message);
    expect(await (await fetch(`${old.url}/api/version`)).json()).toEqual({ version: '0.12.5' });
  });

  it('answers in text without tools in the request, or once the last message is a tool result', async () => {
    emu.setReply({ ...TWO_CALLS, text: 'Let me look.' });
    const plain: any = await (await postJson(`${emu.url}/api/chat`, { model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }], stream: false })).json();
    expect(plain.message).toEqual({ role: 'assistant', content: 'Let me look.' });
    const withText: any = await (await ask(emu, { stream: false })).json();
    expect(withText.message).toMatchObject({ content: 'Let me look.', tool_calls: [{ function: { name: 'get_weather' } }, { function: { name: 'get_weather' } }] });
    const after: any = await (
      await ask(emu, { stream: false, messages: [{ role: 'user', content: 'weather?' }, { role: 'tool', tool_name: 'get_weather', content: '18' }] })
    ).json();
    expect(after.message.content).toBe(ANSWER);
    expect(after.message.tool_calls).toBeUndefined();
  });

  it('sends thinking first with content "", then the content; think: false switches it off', async () => {
    emu.setReply({ reasoning: 'Let me count the r letters.', chunks: ['Three', '.'] });
    const objs = lines(await (await postJson(`${emu.url}/api/chat`, { model: 'qwen3', messages: [{ role: 'user', content: 'r?' }], think: true })).text());
    const thinking = objs.filter((o) => o.message.thinking !== undefined);
    expect(thinking.map((o) => o.message.thinking).join('')).toBe('Let me count the r letters.');
    expect(thinking.every((o) => o.message.content === '')).toBe(true);
    expect(objs.indexOf(thinking[thinking.length - 1])).toBe(thinking.length - 1);
    expect(objs.slice(thinking.length, -1).map((o) => o.message.content)).toEqual(['Three', '.']);
    const whole: any = await (await postJson(`${emu.url}/api/chat`, { model: 'qwen3', messages: [{ role: 'user', content: 'r?' }], stream: false })).json();
    expect(whole.message).toEqual({ role: 'assistant', content: 'Three.', thinking: 'Let me count the r letters.' });
    const off: any = await (await postJson(`${emu.url}/api/chat`, { model: 'qwen3', messages: [{ role: 'user', content: 'r?' }], stream: false, think: false })).json();
    expect(off.message.thinking).toBeUndefined();
  });

  it('fault invalid-tool-arguments: the arguments arrive as broken JSON text', async () => {
    emu.setReply(TWO_CALLS);
    emu.failNext({ kind: 'invalid-tool-arguments' });
    const body: any = await (await ask(emu, { stream: false })).json();
    expect(body.message.tool_calls[0].function.arguments).toBe('{"city":');
    expect(body.message.tool_calls[1].function.arguments).toEqual({ city: 'Paris' });
  });

  it('fault cut-in-tool-call: the stream breaks off in the middle of the first call', async () => {
    emu.setReply({ reasoning: 'hm', toolCalls: TWO_CALLS.toolCalls });
    emu.failNext({ kind: 'cut-in-tool-call', reset: true });
    const { text, error } = await readAll(await ask(emu));
    expect(error).toBeDefined();
    // Without reset, the same bytes and a clean end.
    emu.failNext({ kind: 'cut-in-tool-call' });
    const clean = await readAll(await ask(emu));
    expect(clean.error).toBeUndefined();
    expect(clean.text.split('\n').map((l) => l.replace(/"created_at":"[^"]*"|call_[a-z0-9]{8}/g, ''))).toEqual(
      text.split('\n').map((l) => l.replace(/"created_at":"[^"]*"|call_[a-z0-9]{8}/g, '')),
    );
    const [first, cut] = text.split('\n');
    expect(JSON.parse(first!).message.thinking).toBe('hm');
    expect(cut).toMatch(/"tool_calls":\[\{"id":"call_[a-z0-9]{8}","function":\{"index":0,"name":"get_weather","arguments":\{"[^}]*$/);
    expect(() => JSON.parse(cut!)).toThrow();
  });
});

describe('koboldcpp emulator: tool calls on /v1/chat/completions', () => {
  let emu: Emulator;
  beforeAll(async () => {
    emu = await startKoboldCppEmulator();
  });
  afterAll(() => emu.close());
  afterEach(() => {
    emu.setReply({});
    emu.reset();
  });

  const ask = (extra: Record<string, unknown> = {}) =>
    postJson(`${emu.url}/v1/chat/completions`, { model: 'koboldcpp', messages: [{ role: 'user', content: 'weather?' }], tools: TOOLS, ...extra });

  it('answers like koboldcpp.py: ids call_ + 5 digits, json.dumps arguments, content null, finish_reason tool_calls', async () => {
    emu.setReply(TWO_CALLS);
    const res = await ask();
    const raw = await res.text();
    const body = JSON.parse(raw);
    expect(Object.keys(body)).toEqual(Object.keys(fixtureJson('koboldcpp/chat.completions.tools.response.json')));
    expect(raw).toContain('"arguments": "{\\"city\\": \\"Tokyo\\"}"');
    expect(body.choices[0]).toMatchObject({ finish_reason: 'tool_calls', message: { role: 'assistant', content: null } });
    expect(body.choices[0].message.tool_calls.map((c: any) => [c.id, c.type, c.function.name])).toEqual([
      [expect.stringMatching(/^call_\d{5}$/), 'function', 'get_weather'],
      [expect.stringMatching(/^call_\d{5}$/), 'function', 'get_weather'],
    ]);
  });

  it('simulates the stream: role chunk, per call a header and one whole-arguments chunk, finish, [DONE]', async () => {
    emu.setReply(TWO_CALLS);
    const text = await (await ask({ stream: true })).text();
    expect(sseEvents(text).pop()).toBe('data: [DONE]');
    const chunks = sseData(text);
    const deltas = chunks.map((c) => c.choices[0].delta);
    expect(deltas[0]).toEqual({ role: 'assistant' });
    expect(deltas[1].tool_calls[0]).toMatchObject({ index: 0, id: expect.stringMatching(/^call_\d{5}$/), type: 'function', function: { name: 'get_weather', arguments: '' } });
    expect(deltas[2].tool_calls[0]).toEqual({ index: 0, function: { arguments: '{"city": "Tokyo"}' } });
    expect(deltas[3].tool_calls[0]).toMatchObject({ index: 1, function: { name: 'get_weather', arguments: '' } });
    expect(deltas[4].tool_calls[0]).toEqual({ index: 1, function: { arguments: '{"city": "Paris"}' } });
    expect(chunks[5].choices[0]).toMatchObject({ finish_reason: 'tool_calls', delta: {} });
  });

  it('sends nothing until "generation" has ended, then every chunk at once', async () => {
    const slow = await startKoboldCppEmulator({ chunkDelayMs: 30, reply: TWO_CALLS });
    try {
      const started = Date.now();
      const res = await postJson(`${slow.url}/v1/chat/completions`, { messages: [{ role: 'user', content: 'w?' }], tools: TOOLS, stream: true });
      // The headers came only after the hold (30 ms for each of the 14 estimated tokens: a timer never fires that much early).
      expect(Date.now() - started).toBeGreaterThanOrEqual(400);
      // The body is then already complete.
      const reader = res.body!.getReader();
      const first = await reader.read();
      expect(new TextDecoder().decode(first.value)).toContain('data: [DONE]');
    } finally {
      await slow.close();
    }
  });

  it('answers in text with tool_choice "none" and after the tool results', async () => {
    emu.setReply(TWO_CALLS);
    const none: any = await (await ask({ tool_choice: 'none' })).json();
    expect(none.choices[0].message.content).toBe(defaultReplyText('KoboldCpp'));
    const after: any = await (await ask({ messages: [{ role: 'user', content: 'w?' }, { role: 'tool', tool_call_id: 'call_1', content: '18' }] })).json();
    expect(after.choices[0]).toMatchObject({ finish_reason: 'stop', message: { content: ANSWER, tool_calls: [] } });
  });

  it('fault cut-in-tool-call: the stream stops inside the first arguments chunk', async () => {
    emu.setReply(TWO_CALLS);
    emu.failNext({ kind: 'cut-in-tool-call', reset: true });
    const { text, error } = await readAll(await ask({ stream: true }));
    expect(error).toBeDefined();
    expect(text).not.toContain('[DONE]');
    expect(sseEvents(text)).toHaveLength(3);
  });
});

describe('openai and vllm emulators: answers that are only calls', () => {
  let openai: Emulator;
  let vllm: Emulator;
  beforeAll(async () => {
    [openai, vllm] = await Promise.all([startOpenAIEmulator({ apiKey: 'sk-test' }), startVllmEmulator()]);
    for (const e of [openai, vllm]) e.setReply({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Tokyo' } }] });
  });
  afterAll(async () => {
    await Promise.all([openai.close(), vllm.close()]);
  });
  const tools = [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } }];
  const ask = (e: Emulator, extra: Record<string, unknown>) =>
    postJson(`${e.baseUrl}/chat/completions`, { model: 'm', messages: [{ role: 'user', content: 'weather?' }], tools, ...extra }, { authorization: 'Bearer sk-test' });

  it('OpenAI opens the stream with "content": null, as its recorded tool stream does', async () => {
    const first = sseData(await (await ask(openai, { stream: true })).text())[0];
    expect(first.choices[0].delta).toEqual({ role: 'assistant', content: null });
    expect(fixture('openai/chat.completions.tools.stream.sse.txt')).toContain('"delta":{"role":"assistant","content":null}');
  });

  it('vLLM answers content null with tool_choice auto, "" when a call is forced (required or named), as its serving code does', async () => {
    expect((await (await ask(vllm, {})).json()).choices[0].message.content).toBeNull();
    expect((await (await ask(vllm, { tool_choice: 'required' })).json()).choices[0].message.content).toBe('');
    const named = await (await ask(vllm, { tool_choice: { type: 'function', function: { name: 'get_weather' } } })).json();
    expect(named.choices[0].message.content).toBe('');
  });
});
