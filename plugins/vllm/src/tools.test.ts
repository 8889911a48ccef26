/**
 * vLLM's tool calls and reasoning, mapped from the recorded fixtures (served
 * verbatim) and from the emulator's vLLM framing.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { BackendProvider, ChatMessage, ToolDefinition } from '@aegis/core';
import { collect, fixtureText, startReplayServer, startVllmEmulator, type Emulator } from '@aegis/testkit';
import { harness, type Harness } from './__tests__/harness.js';
import plugin, { type VllmCompletionResult } from './index.js';

const search: ToolDefinition = { name: 'searchGoogle', parameters: { type: 'object', properties: { query: { type: 'string' } } } };
const ask: ChatMessage[] = [{ role: 'user', content: 'What is new in AI?' }];
/** The reasoning fixtures as a server from before vLLM PR #27752 sent them (`reasoning_content`). */
const older = (name: string) => fixtureText('vllm', name).replaceAll('"reasoning":', '"reasoning_content":');

let emu: Emulator;
const replays: Emulator[] = [];
let h: Harness;
const provider = (name = 'p'): Promise<BackendProvider> => h.provider(name);

beforeAll(async () => {
  emu = await startVllmEmulator();
  const answers = [
    ['tools.response', 'chat.completions.tools.response.json'],
    ['tools.stream', 'chat.completions.tools.stream.sse.txt'],
    ['reasoning.response', 'chat.completions.reasoning.response.json'],
    ['reasoning.stream', 'chat.completions.reasoning.stream.sse.txt'],
  ] as const;
  const profiles: Record<string, unknown>[] = [{ profile_name: 'p', type: 'vllm', base_url: emu.baseUrl, model: 'm', max_retries: 0 }];
  for (const [name, file] of answers) {
    const server = await startReplayServer([{ body: fixtureText('vllm', file) }]);
    replays.push(server);
    profiles.push({ profile_name: name, type: 'vllm', base_url: server.baseUrl, model: 'm', max_retries: 0 });
  }
  for (const file of ['chat.completions.reasoning.response.json', 'chat.completions.reasoning.stream.sse.txt']) {
    const server = await startReplayServer([{ body: older(file) }]);
    replays.push(server);
    profiles.push({ profile_name: `older.${file.includes('stream') ? 'stream' : 'response'}`, type: 'vllm', base_url: server.baseUrl, model: 'm', max_retries: 0 });
  }
  h = harness(plugin, profiles);
});
afterAll(async () => {
  h.close();
  await emu.close();
  for (const r of replays) await r.close();
});
beforeEach(() => {
  emu.reset();
  emu.setReply({});
});

describe('recorded tool calls', () => {
  it('maps the recorded response (Python-spaced arguments, chatcmpl-tool- id)', async () => {
    const result = await (await provider('tools.response')).getCompletion(ask, { tools: [search] });
    expect(result).toMatchObject({
      text: '',
      finishReason: 'tool_calls',
      toolCalls: [{ id: 'chatcmpl-tool-8dd7be12aefe48db', name: 'get_weather', arguments: { location: 'San Francisco, CA', unit: 'fahrenheit' } }],
    });
    expect(result.reasoning).toBeUndefined();
  });

  it('assembles the recorded stream: a first delta without arguments, the finish chunk carrying a delta', async () => {
    const stream = (await provider('tools.stream')).streamCompletion(ask, { tools: [search] });
    const events = await collect(stream.events());
    expect(events[0]).toEqual({ type: 'tool-call-start', index: 0, id: 'chatcmpl-tool-b3b307239370432d9910d4b79b4dbbaa', name: 'searchGoogle' });
    expect(events.filter((e) => e.type === 'tool-call')).toEqual([
      {
        type: 'tool-call',
        index: 0,
        toolCall: { id: 'chatcmpl-tool-b3b307239370432d9910d4b79b4dbbaa', name: 'searchGoogle', arguments: { query: 'latest news on ai' } },
      },
    ]);
    const result = (await stream.result) as VllmCompletionResult;
    expect(result).toMatchObject({ finishReason: 'tool_calls', providerMetadata: { stopReason: 128008 } });
    expect(result.rawFinishReason).toBeUndefined();
    expect(result.usage).toEqual({ promptTokens: 226, completionTokens: 20, totalTokens: 246 });
  });
});

