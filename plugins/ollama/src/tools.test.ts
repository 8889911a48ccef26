/**
 * Tool calling and thinking on Ollama's /api/chat: the recorded bodies served
 * as they are (docs/api.md examples), then the emulator for what the docs do
 * not show (ids, two calls, faults).
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { InvalidToolArgumentsError, ProviderError, type BackendProvider, type ChatMessage, type StreamEvent, type ToolDefinition } from '@aegis/core';
import { createTestAegis, rejection, startOllamaEmulator, type Emulator, type TestAegis } from '@aegis/testkit';
import plugin from './index.js';

const fixture = (name: string): string => readFileSync(new URL(`../../../packages/testkit/fixtures/ollama/${name}`, import.meta.url), 'utf8');
const fixtureJson = (name: string): any => JSON.parse(fixture(name));

const TOOLS_REQUEST = fixtureJson('chat.tools.request.json');
const WEATHER: ToolDefinition = {
  name: TOOLS_REQUEST.tools[0].function.name,
  description: TOOLS_REQUEST.tools[0].function.description,
  parameters: TOOLS_REQUEST.tools[0].function.parameters,
};
const TIME: ToolDefinition = { name: 'get_time', description: 'The local time in a city', parameters: { type: 'object', properties: { city: { type: 'string' } } } };
const ASK: ChatMessage[] = [{ role: 'user', content: TOOLS_REQUEST.messages[0].content }];

/** A loopback server that answers every POST with a recorded body, and keeps the requests. */
async function fixtureServer(): Promise<{
  url: string;
  bodies: any[];
  answer(name: string): void;
  answerText(text: string, type: string): void;
  close(): Promise<void>;
}> {
  let current = { text: '', type: 'application/json' };
  const bodies: any[] = [];
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      bodies.push(JSON.parse(Buffer.concat(parts).toString('utf8')));
      res.writeHead(200, { 'content-type': current.type });
      res.end(current.text);
    });
  });
  // Idle kept-alive connections stay open (a request reusing one as Node's 5 s keep-alive timeout closes it meets a reset: suites/README.md, "Timing").
  server.keepAliveTimeout = 0;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    bodies,
    answer: (name) => (current = { text: fixture(name), type: name.endsWith('.ndjson') ? 'application/x-ndjson' : 'application/json' }),
    answerText: (text, type) => (current = { text, type }),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function events(stream: AsyncIterable<StreamEvent> | { events(): AsyncIterable<StreamEvent> }): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for await (const event of 'events' in stream ? stream.events() : stream) out.push(event);
  return out;
}

let recorded: Awaited<ReturnType<typeof fixtureServer>>;
let emulator: Emulator;
let old: Emulator;
let test: TestAegis;
let docs: BackendProvider;
let ollama: BackendProvider;
let older: BackendProvider;

beforeAll(async () => {
  recorded = await fixtureServer();
  emulator = await startOllamaEmulator();
  old = await startOllamaEmulator({ version: '0.12.5' });
  test = createTestAegis({
    plugins: [plugin],
    profiles: [
      { profile_name: 'docs', type: 'ollama', base_url: recorded.url, model: 'llama3.2', max_retries: 0 },
      { profile_name: 'ollama', type: 'ollama', base_url: emulator.url, model: 'qwen3', max_retries: 0 },
      { profile_name: 'older', type: 'ollama', base_url: old.url, model: 'llama3.2', max_retries: 0 },
    ],
  });
  [docs, ollama, older] = await Promise.all([test.provider('docs'), test.provider('ollama'), test.provider('older')]);
});
afterAll(async () => {
  test.close();
  await Promise.all([recorded.close(), emulator.close(), old.close()]);
});
beforeEach(() => {
  recorded.bodies.length = 0;
  emulator.reset();
  emulator.setReply({});
  old.reset();
  old.setReply({});
});

