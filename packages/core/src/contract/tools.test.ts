/**
 * Core's tool-call machinery against a real loopback server: a test plugin
 * that yields whatever items (text, stream parts) the server sends, so each
 * test scripts exactly what a backend's plugin would hand core.
 */
import http from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { BackendProvider, implementedCapabilities, type ProviderContext, type ProviderStream } from './provider.js';
import { BaseBackendConfig } from './base-config.js';
import type { CallSettings } from './runtime.js';
import type { ChatMessage } from './messages.js';
import type { Capability } from './capabilities.js';
import type { StreamEvent } from './stream-events.js';
import type { StreamItem } from './deltas.js';
import { streamDeltas } from './deltas.js';
import type { ProviderCompletion } from './tool-calls.js';
import { HttpClient } from '../http/client.js';
import { readSseBatches } from '../http/sse.js';
import { CapabilityNotSupportedError } from '../errors/capability-error.js';
import { InvalidToolArgumentsError } from '../errors/tool-error.js';
import { ProviderError } from '../errors/provider-error.js';
import { SecretScrubber } from '../secrets/scrubber.js';
import { listenOnLoopback, type Loopback } from '../__tests__/loopback.js';

/** What the server answers: a non-streamed body, or SSE events each holding a list of stream items. */
let reply: { completion?: ProviderCompletion; events?: StreamItem[][]; end?: Record<string, unknown>; oneWrite?: boolean } = {};
const bodies: any[] = [];
let server: http.Server;
let url: string;
let loopback: Loopback;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const json = JSON.parse(body);
      bodies.push(json);
      if (!json.stream) return void res.end(JSON.stringify(reply.completion));
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const frames = (reply.events ?? []).map((items) => `data: ${JSON.stringify({ items })}\n\n`);
      frames.push(`data: ${JSON.stringify({ end: reply.end ?? { finishReason: 'stop' } })}\n\n`);
      if (reply.oneWrite) return void res.end(frames.join(''));
      // One write per frame, each after the previous one was flushed: separate network chunks, mostly.
      let i = 0;
      const next = (): void => {
        if (i === frames.length) return void res.end();
        res.write(frames[i++], next);
      };
      next();
    });
  });
  loopback = await listenOnLoopback(server);
  url = `${loopback.base}/chat`;
});
afterAll(async () => {
  await loopback.close();
  client.destroy();
});
beforeEach(() => {
  bodies.length = 0;
  reply = {};
});

/** Sends messages and the call's tool settings; hands back what the server scripted. */
class ScriptedProvider extends BackendProvider {
  protected override async doCompletion(messages: ChatMessage[], s: CallSettings): Promise<ProviderCompletion> {
    const { body } = await this.context.http.postJson<ProviderCompletion>(url, wire(messages, s, false), this.requestOptions(s));
    return body;
  }
  protected override async *doStream(messages: ChatMessage[], s: CallSettings): ProviderStream {
    const res = await this.context.http.postStream(url, wire(messages, s, true), this.requestOptions(s));
    const end = yield* streamDeltas(readSseBatches(res.body), (e, deltas) => {
      const data = JSON.parse(e.data) as { items?: StreamItem[]; end?: any };
      if (data.end) return data.end;
      deltas.push(...data.items!);
    });
    if (end) return end;
    throw this.truncatedStream(url, 'the end event');
  }
}

function wire(messages: ChatMessage[], s: CallSettings, stream: boolean) {
  return { messages, tools: s.tools, toolChoice: s.toolChoice, parallelToolCalls: s.parallelToolCalls, responseFormat: s.responseFormat, reasoning: s.reasoning, stream };
}

const client = new HttpClient();
const SECRET = 'sk-tools-canary-0042';
const secrets = new SecretScrubber();
secrets.add(SECRET);
function provider(capabilities: readonly Capability[] = ['completion', 'streaming', 'tools', 'reasoning']): ScriptedProvider {
  const config = BaseBackendConfig.parse({ profile_name: 'tp', type: 'scripted', max_retries: 0 });
  const context: ProviderContext = {
    profileName: 'tp',
    providerType: 'scripted',
    capabilities,
    http: client,
    secrets,
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    getProvider: () => Promise.reject(new Error('none')),
  };
  return new ScriptedProvider(config, context);
}

