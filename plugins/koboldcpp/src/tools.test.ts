/**
 * Tool calls through KoboldCpp's /v1/chat/completions: the recorded bodies
 * (koboldcpp.py's tool answer and its simulated stream) served as they are,
 * then the emulator (two calls, the loop, faults).
 */
import { readFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { InvalidToolArgumentsError, ProviderError, type BackendProvider, type ChatMessage, type StreamEvent, type ToolDefinition } from '@aegis/core';
import { createTestAegis, rejection, startKoboldCppEmulator, type Emulator, type TestAegis } from '@aegis/testkit';
import plugin from './index.js';

const fixture = (name: string): string => readFileSync(new URL(`../../../packages/testkit/fixtures/koboldcpp/${name}`, import.meta.url), 'utf8');

const WEATHER: ToolDefinition = {
  name: 'get_current_weather',
  description: 'Get the current weather in a given location',
  parameters: {
    type: 'object',
    properties: { location: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
    required: ['location'],
  },
};
const TIME: ToolDefinition = { name: 'get_time', parameters: { type: 'object', properties: { location: { type: 'string' } } } };
const ASK: ChatMessage[] = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'What is the weather like in Boston?' },
];
const PASSWORD = 'kobold-tools-pass-91c2';

async function fixtureServer() {
  let current = { text: '', type: 'application/json' };
  const requests: { path: string; body: any; auth?: string }[] = [];
  const server: Server = createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => {
      requests.push({ path: req.url ?? '', body: JSON.parse(Buffer.concat(parts).toString('utf8') || 'null'), auth: req.headers.authorization });
      res.writeHead(200, { 'content-type': current.type });
      res.end(current.text);
    });
  });
  // Idle kept-alive connections stay open (a request reusing one as Node's 5 s keep-alive timeout closes it meets a reset: suites/README.md, "Timing").
  server.keepAliveTimeout = 0;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    answer: (text: string, type = 'application/json') => (current = { text, type }),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function events(stream: { events(): AsyncIterable<StreamEvent> }): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for await (const event of stream.events()) out.push(event);
  return out;
}

let recorded: Awaited<ReturnType<typeof fixtureServer>>;
let emulator: Emulator;
let test: TestAegis;
let docs: BackendProvider;
let kobold: BackendProvider;
let mirostat: BackendProvider;

beforeAll(async () => {
  recorded = await fixtureServer();
  emulator = await startKoboldCppEmulator({ apiKey: PASSWORD });
  test = createTestAegis({
    plugins: [plugin],
    profiles: [
      { profile_name: 'docs', type: 'koboldcpp', base_url: recorded.url, max_retries: 0, top_k: 40, stop_sequence: ['###'], sampler_seed: 11 },
      { profile_name: 'mirostat', type: 'koboldcpp', base_url: recorded.url, max_retries: 0, mirostat: 2, mirostat_tau: 4.5, mirostat_eta: 0.2, model: 'airoboros-l2-7b' },
      { profile_name: 'kobold', type: 'koboldcpp', base_url: emulator.url, password: PASSWORD, max_retries: 0, model: 'airoboros-l2-7b' },
    ],
  });
  [docs, kobold, mirostat] = await Promise.all([test.provider('docs'), test.provider('kobold'), test.provider('mirostat')]);
});
afterAll(async () => {
  test.close();
  await Promise.all([recorded.close(), emulator.close()]);
});
beforeEach(() => {
  recorded.requests.length = 0;
  emulator.reset();
  emulator.setReply({});
});