describe('the docs examples', () => {
  it('declares tools and reasoning', () => {
    expect(plugin.capabilities).toEqual(expect.arrayContaining(['tools', 'reasoning']));
  });

  it('sends the tools as docs/api.md shows them, and reads the call (arguments an object, no id) with a generated id', async () => {
    recorded.answer('chat.tools.response.json');
    const result = await docs.getCompletion(ASK, { tools: [WEATHER] });
    expect(recorded.bodies[0]).toEqual(TOOLS_REQUEST);
    expect(result).toMatchObject({
      text: '',
      finishReason: 'tool_calls',
      rawFinishReason: 'stop',
      toolCalls: [{ id: expect.stringMatching(/^call_\w+$/), name: 'get_weather', arguments: { city: 'Tokyo' } }],
      usage: { promptTokens: 169, completionTokens: 18 },
    });
  });

  it('streams the same: the call whole in one line, then the done line', async () => {
    recorded.answer('chat.tools.stream.ndjson');
    const stream = docs.streamCompletion(ASK, { tools: [WEATHER] });
    const seen = await events(stream);
    expect(recorded.bodies[0]).toEqual(fixtureJson('chat.tools.stream.request.json'));
    const call = seen.find((e) => e.type === 'tool-call');
    expect(call).toMatchObject({ type: 'tool-call', index: 0, toolCall: { name: 'get_weather', arguments: { city: 'Tokyo' } } });
    expect(seen[seen.length - 1]).toMatchObject({ type: 'finish', finishReason: 'tool_calls' });
    const result = await stream.result;
    expect(result).toMatchObject({ text: '', finishReason: 'tool_calls', toolCalls: [{ name: 'get_weather', arguments: { city: 'Tokyo' } }] });
    expect(result.toolCalls![0]!.id).toBe((call as Extract<StreamEvent, { type: 'tool-call' }>).toolCall.id);
  });

  it('sends a tool result back as the docs show it: the assistant tool_calls turn, then role tool with tool_name', async () => {
    recorded.answer('chat.response.json');
    const expected = fixtureJson('chat.tool-result.request.json');
    const messages: ChatMessage[] = [
      { role: 'user', content: expected.messages[0].content },
      { role: 'assistant', content: '', toolCalls: [{ id: 'call_k3x9a0zq', name: 'get_temperature', arguments: { city: 'New York' } }] },
      // No name: the plugin finds it from the call this result answers.
      { role: 'tool', toolCallId: 'call_k3x9a0zq', content: '22°C' },
    ];
    await docs.getCompletion(messages);
    const sent = recorded.bodies[0].messages;
    expect(sent[1]).toEqual({ role: 'assistant', content: '', tool_calls: [{ id: 'call_k3x9a0zq', ...expected.messages[1].tool_calls[0] }] });
    expect(sent[2]).toEqual({ ...expected.messages[2], tool_call_id: 'call_k3x9a0zq' });
  });

  it('reads thinking: message.thinking, and in a stream the thinking chunks first', async () => {
    recorded.answer('chat.think.response.json');
    const whole = await docs.getCompletion([{ role: 'user', content: 'How many letter r are in strawberry?' }], { reasoning: true });
    expect(recorded.bodies[0]).toMatchObject({ think: true });
    const body = fixtureJson('chat.think.response.json');
    expect(whole).toMatchObject({ text: body.message.content, reasoning: body.message.thinking, finishReason: 'stop' });

    recorded.answer('chat.think.stream.ndjson');
    const stream = docs.streamCompletion([{ role: 'user', content: 'r?' }], { reasoning: true });
    const seen = await events(stream);
    const reasoning = seen.filter((e) => e.type === 'reasoning-delta').map((e) => (e as { text: string }).text);
    expect(reasoning).toEqual(['Okay', ',', ' the', ' user']);
    const firstText = seen.findIndex((e) => e.type === 'text-delta');
    expect(seen.slice(0, firstText).every((e) => e.type === 'reasoning-delta')).toBe(true);
    expect(await stream.result).toMatchObject({ text: 'There are **3**', reasoning: 'Okay, the user' });
  });

  it('an empty message.thinking is no reasoning, as in a stream', async () => {
    recorded.answerText(JSON.stringify({ model: 'llama3.2', message: { role: 'assistant', content: 'Three.', thinking: '' }, done: true, done_reason: 'stop' }), 'application/json');
    const result = await docs.getCompletion(ASK, { reasoning: false });
    expect(result.text).toBe('Three.');
    expect(result).not.toHaveProperty('reasoning');
  });
});