describe('recorded reasoning', () => {
  for (const version of ['', 'older.']) {
    const field = version ? 'reasoning_content (before PR #27752)' : 'reasoning';
    it(`reads the message's ${field} into result.reasoning`, async () => {
      const result = await (await provider(`${version || ''}${version ? 'response' : 'reasoning.response'}`)).getCompletion(ask);
      expect(result.text).toBe('\n\n9.8 is greater than 9.11.');
      expect(result.reasoning).toMatch(/^Okay, so I need to compare 9.11 and 9.8\./);
    });

    it(`streams the deltas' ${field} as reasoning events, apart from the text`, async () => {
      const stream = (await provider(`${version || ''}${version ? 'stream' : 'reasoning.stream'}`)).streamCompletion(ask);
      const events = await collect(stream.events());
      const reasoning = events.filter((e) => e.type === 'reasoning-delta').map((e) => (e as { text: string }).text);
      expect(reasoning.join('')).toBe('Okay, so I need to compare 9.11 and 9.8.');
      const firstText = events.findIndex((e) => e.type === 'text-delta');
      expect(events.slice(0, firstText).every((e) => e.type === 'reasoning-delta')).toBe(true);
      const result = await stream.result;
      expect(result.text).toBe('\n\n9.8 is greater.');
      expect(result.reasoning).toBe('Okay, so I need to compare 9.11 and 9.8.');
      expect(result.finishReason).toBe('stop');
    });
  }
});

describe('emulated vLLM', () => {
  it('two parallel calls streamed the vLLM way reassemble to the non-streamed answer', async () => {
    emu.setReply({
      reasoning: 'Two lookups.',
      toolCalls: [
        { name: 'searchGoogle', arguments: { query: 'vLLM release notes' } },
        { name: 'searchGoogle', arguments: { query: 'Qwen3 thinking mode' } },
      ],
    });
    const p = await provider();
    const whole = await p.getCompletion(ask, { tools: [search] });
    const stream = p.streamCompletion(ask, { tools: [search] });
    const events = await collect(stream.events());
    const streamed = await stream.result;
    const strip = (r: typeof whole) => ({ ...r, toolCalls: r.toolCalls?.map(({ name, arguments: a }) => ({ name, arguments: a })) });
    expect(strip({ ...streamed })).toEqual(strip(whole));
    expect(whole.reasoning).toBe('Two lookups.');
    expect(whole.toolCalls!.map((c) => c.arguments)).toEqual([{ query: 'vLLM release notes' }, { query: 'Qwen3 thinking mode' }]);
    expect(whole.toolCalls![0]!.id).toMatch(/^chatcmpl-tool-/);
    // The last fragment of the second call came with the finish chunk.
    const lastDelta = events.filter((e) => e.type === 'tool-call-delta').at(-1) as { index: number; argumentsDelta: string };
    expect(lastDelta.index).toBe(1);
    expect(events.at(-1)).toMatchObject({ type: 'finish', finishReason: 'tool_calls' });
  });

  it('a named tool choice finishes with "stop" on vLLM, and core still says tool_calls', async () => {
    emu.setReply({ toolCalls: [{ name: 'searchGoogle', arguments: { query: 'x' } }] });
    const result = await (await provider()).getCompletion(ask, { tools: [search], toolChoice: { type: 'tool', name: 'searchGoogle' } });
    expect(emu.lastRequest!.json.tool_choice).toEqual({ type: 'function', function: { name: 'searchGoogle' } });
    expect(result).toMatchObject({ finishReason: 'tool_calls', rawFinishReason: 'stop' });
  });

  it('reasoning settings reach the wire: off drops it, on asks the template to think, a level is reasoning_effort', async () => {
    const p = await provider();
    await p.getCompletion(ask, { reasoning: false });
    expect(emu.lastRequest!.json).toMatchObject({ include_reasoning: false, chat_template_kwargs: { enable_thinking: false } });
    await p.getCompletion(ask, { reasoning: true });
    expect(emu.lastRequest!.json.chat_template_kwargs).toEqual({ enable_thinking: true });
    expect(emu.lastRequest!.json).not.toHaveProperty('include_reasoning');
    expect(emu.lastRequest!.json).not.toHaveProperty('reasoning_effort');
    await p.getCompletion(ask, { reasoning: 'high' });
    expect(emu.lastRequest!.json.reasoning_effort).toBe('high');
    expect(emu.lastRequest!.json).not.toHaveProperty('include_reasoning');
  });
});