describe('koboldcpp.py answers', () => {
  it('declares tools (through the chat endpoint), not reasoning', () => {
    expect(plugin.capabilities).toContain('tools');
    expect(plugin.capabilities).not.toContain('reasoning');
  });

  it('a call with tools goes to /v1/chat/completions; the json.dumps arguments string is parsed', async () => {
    recorded.answer(fixture('chat.completions.tools.response.json'));
    const result = await docs.getCompletion(ASK, { tools: [WEATHER], toolChoice: 'auto', temperature: 0.2, maxTokens: 64 });
    expect(recorded.requests[0]!.path).toBe('/v1/chat/completions');
    const body = recorded.requests[0]!.body;
    expect(body).toMatchObject({
      model: 'koboldcpp',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'What is the weather like in Boston?' },
      ],
      tools: [{ type: 'function', function: { name: WEATHER.name, description: WEATHER.description, parameters: WEATHER.parameters } }],
      tool_choice: 'auto',
      max_tokens: 64,
      temperature: 0.2,
      top_k: 40,
      stop: ['###'],
      genkey: expect.stringMatching(/^aegis-/),
    });
    expect(body).not.toHaveProperty('stream');
    expect(body).not.toHaveProperty('prompt');
    expect(result).toMatchObject({
      text: '',
      finishReason: 'tool_calls',
      toolCalls: [{ id: 'call_48213', name: 'get_current_weather', arguments: { location: 'Boston, MA', unit: 'fahrenheit' } }],
      usage: { promptTokens: 182, completionTokens: 31, totalTokens: 213 },
    });
  });

  it('reads the simulated stream: header chunk, whole-arguments chunk, finish, [DONE]; the same result', async () => {
    recorded.answer(fixture('chat.completions.tools.stream.sse.txt'), 'text/event-stream');
    const stream = docs.streamCompletion(ASK, { tools: [WEATHER] });
    const seen = await events(stream);
    expect(recorded.requests[0]!.body.stream).toBe(true);
    expect(seen.find((e) => e.type === 'tool-call-start')).toMatchObject({ index: 0, id: 'call_48213', name: 'get_current_weather' });
    expect(seen.find((e) => e.type === 'tool-call')).toMatchObject({
      toolCall: { id: 'call_48213', name: 'get_current_weather', arguments: { location: 'Boston, MA', unit: 'fahrenheit' } },
    });
    const result = await stream.result;
    recorded.answer(fixture('chat.completions.tools.response.json'));
    const whole = await docs.getCompletion(ASK, { tools: [WEATHER] });
    expect({ ...result, usage: undefined, model: undefined }).toEqual({ ...whole, usage: undefined, model: undefined });
  });

  it("the profile's mirostat goes as mirostat_mode, the name KoboldCpp reads on this endpoint; the native API keeps mirostat", async () => {
    recorded.answer(fixture('chat.completions.tools.response.json'));
    await mirostat.getCompletion(ASK, { tools: [WEATHER] });
    const body = recorded.requests[0]!.body;
    expect(body).toMatchObject({ mirostat_mode: 2, mirostat_tau: 4.5, mirostat_eta: 0.2 });
    expect(body).not.toHaveProperty('mirostat');
    recorded.answer(fixture('generate.response.json'));
    await mirostat.getCompletion(ASK);
    expect(recorded.requests[1]!.body).toMatchObject({ mirostat: 2, mirostat_tau: 4.5, mirostat_eta: 0.2 });
    expect(recorded.requests[1]!.body).not.toHaveProperty('mirostat_mode');
  });

  it('a call without tools and without tool messages keeps the native generate API', async () => {
    recorded.answer(fixture('generate.response.json'));
    await docs.getCompletion(ASK);
    expect(recorded.requests[0]!.path).toBe('/api/v1/generate');
  });

  it('an assistant turn without tool calls keeps the native generate API', async () => {
    recorded.answer(fixture('generate.response.json'));
    await docs.getCompletion([...ASK, { role: 'assistant', content: 'Sunny.' }, { role: 'assistant', content: 'Warm.', toolCalls: [] }, { role: 'user', content: 'And tomorrow?' }]);
    expect(recorded.requests[0]!.path).toBe('/api/v1/generate');
  });

  it("the call's seed wins over the profile's sampler_seed, which applies otherwise", async () => {
    recorded.answer(fixture('chat.completions.tools.response.json'));
    await docs.getCompletion(ASK, { tools: [WEATHER] });
    expect(recorded.requests[0]!.body.seed).toBe(11);
    await docs.getCompletion(ASK, { tools: [WEATHER], seed: 42 });
    expect(recorded.requests[1]!.body.seed).toBe(42);
  });

  it('a user image goes to the chat endpoint as a data: URL (the only image URL it reads)', async () => {
    recorded.answer(fixture('chat.completions.tools.response.json'));
    const png = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
    await docs.getCompletion(
      [{ role: 'user', content: [{ type: 'text', text: 'Weather where this was taken?' }, { type: 'image', image: new Uint8Array(Buffer.from(png, 'base64')), mimeType: 'image/png' }] }],
      { tools: [WEATHER] },
    );
    expect(recorded.requests[0]!.body.messages[0].content).toEqual([
      { type: 'text', text: 'Weather where this was taken?' },
      { type: 'image_url', image_url: { url: `data:image/png;base64,${png}` } },
    ]);
  });

  it('a JSON schema without a name goes as response_format json_schema named "response"', async () => {
    const answer = JSON.parse(fixture('chat.completions.response.json'));
    answer.choices[0].message.content = '{"city": "Boston"}';
    recorded.answer(JSON.stringify(answer));
    const schema = { type: 'object', properties: { city: { type: 'string' } } };
    await docs.getCompletion(ASK, { tools: [WEATHER], responseFormat: { type: 'json', schema } });
    expect(recorded.requests[0]!.body.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'response', schema } });
  });

  it("an unknown finish_reason is kept as rawFinishReason; the profile's model names the answer", async () => {
    const answer = JSON.parse(fixture('chat.completions.response.json'));
    answer.choices[0].finish_reason = 'interrupted';
    answer.model = 'koboldcpp/some-other-name';
    recorded.answer(JSON.stringify(answer));
    const result = await mirostat.getCompletion(ASK, { tools: [WEATHER] });
    expect(result).toMatchObject({ finishReason: 'other', rawFinishReason: 'interrupted', model: 'airoboros-l2-7b' });
  });

  it('an {"error": ...} chunk in the chat stream is a stream_error with its message', async () => {
    recorded.answer('data: {"error": {"message": "KV cache is full", "type": "server_error"}}\n\ndata: [DONE]\n\n', 'text/event-stream');
    const error = await rejection(events(docs.streamCompletion(ASK, { tools: [WEATHER] })));
    expect(error).toMatchObject({ reason: 'stream_error' });
    expect((error as Error).message).toContain('KV cache is full');
  });

  it('[DONE] before any finish chunk is a truncated stream that names the missing finish chunk', async () => {
    const chunk = JSON.stringify({ id: 'koboldcpp', object: 'chat.completion.chunk', choices: [{ index: 0, finish_reason: null, delta: { role: 'assistant', content: 'Sun' } }] });
    recorded.answer(`data: ${chunk}\n\ndata: [DONE]\n\n`, 'text/event-stream');
    const error = await rejection(events(docs.streamCompletion(ASK, { tools: [WEATHER] })));
    expect(error).toMatchObject({ reason: 'truncated_stream', partialText: 'Sun' });
    expect((error as Error).message).toContain('a chunk with a finish_reason');
  });

  it('a streamed tool call fragment without an index is a bad answer', async () => {
    const chunk = (delta: object, finish: string | null = null) =>
      `data: ${JSON.stringify({ id: 'koboldcpp', object: 'chat.completion.chunk', choices: [{ index: 0, finish_reason: finish, delta }] })}\n\n`;
    recorded.answer(
      chunk({ role: 'assistant', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_time', arguments: '{}' } }] }) + chunk({}, 'tool_calls') + 'data: [DONE]\n\n',
      'text/event-stream',
    );
    const error = await rejection(events(docs.streamCompletion(ASK, { tools: [TIME] })));
    expect(error).toMatchObject({ reason: 'bad_response' });
    expect((error as Error).message).toContain('without an index');
  });

  it('tool calls and results in the conversation go to the chat endpoint as OpenAI messages', async () => {
    recorded.answer(fixture('chat.completions.response.json'));
    const result = await docs.getCompletion([
      ...ASK,
      { role: 'assistant', content: '', toolCalls: [{ id: 'call_48213', name: 'get_current_weather', arguments: { location: 'Boston, MA' } }] },
      { role: 'tool', toolCallId: 'call_48213', name: 'get_current_weather', content: '{"temperature": 72}' },
    ]);
    expect(recorded.requests[0]!.path).toBe('/v1/chat/completions');
    expect(recorded.requests[0]!.body.messages.slice(2)).toEqual([
      {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_48213', type: 'function', function: { name: 'get_current_weather', arguments: '{"location":"Boston, MA"}' } }],
      },
      { role: 'tool', tool_call_id: 'call_48213', content: '{"temperature": 72}' },
    ]);
    expect(recorded.requests[0]!.body).not.toHaveProperty('tools');
    expect(result).toMatchObject({ text: 'Hello! How can I assist you today?', finishReason: 'stop' });
    expect(result.toolCalls ?? []).toEqual([]);
  });
});