const ask: ChatMessage[] = [{ role: 'user', content: 'Weather in Edinburgh and the AAPL price?' }];
const weather = { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } };
const stock = { name: 'get_stock_price', parameters: { type: 'object', properties: { ticker: { type: 'string' } } } };

/** Two parallel calls as OpenAI streams them: a header per call, then argument fragments, interleaved. */
const parallelFragments: StreamItem[][] = [
  [{ type: 'tool-call-delta', index: 0, id: 'call_A', name: 'get_weather', arguments: '' }],
  [{ type: 'tool-call-delta', index: 0, arguments: '{"ci' }],
  [{ type: 'tool-call-delta', index: 1, id: 'call_B', name: 'get_stock_price', arguments: '' }],
  [{ type: 'tool-call-delta', index: 0, arguments: 'ty": "Edinburgh"}' }],
  [{ type: 'tool-call-delta', index: 1, arguments: '{"ticker": ' }, { type: 'tool-call-delta', index: 1, arguments: '"AAPL"}' }],
];

async function events(stream: AsyncIterable<StreamEvent>): Promise<StreamEvent[]> {
  const out: StreamEvent[] = [];
  for await (const e of stream) out.push(e);
  return out;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

describe('streamed tool calls', () => {
  it('concatenates fragments per index, parses them at the end, and says tool_calls', async () => {
    reply = { events: parallelFragments, end: { finishReason: 'stop', usage: { promptTokens: 5 } } };
    const stream = provider().streamCompletion(ask, { tools: [weather, stock] });
    const seen = await events(stream.events());
    expect(seen).toEqual([
      { type: 'tool-call-start', index: 0, id: 'call_A', name: 'get_weather' },
      { type: 'tool-call-delta', index: 0, id: 'call_A', argumentsDelta: '{"ci' },
      { type: 'tool-call-start', index: 1, id: 'call_B', name: 'get_stock_price' },
      { type: 'tool-call-delta', index: 0, id: 'call_A', argumentsDelta: 'ty": "Edinburgh"}' },
      { type: 'tool-call-delta', index: 1, id: 'call_B', argumentsDelta: '{"ticker": ' },
      { type: 'tool-call-delta', index: 1, id: 'call_B', argumentsDelta: '"AAPL"}' },
      { type: 'tool-call', index: 0, toolCall: { id: 'call_A', name: 'get_weather', arguments: { city: 'Edinburgh' } } },
      { type: 'tool-call', index: 1, toolCall: { id: 'call_B', name: 'get_stock_price', arguments: { ticker: 'AAPL' } } },
      { type: 'finish', finishReason: 'tool_calls', rawFinishReason: 'stop', usage: { promptTokens: 5 } },
    ]);
    const result = await stream.result;
    expect(result).toMatchObject({
      text: '',
      finishReason: 'tool_calls',
      rawFinishReason: 'stop',
      toolCalls: [
        { id: 'call_A', name: 'get_weather', arguments: { city: 'Edinburgh' } },
        { id: 'call_B', name: 'get_stock_price', arguments: { ticker: 'AAPL' } },
      ],
    });
  });

  it('gives a call without an id one, the same in its events and in the result', async () => {
    reply = {
      events: [
        [{ type: 'tool-call-delta', index: 0, name: 'get_weather' }],
        [{ type: 'tool-call-delta', index: 0, arguments: '{"city":"Oslo"}' }],
      ],
    };
    const stream = provider().streamCompletion(ask, { tools: [weather] });
    const seen = await events(stream.events());
    const start = seen.find((e) => e.type === 'tool-call-start') as Extract<StreamEvent, { type: 'tool-call-start' }>;
    expect(start.id).toMatch(/^call_[A-Za-z0-9]{24}$/);
    const call = seen.find((e) => e.type === 'tool-call') as Extract<StreamEvent, { type: 'tool-call' }>;
    expect(call.toolCall.id).toBe(start.id);
    expect((await stream.result).toolCalls![0]!.id).toBe(start.id);
  });

  it('takes whole calls (arguments as an object or as text) and completes each at once', async () => {
    reply = {
      events: [
        ['Let me look. '],
        [{ type: 'tool-call', index: 0, name: 'get_weather', arguments: { city: 'Rome' } }],
        [{ type: 'tool-call', index: 1, id: 'c2', name: 'get_stock_price', arguments: '{"ticker":"X"}' }],
      ],
    };
    const stream = provider().streamCompletion(ask, { tools: [weather, stock] });
    const seen = await events(stream.events());
    expect(seen.map((e) => e.type)).toEqual([
      'text-delta',
      'tool-call-start',
      'tool-call-delta',
      'tool-call',
      'tool-call-start',
      'tool-call-delta',
      'tool-call',
      'finish',
    ]);
    const result = await stream.result;
    expect(result.text).toBe('Let me look. ');
    expect(result.toolCalls!.map((c) => c.arguments)).toEqual([{ city: 'Rome' }, { ticker: 'X' }]);
  });

  it('iterating the stream still yields only the text, and result carries the calls and the reasoning', async () => {
    reply = {
      oneWrite: true,
      events: [
        [{ type: 'reasoning', text: 'The user wants ' }, { type: 'reasoning', text: 'weather.' }],
        ['Checking', ' now.', { type: 'tool-call-delta', index: 0, id: 'c1', name: 'get_weather', arguments: '{}' }, ''],
      ],
    };
    const stream = provider().streamCompletion(ask, { tools: [weather] });
    const deltas: string[] = [];
    for await (const d of stream) deltas.push(d);
    expect(deltas).toEqual(['Checking', ' now.']);
    const result = await stream.result;
    expect(result).toMatchObject({ text: 'Checking now.', reasoning: 'The user wants weather.', finishReason: 'tool_calls' });
    expect(result.toolCalls).toEqual([{ id: 'c1', name: 'get_weather', arguments: {} }]);
  });

  it('joins a streamed refusal into the result, and hands out its pieces as refusal-delta events', async () => {
    reply = { events: [[{ type: 'refusal', text: 'I can' }], [{ type: 'refusal', text: 'not help with that.' }]], end: { finishReason: 'content_filter' } };
    const stream = provider().streamCompletion(ask);
    const seen = await events(stream.events());
    expect(seen.filter((e) => e.type === 'refusal-delta')).toEqual([
      { type: 'refusal-delta', text: 'I can' },
      { type: 'refusal-delta', text: 'not help with that.' },
    ]);
    expect(await stream.result).toMatchObject({ text: '', refusal: 'I cannot help with that.', finishReason: 'content_filter' });
  });

  it('stream.text is the text handed out so far when a batch mixes parts and text', async () => {
    reply = { oneWrite: true, events: [['Sure', { type: 'reasoning', text: 'r' }, ' thing', { type: 'reasoning', text: 's' }, ' more']] };
    const stream = provider().streamCompletion(ask);
    const texts: string[] = [];
    for await (const _ of stream) texts.push(stream.text);
    expect(texts).toEqual(['Sure', 'Sure thing', 'Sure thing more']);
    expect((await stream.result).text).toBe('Sure thing more');
  });

  it('puts reasoning deltas before the text they came before', async () => {
    reply = { oneWrite: true, events: [[{ type: 'reasoning', text: 'hmm' }, 'A', { type: 'reasoning', text: '!' }, 'B']] };
    const seen = await events(provider().streamCompletion(ask).events());
    expect(seen.slice(0, 4)).toEqual([
      { type: 'reasoning-delta', text: 'hmm' },
      { type: 'text-delta', text: 'A' },
      { type: 'reasoning-delta', text: '!' },
      { type: 'text-delta', text: 'B' },
    ]);
  });

  it('invalid argument JSON ends the stream with an InvalidToolArgumentsError keeping the raw text', async () => {
    reply = { events: [['Sure. '], [{ type: 'tool-call-delta', index: 0, id: 'c1', name: 'get_weather', arguments: '{"city": "Par' }]] };
    const stream = provider().streamCompletion(ask, { tools: [weather] });
    const error = await rejection(events(stream.events()));
    expect(InvalidToolArgumentsError.isInstance(error)).toBe(true);
    const e = error as InvalidToolArgumentsError;
    expect(ProviderError.isInstance(e)).toBe(true);
    expect(e).toMatchObject({ reason: 'invalid_tool_arguments', toolName: 'get_weather', toolCallId: 'c1', rawArguments: '{"city": "Par', retryable: false, profile: 'tp' });
    expect(e.partialText).toBe('Sure. ');
    await expect(stream.result).rejects.toBe(error);
  });

  it('arguments that are JSON but not an object are invalid too', async () => {
    reply = { events: [[{ type: 'tool-call', index: 0, name: 'get_weather', arguments: '[1,2]' }]] };
    const error = await rejection(provider().streamCompletion(ask, { tools: [weather] }).result);
    expect(InvalidToolArgumentsError.isInstance(error)).toBe(true);
  });

  it('calls the plugin puts in its end result come after the streamed ones', async () => {
    reply = {
      events: [[{ type: 'tool-call-delta', index: 0, id: 'call_A', name: 'get_weather', arguments: '{"city":"Oslo"}' }]],
      end: { finishReason: 'tool_calls', toolCalls: [{ id: 'call_end', name: 'get_stock_price', arguments: '{"ticker":"X"}' }] },
    };
    const result = await provider().streamCompletion(ask, { tools: [weather, stock] }).result;
    expect(result.toolCalls).toEqual([
      { id: 'call_A', name: 'get_weather', arguments: { city: 'Oslo' } },
      { id: 'call_end', name: 'get_stock_price', arguments: { ticker: 'X' } },
    ]);
  });

  it('a streamed answer equals the non-streamed one for the same backend reply', async () => {
    reply = {
      events: [['Here: '], ...parallelFragments],
      end: { finishReason: 'tool_calls', usage: { promptTokens: 3, completionTokens: 9 } },
      completion: {
        text: 'Here: ',
        finishReason: 'tool_calls',
        usage: { promptTokens: 3, completionTokens: 9 },
        toolCalls: [
          { id: 'call_A', name: 'get_weather', arguments: '{"city": "Edinburgh"}' },
          { id: 'call_B', name: 'get_stock_price', arguments: '{"ticker": "AAPL"}' },
        ],
      },
    };
    const p = provider();
    const streamed = await p.streamCompletion(ask, { tools: [weather, stock] }).result;
    const whole = await p.getCompletion(ask, { tools: [weather, stock] });
    expect({ ...streamed }).toEqual(whole);
  });
});

describe('non-streamed tool calls', () => {
  it('gets ids, parsed arguments and finishReason tool_calls whatever the backend said', async () => {
    reply = { completion: { text: '', finishReason: 'stop', toolCalls: [{ name: 'get_weather', arguments: { city: 'Oslo' } }] } };
    const result = await provider().getCompletion(ask, { tools: [weather] });
    expect(result.finishReason).toBe('tool_calls');
    expect(result.rawFinishReason).toBe('stop');
    expect(result.toolCalls![0]).toMatchObject({ name: 'get_weather', arguments: { city: 'Oslo' } });
    expect(result.toolCalls![0]!.id).toMatch(/^call_/);
  });

  it('an invalid argument text is an InvalidToolArgumentsError naming the tool', async () => {
    reply = { completion: { text: '', finishReason: 'tool_calls', toolCalls: [{ id: 'x', name: 'get_weather', arguments: 'city=Oslo' }] } };
    const error = await rejection(provider().getCompletion(ask, { tools: [weather] }));
    expect(InvalidToolArgumentsError.isInstance(error)).toBe(true);
    expect((error as InvalidToolArgumentsError).rawArguments).toBe('city=Oslo');
    expect((error as Error).message).toContain('"get_weather"');
    expect((error as Error).message).toContain('profile "tp"');
  });

  it('a call with empty or whitespace argument text is a call without arguments, streamed or not', async () => {
    reply = {
      completion: { text: '', finishReason: 'tool_calls', toolCalls: [{ id: 'c1', name: 'get_weather', arguments: '' }] },
      events: [[{ type: 'tool-call-delta', index: 0, id: 'c1', name: 'get_weather' }], [{ type: 'tool-call-delta', index: 0, arguments: ' ' }]],
    };
    const p = provider();
    expect((await p.getCompletion(ask, { tools: [weather] })).toolCalls).toEqual([{ id: 'c1', name: 'get_weather', arguments: {} }]);
    expect((await p.streamCompletion(ask, { tools: [weather] }).result).toolCalls).toEqual([{ id: 'c1', name: 'get_weather', arguments: {} }]);
  });

  it('an empty list of calls is no calls', async () => {
    reply = { completion: { text: 'hi', finishReason: 'stop', toolCalls: [] } };
    const result = await provider().getCompletion(ask, { tools: [weather] });
    expect(result).toEqual({ text: 'hi', finishReason: 'stop' });
  });
});

describe('rawFinishReason', () => {
  it('is kept only where it differs from the normalised reason, streamed or not', async () => {
    const p = provider();
    for (const [finishReason, rawFinishReason, kept] of [
      ['length', 'max_tokens', 'max_tokens'],
      ['stop', 'stop', undefined],
    ] as const) {
      reply = { completion: { text: 'hi', finishReason, rawFinishReason }, events: [['hi']], end: { finishReason, rawFinishReason } };
      expect((await p.getCompletion(ask)).rawFinishReason).toBe(kept);
      expect((await p.streamCompletion(ask).result).rawFinishReason).toBe(kept);
    }
  });
});

describe('tool settings', () => {
  it('converts a zod schema to JSON Schema and hands the tools, choice and parallel flag to the plugin', async () => {
    reply = { completion: { text: 'ok', finishReason: 'stop' } };
    await provider().getCompletion(ask, {
      tools: [{ name: 'get_weather', description: 'Weather', parameters: z.object({ city: z.string().describe('the city'), days: z.number().default(1) }) }],
      toolChoice: { type: 'tool', name: 'get_weather' },
      parallelToolCalls: false,
    });
    expect(bodies[0].tools).toEqual([
      {
        name: 'get_weather',
        description: 'Weather',
        parameters: {
          type: 'object',
          properties: { city: { type: 'string', description: 'the city' }, days: { type: 'number', default: 1 } },
          required: ['city'],
          additionalProperties: false,
        },
      },
    ]);
    expect(bodies[0].toolChoice).toEqual({ type: 'tool', name: 'get_weather' });
    expect(bodies[0].parallelToolCalls).toBe(false);
  });

  it('refuses bad tools and choices with a TypeError before any request', async () => {
    const p = provider();
    expect(() => p.streamCompletion(ask, { tools: [{ name: 'get weather', parameters: {} }] })).toThrow(/"get weather" must be 1 to 64/);
    await expect(p.getCompletion(ask, { tools: [weather, weather] })).rejects.toThrow(/used by two tools/);
    await expect(p.getCompletion(ask, { tools: [weather], toolChoice: { type: 'tool', name: 'nope' } })).rejects.toThrow(TypeError);
    await expect(p.getCompletion(ask, { toolChoice: 'required' })).rejects.toThrow(/needs at least one tool/);
    await expect(p.getCompletion(ask, { tools: [{ name: 'x', parameters: 'object' as never }] })).rejects.toThrow(/JSON Schema object or a zod schema/);
    expect(bodies).toHaveLength(0);
  });

  it("refuses an assistant message whose tool calls lack an id or a name, before any request", async () => {
    reply = { completion: { text: 'ok', finishReason: 'stop' } };
    const p = provider();
    for (const call of [{ name: 'get_weather', arguments: {} }, { id: 'c1', arguments: {} }]) {
      const messages = [...ask, { role: 'assistant', content: '', toolCalls: [call] } as unknown as ChatMessage];
      await expect(p.getCompletion(messages, { tools: [weather] })).rejects.toThrow('messages[1].toolCalls must be the { id, name, arguments } calls of a result');
    }
    expect(bodies).toHaveLength(0);
  });

  it('an empty tools list is no tools (and no tool choice)', async () => {
    reply = { completion: { text: 'ok', finishReason: 'stop' } };
    await provider(['completion']).getCompletion(ask, { tools: [], toolChoice: 'auto' });
    expect(bodies[0].tools).toBeUndefined();
    expect(bodies[0].toolChoice).toBeUndefined();
  });
});

describe('capabilities', () => {
  it('tools, images and a JSON response format to a provider without them are refused before any request', async () => {
    const p = provider(['completion', 'streaming']);
    const refusal = async (call: () => unknown, feature: string) => {
      let error: unknown;
      try {
        await call();
      } catch (e) {
        error = e;
      }
      expect(CapabilityNotSupportedError.isInstance(error)).toBe(true);
      expect((error as Error).message).toContain(feature);
    };
    await refusal(() => p.getCompletion(ask, { tools: [weather] }), 'tool calling');
    await refusal(() => p.streamCompletion(ask, { tools: [weather] }), 'tool calling');
    const image: ChatMessage[] = [{ role: 'user', content: [{ type: 'text', text: 'what is it?' }, { type: 'image', image: 'aGk=', mimeType: 'image/png' }] }];
    await refusal(() => p.getCompletion(image), 'image input');
    await refusal(() => p.getCompletion(ask, { responseFormat: { type: 'json' } }), 'structured output');
    expect(bodies).toHaveLength(0);
  });

  it('a text response format needs no structured_output: it reaches a plain provider', async () => {
    reply = { completion: { text: 'ok', finishReason: 'stop' } };
    const result = await provider(['completion']).getCompletion(ask, { responseFormat: { type: 'text' } });
    expect(result.text).toBe('ok');
    expect(bodies[0].responseFormat).toEqual({ type: 'text' });
  });

  it('a reasoning setting reaches the plugin, streamed or not, and is never refused (the backend may ignore it)', async () => {
    reply = { completion: { text: 'ok', finishReason: 'stop' }, events: [['ok']] };
    const p = provider(['completion', 'streaming']);
    await p.getCompletion(ask, { reasoning: 'high' });
    await p.streamCompletion(ask, { reasoning: false }).result;
    expect(bodies.map((b) => b.reasoning)).toEqual(['high', false]);
  });

  it('features count as implemented when completions are; operations by their do* methods', () => {
    const caps = implementedCapabilities(provider());
    expect(caps).toEqual(expect.arrayContaining(['completion', 'streaming', 'tools', 'reasoning', 'structured_output', 'vision']));
    expect(caps).not.toContain('embeddings');
    expect(caps).not.toContain('models');
  });
});

describe('plugins of the first API (text only)', () => {
  const conversation: ChatMessage[] = [
    { role: 'user', content: [{ type: 'text', text: 'Weather in Oslo?' }, { type: 'text', text: 'Briefly.' }] },
    { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'get_weather', arguments: { city: 'Oslo' } }] },
    { role: 'tool', content: '{"temp": 3}', toolCallId: 'c1', name: 'get_weather' },
  ];

  it('receive string contents, tool calls as text and tool messages without the new fields', async () => {
    reply = { completion: { text: 'Cold.', finishReason: 'stop' } };
    await provider(['completion']).getCompletion(conversation);
    expect(bodies[0].messages).toEqual([
      { role: 'user', content: 'Weather in Oslo?\nBriefly.' },
      { role: 'assistant', content: '[called tool get_weather (id c1) with {"city":"Oslo"}]' },
      { role: 'tool', content: '{"temp": 3}', name: 'get_weather' },
    ]);
  });

  it('keep an assistant message\'s own text before the calls written into it', async () => {
    reply = { completion: { text: 'Cold.', finishReason: 'stop' } };
    await provider(['completion']).getCompletion([
      { role: 'user', content: 'Weather in Oslo and Rome?' },
      {
        role: 'assistant',
        content: 'Let me check both.',
        toolCalls: [
          { id: 'c1', name: 'get_weather', arguments: { city: 'Oslo' } },
          { id: 'c2', name: 'get_weather', arguments: { city: 'Rome' } },
        ],
      },
    ]);
    expect(bodies[0].messages[1]).toEqual({
      role: 'assistant',
      content: 'Let me check both.\n[called tool get_weather (id c1) with {"city":"Oslo"}]\n[called tool get_weather (id c2) with {"city":"Rome"}]',
    });
  });

  it('a provider with tools receives the conversation as it is', async () => {
    reply = { completion: { text: 'Cold.', finishReason: 'stop' } };
    await provider(['completion', 'tools']).getCompletion(conversation);
    expect(bodies[0].messages.slice(1)).toEqual(conversation.slice(1));
  });
});