describe('against the emulator', () => {
  const TWO = {
    afterToolResults: { text: 'Tokyo: 18 degrees, 9 pm.' },
    toolCalls: [
      { name: 'get_weather', arguments: { city: 'Tokyo' } },
      { name: 'get_time', arguments: { city: 'Tokyo' } },
    ],
  };

  it('two calls with the server ids (v0.12.10), streamed and not, give the same result', async () => {
    emulator.setReply(TWO);
    const whole = await ollama.getCompletion(ASK, { tools: [WEATHER, TIME] });
    expect(whole.toolCalls).toEqual([
      { id: expect.stringMatching(/^call_[a-z0-9]{8}$/), name: 'get_weather', arguments: { city: 'Tokyo' } },
      { id: expect.stringMatching(/^call_[a-z0-9]{8}$/), name: 'get_time', arguments: { city: 'Tokyo' } },
    ]);
    const stream = ollama.streamCompletion(ASK, { tools: [WEATHER, TIME] });
    const seen = await events(stream);
    const streamed = await stream.result;
    const strip = (r: typeof whole) => ({ ...r, toolCalls: r.toolCalls!.map(({ id: _id, ...rest }) => rest) });
    expect(strip(streamed)).toEqual(strip(whole));
    expect(seen.filter((e) => e.type === 'tool-call').map((e) => (e as any).index)).toEqual([0, 1]);
    expect(streamed.toolCalls!.map((c) => c.id)).toEqual(seen.filter((e) => e.type === 'tool-call').map((e) => (e as any).toolCall.id));
  });

  it('the whole loop: calls, results with tool_name and tool_call_id, then the answer', async () => {
    emulator.setReply(TWO);
    const first = await ollama.getCompletion(ASK, { tools: [WEATHER, TIME] });
    const messages: ChatMessage[] = [
      ...ASK,
      { role: 'assistant', content: first.text, toolCalls: first.toolCalls },
      ...first.toolCalls!.map((c): ChatMessage => ({ role: 'tool', toolCallId: c.id, content: '{"ok":true}' })),
    ];
    const answer = await ollama.getCompletion(messages, { tools: [WEATHER, TIME] });
    expect(answer).toMatchObject({ text: TWO.afterToolResults.text, finishReason: 'stop' });
    expect(answer.toolCalls ?? []).toEqual([]);
    const sent = emulator.lastRequest!.json.messages;
    expect(sent[1].tool_calls.map((c: any) => [c.id, c.function.name, c.function.arguments])).toEqual(
      first.toolCalls!.map((c) => [c.id, c.name, c.arguments]),
    );
    expect(sent.slice(2)).toEqual(first.toolCalls!.map((c) => ({ role: 'tool', content: '{"ok":true}', tool_name: c.name, tool_call_id: c.id })));
  });

  it('a server without ids: generated ids that stay the same when the calls are sent back', async () => {
    old.setReply(TWO);
    const stream = older.streamCompletion(ASK, { tools: [WEATHER, TIME] });
    await events(stream);
    const first = await stream.result;
    const ids = first.toolCalls!.map((c) => c.id);
    expect(new Set(ids).size).toBe(2);
    expect(old.lastRequest!.json.tools).toHaveLength(2);
    await older.getCompletion([
      ...ASK,
      { role: 'assistant', content: '', toolCalls: first.toolCalls },
      { role: 'tool', toolCallId: ids[1], content: '21:00' },
    ]);
    const sent = old.lastRequest!.json.messages;
    expect(sent[1].tool_calls.map((c: any) => c.id)).toEqual(ids);
    expect(sent[2]).toEqual({ role: 'tool', content: '21:00', tool_name: 'get_time', tool_call_id: ids[1] });
  });

  it('toolChoice: none sends no tools, a named tool only that tool, required all (Ollama cannot force a call)', async () => {
    await ollama.getCompletion(ASK, { tools: [WEATHER, TIME], toolChoice: 'none' });
    expect(emulator.lastRequest!.json.tools).toBeUndefined();
    await ollama.getCompletion(ASK, { tools: [WEATHER, TIME], toolChoice: { type: 'tool', name: 'get_time' } });
    expect(emulator.lastRequest!.json.tools.map((t: any) => t.function.name)).toEqual(['get_time']);
    await ollama.getCompletion(ASK, { tools: [WEATHER, TIME], toolChoice: 'required', parallelToolCalls: false });
    expect(emulator.lastRequest!.json.tools).toHaveLength(2);
    expect(emulator.lastRequest!.json).not.toHaveProperty('tool_choice');
  });

  it('reasoning: true/false/levels become think; the reasoning streams before the text', async () => {
    emulator.setReply({ reasoning: 'Count them: r, r, r.', chunks: ['Three', '.'] });
    const stream = ollama.streamCompletion(ASK, { reasoning: 'high' });
    const seen = await events(stream);
    expect(emulator.lastRequest!.json.think).toBe('high');
    const kinds = seen.map((e) => e.type).filter((t, i, all) => t !== all[i - 1]);
    expect(kinds).toEqual(['reasoning-delta', 'text-delta', 'finish']);
    expect(await stream.result).toMatchObject({ text: 'Three.', reasoning: 'Count them: r, r, r.' });
    const off = await ollama.getCompletion(ASK, { reasoning: false });
    expect(emulator.lastRequest!.json.think).toBe(false);
    expect(off.reasoning).toBeUndefined();
  });

  it('arguments that are not JSON: InvalidToolArgumentsError with the raw text, streamed and not', async () => {
    emulator.setReply(TWO);
    emulator.failNext({ kind: 'invalid-tool-arguments' });
    const error = await rejection(ollama.getCompletion(ASK, { tools: [WEATHER, TIME] }));
    expect(InvalidToolArgumentsError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ toolName: 'get_weather', rawArguments: '{"city":' });
    emulator.failNext({ kind: 'invalid-tool-arguments' });
    const streamed = await rejection(events(ollama.streamCompletion(ASK, { tools: [WEATHER, TIME] })));
    expect(InvalidToolArgumentsError.isInstance(streamed)).toBe(true);
  });

  it('a stream cut inside a tool call is an error, never a partial answer', async () => {
    emulator.setReply({ reasoning: 'hm', toolCalls: TWO.toolCalls });
    emulator.failNext({ kind: 'cut-in-tool-call' });
    const stream = ollama.streamCompletion(ASK, { tools: [WEATHER, TIME] });
    const error = await rejection(events(stream));
    expect(ProviderError.isInstance(error)).toBe(true);
    await expect(stream.result).rejects.toBe(error);
  });

  it('a tool call with an empty name is a bad answer too, streamed', async () => {
    recorded.answerText(fixture('chat.tools.stream.ndjson').replace('"name":"get_weather"', '"name":""'), 'application/x-ndjson');
    const error = await rejection(events(docs.streamCompletion(ASK, { tools: [WEATHER] })));
    expect(error).toMatchObject({ reason: 'bad_response', url: recorded.url + '/api/chat' });
    expect((error as Error).message).toContain('tool call without a function name');
  });

  it('a streamed call without arguments has the arguments {} (a "{}" delta, never an empty one)', async () => {
    const line = (o: object) => JSON.stringify(o) + '\n';
    recorded.answerText(
      line({ model: 'llama3.2', message: { role: 'assistant', content: '', tool_calls: [{ function: { name: 'get_time' } }] }, done: false }) +
        line({ model: 'llama3.2', message: { role: 'assistant', content: '' }, done: true, done_reason: 'stop' }),
      'application/x-ndjson',
    );
    const stream = docs.streamCompletion(ASK, { tools: [TIME] });
    const seen = await events(stream);
    expect(seen.filter((e) => e.type === 'tool-call-delta').map((e) => (e as any).argumentsDelta)).toEqual(['{}']);
    expect((await stream.result).toolCalls).toEqual([{ id: expect.any(String), name: 'get_time', arguments: {} }]);
  });

  it('a tool result finds its tool name in the first message of the conversation', async () => {
    recorded.answer('chat.response.json');
    await docs.getCompletion([
      { role: 'assistant', content: '', toolCalls: [{ id: 'call_first01', name: 'get_time', arguments: { city: 'Oslo' } }] },
      { role: 'tool', toolCallId: 'call_first01', content: '09:00' },
    ]);
    expect(recorded.bodies[0].messages[1]).toEqual({ role: 'tool', content: '09:00', tool_name: 'get_time', tool_call_id: 'call_first01' });
  });

  it('a tool call without a name is a bad answer naming the URL', async () => {
    recorded.answerText(fixture('chat.tools.stream.ndjson').replace('"name":"get_weather",', ''), 'application/x-ndjson');
    const error = await rejection(events(docs.streamCompletion(ASK, { tools: [WEATHER] })));
    expect(error).toMatchObject({ reason: 'bad_response', url: recorded.url + '/api/chat' });
    expect((error as Error).message).toContain('tool call without a function name');
  });
});