describe('against the emulator', () => {
  const TWO = {
    afterToolResults: { text: 'Sunny and 72 °F in Boston; it is 3 pm.' },
    toolCalls: [
      { name: 'get_current_weather', arguments: { location: 'Boston, MA' } },
      { name: 'get_time', arguments: { location: 'Boston, MA' } },
    ],
  };

  it('two calls, streamed and not, give the same calls; the password is sent', async () => {
    emulator.setReply(TWO);
    const whole = await kobold.getCompletion(ASK, { tools: [WEATHER, TIME] });
    expect(emulator.lastRequest!.headers.authorization).toBe(`Bearer ${PASSWORD}`);
    const stream = kobold.streamCompletion(ASK, { tools: [WEATHER, TIME] });
    const seen = await events(stream);
    const streamed = await stream.result;
    expect(whole.toolCalls!.map((c) => [c.name, c.arguments])).toEqual(TWO.toolCalls.map((c) => [c.name, c.arguments]));
    expect(streamed.toolCalls!.map((c) => [c.name, c.arguments])).toEqual(TWO.toolCalls.map((c) => [c.name, c.arguments]));
    expect(streamed.finishReason).toBe('tool_calls');
    expect(seen.filter((e) => e.type === 'tool-call').map((e) => (e as any).index)).toEqual([0, 1]);
  });

  it('the whole loop ends with the answer from the chat endpoint, streamed', async () => {
    emulator.setReply(TWO);
    const first = await kobold.getCompletion(ASK, { tools: [WEATHER, TIME] });
    const messages: ChatMessage[] = [
      ...ASK,
      { role: 'assistant', content: first.text, toolCalls: first.toolCalls },
      ...first.toolCalls!.map((c): ChatMessage => ({ role: 'tool', toolCallId: c.id, content: '{"ok": true}' })),
    ];
    const stream = kobold.streamCompletion(messages, { tools: [WEATHER, TIME] });
    await events(stream);
    expect(await stream.result).toMatchObject({ text: TWO.afterToolResults.text, finishReason: 'stop' });
    expect(emulator.lastRequest!.path).toBe('/v1/chat/completions');
  });

  it('a tool without description or without properties is sent with both (KoboldCpp 1.102 drops the connection otherwise)', async () => {
    const BARE: ToolDefinition = { name: 'get_date', parameters: { type: 'object', additionalProperties: false } };
    emulator.setReply({ toolCalls: [{ name: 'get_date', arguments: {} }] });
    const result = await kobold.getCompletion(ASK, { tools: [TIME, BARE] });
    expect(result.toolCalls?.map((c) => c.name)).toEqual(['get_date']);
    expect(emulator.lastRequest!.json.tools).toEqual([
      { type: 'function', function: { name: 'get_time', description: '', parameters: TIME.parameters } },
      { type: 'function', function: { name: 'get_date', description: '', parameters: { type: 'object', additionalProperties: false, properties: {} } } },
    ]);
    expect(emulator.requests.filter((r) => r.path === '/v1/chat/completions')).toHaveLength(1);
  });

  it('the emulator, as KoboldCpp 1.102, closes the connection unanswered on a tool lacking description, properties or a property type', async () => {
    /** The status of the answer, or the code of the connection error when there is none. */
    const post = (fn: Record<string, unknown>) =>
      new Promise<number | string>((resolve) => {
        const req = request(
          `${emulator.url}/v1/chat/completions`,
          { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${PASSWORD}` } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
        req.end(JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], tools: [{ type: 'function', function: fn }] }));
      });
    const props = { type: 'object', properties: { tz: { type: 'string' } } };
    expect(await post({ name: 'a', parameters: props })).toBe('ECONNRESET');
    expect(await post({ name: 'a', description: '', parameters: { type: 'object' } })).toBe('ECONNRESET');
    expect(await post({ name: 'a', description: '' })).toBe('ECONNRESET');
    expect(await post({ name: 'a', description: '', parameters: { type: 'object', properties: { tz: { enum: ['utc'] } } } })).toBe('ECONNRESET');
    expect(await post({ name: 'a', description: '', parameters: props })).toBe(200);
  });

  it('on this endpoint a stop sequence is reported as length, as KoboldCpp does (it trims the stop itself, whatever trim_stop says)', async () => {
    emulator.setReply(TWO);
    const messages: ChatMessage[] = [
      ...ASK,
      { role: 'assistant', content: '', toolCalls: [{ id: 'call_1', name: 'get_current_weather', arguments: { location: 'Boston, MA' } }] },
      { role: 'tool', toolCallId: 'call_1', content: '{"ok": true}' },
    ];
    const result = await kobold.getCompletion(messages, { tools: [WEATHER], stop: [' and'] });
    expect(result).toMatchObject({ text: 'Sunny', finishReason: 'length' });
    const streamed = await kobold.streamCompletion(messages, { tools: [WEATHER], stop: [' and'] }).result;
    expect(streamed).toMatchObject({ text: 'Sunny', finishReason: 'length' });
  });

  it('toolChoice reaches the wire (named: the OpenAI function form); parallelToolCalls is not sent', async () => {
    await kobold.getCompletion(ASK, { tools: [WEATHER, TIME], toolChoice: { type: 'tool', name: 'get_time' }, parallelToolCalls: false });
    expect(emulator.lastRequest!.json.tool_choice).toEqual({ type: 'function', function: { name: 'get_time' } });
    expect(emulator.lastRequest!.json).not.toHaveProperty('parallel_tool_calls');
    await kobold.getCompletion(ASK, { tools: [WEATHER], toolChoice: 'required' });
    expect(emulator.lastRequest!.json.tool_choice).toBe('required');
  });

  it('invalid argument JSON is an InvalidToolArgumentsError keeping the raw text', async () => {
    emulator.setReply(TWO);
    emulator.failNext({ kind: 'invalid-tool-arguments' });
    const error = await rejection(kobold.getCompletion(ASK, { tools: [WEATHER, TIME] }));
    expect(InvalidToolArgumentsError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ toolName: 'get_current_weather', rawArguments: '{"location":' });
    emulator.failNext({ kind: 'invalid-tool-arguments' });
    expect(InvalidToolArgumentsError.isInstance(await rejection(events(kobold.streamCompletion(ASK, { tools: [WEATHER, TIME] }))))).toBe(true);
  });

  it('a stream cut inside a tool call is a truncated-stream error and aborts the generation', async () => {
    emulator.setReply(TWO);
    emulator.failNext({ kind: 'cut-in-tool-call' });
    const error = await rejection(events(kobold.streamCompletion(ASK, { tools: [WEATHER, TIME] })));
    expect(ProviderError.isInstance(error)).toBe(true);
    expect((error as ProviderError).url).toContain('/v1/chat/completions');
  });

  it('an error event in the chat stream is a stream_error', async () => {
    emulator.setReply(TWO);
    emulator.failNext({ kind: 'stream-error', message: 'model crashed' });
    const error = await rejection(events(kobold.streamCompletion(ASK, { tools: [WEATHER] })));
    expect(error).toMatchObject({ reason: 'stream_error' });
    expect((error as Error).message).toContain('model crashed');
  });
});