/** Yields every scripted item on its own (no batches), as a hand-written plugin stream may. */
class OneByOneProvider extends ScriptedProvider {
  protected override async *doStream(messages: ChatMessage[], s: CallSettings): ProviderStream {
    const inner = super.doStream(messages, s);
    for (;;) {
      const step = await inner.next();
      if (step.done) return step.value;
      for (const item of step.value as StreamItem[]) yield item;
    }
  }
}

describe('events()', () => {
  it('reads a plain text stream as text deltas and a finish with usage', async () => {
    reply = { events: [['Hel', 'lo'], ['!']], end: { finishReason: 'stop', usage: { completionTokens: 3 } } };
    const seen = await events(provider(['completion', 'streaming']).streamCompletion(ask).events());
    expect(seen).toEqual([
      { type: 'text-delta', text: 'Hel' },
      { type: 'text-delta', text: 'lo' },
      { type: 'text-delta', text: '!' },
      { type: 'finish', finishReason: 'stop', usage: { completionTokens: 3 } },
    ]);
  });

  it('takes parts yielded one at a time, not only in batches', async () => {
    const config = BaseBackendConfig.parse({ profile_name: 'tp', type: 'scripted', max_retries: 0 });
    const p = new OneByOneProvider(config, {
      profileName: 'tp',
      providerType: 'scripted',
      capabilities: ['completion', 'streaming', 'tools', 'reasoning'],
      http: client,
      logger: { debug() {}, info() {}, warn() {}, error() {} },
      getProvider: () => Promise.reject(new Error('none')),
    });
    reply = { events: [[{ type: 'reasoning', text: 'r' }, 'T'], ...parallelFragments] };
    const stream = p.streamCompletion(ask, { tools: [weather, stock] });
    const seen = await events(stream.events());
    expect(seen.slice(0, 2)).toEqual([
      { type: 'reasoning-delta', text: 'r' },
      { type: 'text-delta', text: 'T' },
    ]);
    const result = await stream.result;
    expect(result.text).toBe('T');
    expect(result.reasoning).toBe('r');
    expect(result.toolCalls!.map((c) => c.arguments)).toEqual([{ city: 'Edinburgh' }, { ticker: 'AAPL' }]);
  });

  it('a break out of events() closes the stream and rejects result', async () => {
    reply = { events: [['a'], ['b'], ['c']] };
    const stream = provider().streamCompletion(ask);
    for await (const e of stream.events()) {
      expect(e).toEqual({ type: 'text-delta', text: 'a' });
      break;
    }
    await expect(stream.result).rejects.toThrow('closed by the consumer');
  });

  it('a stream is read once: events() after iterating fails', async () => {
    reply = { events: [['a']] };
    const stream = provider().streamCompletion(ask);
    for await (const _ of stream) {
      // drain
    }
    await expect(events(stream.events())).rejects.toThrow('iterated only once');
  });
});

