/**
 * Tool calling on the OpenAI wire: requests checked against the recorded
 * request fixtures, answers mapped from the recorded response and stream
 * fixtures (served verbatim), and the emulator's tool replies and faults.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  InvalidToolArgumentsError,
  ProviderError,
  type BackendProvider,
  type ChatMessage,
  type ToolDefinition,
} from '@aegis/core';
import { collect, fixtureJson, fixtureText, startOpenAIEmulator, startReplayServer, type Emulator } from '@aegis/testkit';
import { harness, rejection, type Harness } from './__tests__/harness.js';
import plugin, { toolFields, toWireTools } from './index.js';

const requestFixture = fixtureJson('openai', 'chat.completions.tools.request.json');
const resultFixture = fixtureJson('openai', 'chat.completions.tool-result.request.json');
const weatherTool: ToolDefinition = {
  name: requestFixture.tools[0].function.name,
  description: requestFixture.tools[0].function.description,
  parameters: requestFixture.tools[0].function.parameters,
};
const ask: ChatMessage[] = [{ role: 'user', content: requestFixture.messages[0].content }];

let emu: Emulator;
let replay: Emulator;
let h: Harness;
const provider = (name = 'p'): Promise<BackendProvider> => h.provider(name);

beforeAll(async () => {
  emu = await startOpenAIEmulator();
  replay = await startReplayServer([
    { body: fixtureText('openai', 'chat.completions.tools.response.json') },
    { body: fixtureText('openai', 'chat.completions.tools.stream.sse.txt') },
  ]);
  const base = { type: 'openai', api_key: 'sk-test-tools-000000', model: 'gpt-5.4', max_retries: 0 };
  h = harness(plugin, [
    { ...base, profile_name: 'p', base_url: emu.baseUrl },
    { ...base, profile_name: 'recorded', base_url: replay.baseUrl },
  ]);
});
afterAll(async () => {
  h.close();
  await emu.close();
  await replay.close();
});
beforeEach(() => {
  emu.reset();
  emu.setReply({});
});

describe('requests', () => {
  it('send tools and tool_choice exactly as the recorded request', async () => {
    await (await provider()).getCompletion(ask, { tools: [weatherTool], toolChoice: 'auto' });
    const sent = emu.lastRequest!.json;
    expect(sent.tools).toEqual(requestFixture.tools);
    expect(sent.tool_choice).toBe('auto');
    expect(sent.messages).toEqual(requestFixture.messages);
    expect(sent).not.toHaveProperty('parallel_tool_calls');
  });

  it('map every tool choice and parallel_tool_calls', async () => {
    const p = await provider();
    for (const [choice, wire] of [
      ['none', 'none'],
      ['required', 'required'],
      [{ type: 'tool', name: 'get_current_weather' }, { type: 'function', function: { name: 'get_current_weather' } }],
    ] as const) {
      await p.getCompletion(ask, { tools: [weatherTool], toolChoice: choice, parallelToolCalls: false });
      expect(emu.lastRequest!.json.tool_choice).toEqual(wire);
      expect(emu.lastRequest!.json.parallel_tool_calls).toBe(false);
    }
  });

  it('send the tool-result turn as the recorded request: assistant tool_calls, then a tool message with tool_call_id', async () => {
    const call = { id: 'call_abc123', name: 'get_current_weather', arguments: { location: 'Boston, MA' } };
    const conversation: ChatMessage[] = [
      ...ask,
      { role: 'assistant', content: '', toolCalls: [call] },
      { role: 'tool', toolCallId: 'call_abc123', name: 'get_current_weather', content: resultFixture.messages[2].content },
    ];
    await (await provider()).getCompletion(conversation, { tools: [weatherTool] });
    const sent = emu.lastRequest!.json.messages;
    const [user, assistant, tool] = resultFixture.messages;
    expect(sent[0]).toEqual(user);
    expect(sent[2]).toEqual(tool);
    // Same call; the arguments' JSON text may be spaced differently.
    expect({ ...sent[1], tool_calls: undefined }).toEqual({ ...assistant, tool_calls: undefined });
    expect(sent[1].tool_calls[0]).toMatchObject({ id: 'call_abc123', type: 'function', function: { name: 'get_current_weather' } });
    expect(JSON.parse(sent[1].tool_calls[0].function.arguments)).toEqual(JSON.parse(assistant.tool_calls[0].function.arguments));
  });

  it("send a tool's strict flag in its function, and the name of an assistant turn that made calls", async () => {
    const call = { id: 'call_abc123', name: 'get_current_weather', arguments: { location: 'Boston, MA' } };
    await (await provider()).getCompletion([...ask, { role: 'assistant', name: 'planner', content: '', toolCalls: [call] }], {
      tools: [{ ...weatherTool, strict: true }],
    });
    const sent = emu.lastRequest!.json;
    expect(sent.tools[0].function).toEqual({ ...requestFixture.tools[0].function, strict: true });
    expect(sent.messages[1]).toMatchObject({ role: 'assistant', name: 'planner', content: null });
  });

  it('toWireTools and toolFields (for other plugins) give nothing for no tools: vLLM refuses an empty list, OpenAI a tool_choice without tools', () => {
    expect(toWireTools([])).toBeUndefined();
    expect(toWireTools(undefined)).toBeUndefined();
    expect(toolFields({ tools: [], toolChoice: 'none', parallelToolCalls: false })).toEqual({});
  });

  it('a tool message without its call id (first plugin API) is still sent as user text', async () => {
    await (await provider()).getCompletion([...ask, { role: 'tool', name: 'calc', content: '42' }]);
    expect(emu.lastRequest!.json.messages[1]).toEqual({ role: 'user', content: 'Tool result from calc:\n42' });
  });
});

describe('recorded answers', () => {
  it('maps the recorded response: the call parsed, its id kept, finish reason tool_calls', async () => {
    const result = await (await provider('recorded')).getCompletion(ask, { tools: [weatherTool] });
    expect(result).toMatchObject({
      text: '',
      finishReason: 'tool_calls',
      toolCalls: [{ id: 'call_abc123', name: 'get_current_weather', arguments: { location: 'Boston, MA' } }],
      usage: { promptTokens: 82, completionTokens: 17, totalTokens: 99 },
    });
  });

  it('assembles the recorded stream of two parallel calls from its fragments', async () => {
    const stream = (await provider('recorded')).streamCompletion(ask, { tools: [weatherTool] });
    const events = await collect(stream.events());
    const calls = events.filter((e) => e.type === 'tool-call');
    expect(calls).toEqual([
      {
        type: 'tool-call',
        index: 0,
        toolCall: { id: 'call_JMW1whyEaYG438VE1OIflxA2', name: 'GetWeatherArgs', arguments: { city: 'Edinburgh', country: 'GB', units: 'c' } },
      },
      {
        type: 'tool-call',
        index: 1,
        toolCall: { id: 'call_DNYTawLBoN8fj3KN6qU9N1Ou', name: 'get_stock_price', arguments: { ticker: 'AAPL', exchange: 'NASDAQ' } },
      },
    ]);
    expect(events.filter((e) => e.type === 'tool-call-start').map((e) => (e as { name: string }).name)).toEqual(['GetWeatherArgs', 'get_stock_price']);
    const fragments = events.filter((e) => e.type === 'tool-call-delta' && e.index === 0).map((e) => (e as { argumentsDelta: string }).argumentsDelta);
    expect(fragments.length).toBeGreaterThan(5);
    expect(JSON.parse(fragments.join(''))).toEqual({ city: 'Edinburgh', country: 'GB', units: 'c' });
    expect(events.at(-1)).toEqual({
      type: 'finish',
      finishReason: 'tool_calls',
      usage: { promptTokens: 149, completionTokens: 60, totalTokens: 209 },
    });
    const result = await stream.result;
    expect(result.toolCalls).toEqual(calls.map((c) => (c as { toolCall: unknown }).toolCall));
    expect(result.text).toBe('');
  });
});

describe('emulated tool replies', () => {
  const two = [
    { name: 'get_current_weather', arguments: { location: 'Boston, MA', unit: 'celsius' } },
    { name: 'get_stock_price', arguments: { ticker: 'AAPL' } },
  ];

  it('a streamed answer equals the non-streamed one (ids aside, which the server makes per answer)', async () => {
    emu.setReply({ toolCalls: two });
    const p = await provider();
    const whole = await p.getCompletion(ask, { tools: [weatherTool] });
    const streamed = await p.streamCompletion(ask, { tools: [weatherTool] }).result;
    const strip = (r: typeof whole) => ({ ...r, toolCalls: r.toolCalls?.map(({ name, arguments: a }) => ({ name, arguments: a })) });
    expect(strip({ ...streamed })).toEqual(strip(whole));
    expect(whole.toolCalls!.map((c) => c.id)).toEqual([expect.stringMatching(/^call_/), expect.stringMatching(/^call_/)]);
    expect(whole.finishReason).toBe('tool_calls');
  });

  it('invalid argument JSON is an InvalidToolArgumentsError, streamed or not', async () => {
    emu.setReply({ toolCalls: two });
    const p = await provider();
    emu.failNext({ kind: 'invalid-tool-arguments' }, 2);
    for (const call of [() => p.getCompletion(ask, { tools: [weatherTool] }), () => p.streamCompletion(ask, { tools: [weatherTool] }).result]) {
      const error = await rejection(call());
      expect(InvalidToolArgumentsError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ toolName: 'get_current_weather', retryable: false });
      const text = JSON.stringify(two[0]!.arguments);
      expect((error as InvalidToolArgumentsError).rawArguments).toBe(text.slice(0, Math.floor(text.length / 2)));
    }
  });

  it('a stream cut inside a tool call is a truncated-stream ProviderError, not a partial call', async () => {
    emu.setReply({ toolCalls: two });
    const p = await provider();
    for (const reset of [false, true]) {
      emu.failNext({ kind: 'cut-in-tool-call', reset });
      const error = await rejection(p.streamCompletion(ask, { tools: [weatherTool] }).result);
      expect(ProviderError.isInstance(error)).toBe(true);
      expect((error as ProviderError).reason).toBe(reset ? 'connection' : 'truncated_stream');
    }
  });
});