describe('providers with vision', () => {
  it('receive content parts as they are', async () => {
    reply = { completion: { text: 'A cat.', finishReason: 'stop' } };
    const content = [{ type: 'text' as const, text: 'What is it?' }, { type: 'image' as const, image: 'aGk=', mimeType: 'image/png' }];
    await provider(['completion', 'vision']).getCompletion([{ role: 'user', content }]);
    expect(bodies[0].messages[0].content).toEqual(content);
  });
});

describe('malformed calls', () => {
  it('a call without a tool name is a bad_response, streamed or not', async () => {
    reply = {
      completion: { text: '', finishReason: 'tool_calls', toolCalls: [{ name: '', arguments: '{}' }] },
      events: [[{ type: 'tool-call-delta', index: 0, id: 'c1', arguments: '{}' }]],
    };
    const p = provider();
    for (const call of [() => p.getCompletion(ask, { tools: [weather] }), () => p.streamCompletion(ask, { tools: [weather] }).result]) {
      const error = await rejection(call());
      expect(ProviderError.isInstance(error)).toBe(true);
      expect((error as ProviderError).reason).toBe('bad_response');
      expect((error as Error).message).toMatch(/without (a tool name|ever naming its tool)/);
    }
  });

  it('more of a call streamed after it was complete is a bad_response, not silently dropped', async () => {
    reply = {
      events: [
        [{ type: 'tool-call', index: 0, id: 'c1', name: 'get_weather', arguments: { city: 'Rome' } }],
        [{ type: 'tool-call-delta', index: 0, arguments: ', "days": 2}' }],
      ],
    };
    const error = await rejection(provider().streamCompletion(ask, { tools: [weather] }).result);
    expect(ProviderError.isInstance(error)).toBe(true);
    expect((error as ProviderError).reason).toBe('bad_response');
    expect((error as Error).message).toContain('after it was complete');
  });
});

it('an InvalidToolArgumentsError never shows a configured secret, not even in its raw arguments', async () => {
  reply = { completion: { text: '', finishReason: 'tool_calls', toolCalls: [{ name: 'get_weather', arguments: `{"key": "${SECRET}"` }] } };
  const error = (await rejection(provider().getCompletion(ask, { tools: [weather] }))) as InvalidToolArgumentsError;
  expect(InvalidToolArgumentsError.isInstance(error)).toBe(true);
  expect(JSON.stringify([error.message, error.stack, error.bodyExcerpt, error.rawArguments])).not.toContain(SECRET);
  expect(error.rawArguments).toContain('"key"');
});
