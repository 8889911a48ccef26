/**
 * What the agent contract carries, through the gateway, driven by clients
 * nobody here wrote: tools (streamed and not, the whole round trip),
 * `response_format`, image parts and reasoning, with the official `openai`
 * client and the AI SDK's OpenAI-compatible provider, the emulators behind.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import OpenAI from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import type { ChatCompletionChunk, ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { generateObject, generateText, jsonSchema, Output, stepCountIs, streamText, tool } from 'ai';
import { createTestAegis } from '@aegis/testkit';
import { z } from '@aegis/core';
import examplePlugin from 'aegis-provider-example-com';
import { createGateway } from './index.js';
import { backendsYaml, PLUGINS, startBackends, UPSTREAM_ENV, type Backends } from './__tests__/harness.js';

/** A 1×1 PNG. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==', 'base64');
const PNG_URL = `data:image/png;base64,${PNG.toString('base64')}`;

const weatherTool: ChatCompletionTool = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};
const timeTool: ChatCompletionTool = {
  type: 'function',
  function: { name: 'get_time', parameters: { type: 'object', properties: { tz: { type: 'string' } }, required: ['tz'] } },
};

let backends: Backends;
let url: string;
let close: () => Promise<void>;
let client: OpenAI;

beforeAll(async () => {
  backends = await startBackends();
  // Beside the harness's profiles: an API-1 plugin's profile (completion and streaming only), never called.
  const yaml = backendsYaml(
    backends,
    `  - profile_name: plain
    type: example_com
    llm_url: ${backends.deadUrl}/completion
    api_key: example-key-0123456789
`,
  );
  const test = createTestAegis({ plugins: [...PLUGINS, examplePlugin], profiles: yaml, env: UPSTREAM_ENV });
  const gateway = await createGateway(test.aegis, { accessLog: false, defaultMetrics: false });
  ({ url } = await gateway.listen({ port: 0, host: '127.0.0.1' }));
  close = async () => {
    await gateway.close({ timeoutMs: 0 });
    test.close();
  };
  client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused-on-loopback', maxRetries: 0 });
});

afterAll(async () => {
  await close?.();
  await backends?.close();
});

beforeEach(() => {
  backends.openai.reset();
  backends.ollama.reset();
});

const twoCalls = [
  { id: 'call_w1', name: 'get_weather', arguments: { city: 'Paris' } },
  { id: 'call_t1', name: 'get_time', arguments: { tz: 'Europe/Paris' } },
];

describe('tools with the official openai client', () => {
  it('non-streamed: the calls with ids and JSON arguments, finish_reason tool_calls; tools and tool_choice reach the backend', async () => {
    backends.openai.setReply({ toolCalls: twoCalls });
    const answer = await client.chat.completions.create({
      model: 'chat',
      messages: [{ role: 'user', content: 'Weather and time in Paris?' }],
      tools: [weatherTool, timeTool],
      tool_choice: 'required',
      parallel_tool_calls: true,
    });
    const choice = answer.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    expect(choice.message.tool_calls).toEqual([
      { id: 'call_w1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
      { id: 'call_t1', type: 'function', function: { name: 'get_time', arguments: '{"tz":"Europe/Paris"}' } },
    ]);
    const sent = backends.openai.lastRequest!.json;
    expect(sent.tools.map((t: ChatCompletionTool) => t.type === 'function' && t.function.name)).toEqual(['get_weather', 'get_time']);
    expect(sent.tools[0].function).toMatchObject({ description: 'The weather in a city', parameters: weatherTool.function.parameters });
    expect(sent.tool_choice).toBe('required');
    expect(sent.parallel_tool_calls).toBe(true);

    await client.chat.completions.create({
      model: 'chat',
      messages: [{ role: 'user', content: 'x' }],
      tools: [weatherTool, timeTool],
      tool_choice: { type: 'function', function: { name: 'get_time' } },
    });
    expect(backends.openai.lastRequest!.json.tool_choice).toEqual({ type: 'function', function: { name: 'get_time' } });
  });

  it('streamed: OpenAI tool-call chunks (index, id, type, name, then argument fragments) the client\'s stream helper reassembles', async () => {
    backends.openai.setReply({ text: 'Let me look.', toolCalls: twoCalls });
    const chunks: ChatCompletionChunk[] = [];
    const runner = client.chat.completions.stream({
      model: 'chat',
      messages: [{ role: 'user', content: 'Weather and time in Paris?' }],
      tools: [weatherTool, timeTool],
    });
    const done: string[] = [];
    runner.on('chunk', (chunk) => chunks.push(chunk));
    runner.on('tool_calls.function.arguments.done', (event) => done.push(`${event.name} ${event.arguments}`));
    const final = await runner.finalChatCompletion();
    const message = final.choices[0]!.message;
    expect(final.choices[0]!.finish_reason).toBe('tool_calls');
    expect(message.content).toBe('Let me look.');
    expect(message.tool_calls).toEqual([
      { id: 'call_w1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
      { id: 'call_t1', type: 'function', function: { name: 'get_time', arguments: '{"tz":"Europe/Paris"}' } },
    ]);
    expect(done).toEqual(['get_weather {"city":"Paris"}', 'get_time {"tz":"Europe/Paris"}']);

    // On the wire: a first chunk per call as OpenAI sends it, then fragments with only index and arguments.
    const callDeltas = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    const firsts = callDeltas.filter((d) => d.id !== undefined);
    expect(firsts).toEqual([
      { index: 0, id: 'call_w1', type: 'function', function: { name: 'get_weather', arguments: '' } },
      { index: 1, id: 'call_t1', type: 'function', function: { name: 'get_time', arguments: '' } },
    ]);
    const fragments = callDeltas.filter((d) => d.id === undefined);
    expect(fragments.length).toBeGreaterThan(2);
    for (const f of fragments) expect(Object.keys(f).sort()).toEqual(['function', 'index']);
    expect(fragments.filter((f) => f.index === 0).map((f) => f.function!.arguments).join('')).toBe('{"city":"Paris"}');
  });

  it('a whole round trip: calls, then the results as tool messages, then the answer; each turn reaches the backend in its own format', async () => {
    const tools = [weatherTool, timeTool];
    // Ollama: calls arrive whole, and a tool result names its tool (the gateway finds the name by tool_call_id).
    backends.ollama.setReply({ toolCalls: twoCalls, afterToolResults: { text: 'Sunny, and it is noon.' } });
    const messages: ChatCompletionMessageParam[] = [{ role: 'user', content: 'Weather and time in Paris?' }];
    const first = await client.chat.completions.create({ model: 'llama', messages, tools });
    const calls = first.choices[0]!.message.tool_calls!;
    expect(calls.map((c) => c.type === 'function' && c.function.name)).toEqual(['get_weather', 'get_time']);
    messages.push(first.choices[0]!.message);
    for (const call of calls) {
      messages.push({ role: 'tool', tool_call_id: call.id, content: call.type === 'function' && call.function.name === 'get_weather' ? '{"sky":"sunny"}' : '12:00' });
    }
    const second = await client.chat.completions.create({ model: 'llama', messages, tools });
    expect(second.choices[0]!.message.content).toBe('Sunny, and it is noon.');
    expect(second.choices[0]!.finish_reason).toBe('stop');
    const wire = backends.ollama.toolWire!;
    const sent = backends.ollama.lastRequest!;
    expect(wire.assistantCalls(sent)).toEqual([
      expect.objectContaining({ name: 'get_weather', arguments: { city: 'Paris' } }),
      expect.objectContaining({ name: 'get_time', arguments: { tz: 'Europe/Paris' } }),
    ]);
    expect(wire.toolResults(sent)).toEqual([
      expect.objectContaining({ name: 'get_weather', content: '{"sky":"sunny"}' }),
      expect.objectContaining({ name: 'get_time', content: '12:00' }),
    ]);

    // OpenAI: the ids go back as they came.
    backends.openai.setReply({ toolCalls: [twoCalls[0]!], afterToolResults: { text: 'Sunny.' } });
    const turn = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'Weather?' }], tools, stream: false });
    const call = turn.choices[0]!.message.tool_calls![0]!;
    const answer = await client.chat.completions.create({
      model: 'chat',
      tools,
      messages: [{ role: 'user', content: 'Weather?' }, turn.choices[0]!.message, { role: 'tool', tool_call_id: call.id, content: 'sunny' }],
    });
    expect(answer.choices[0]!.message.content).toBe('Sunny.');
    const openaiSent = backends.openai.lastRequest!.json.messages;
    expect(openaiSent[1]).toMatchObject({ role: 'assistant', tool_calls: [{ id: 'call_w1', type: 'function', function: { name: 'get_weather' } }] });
    expect(JSON.parse(openaiSent[1].tool_calls[0].function.arguments)).toEqual({ city: 'Paris' });
    expect(openaiSent[2]).toMatchObject({ role: 'tool', tool_call_id: 'call_w1', content: 'sunny' });
  });

  it('refuses what it cannot serve with a 400 naming it: a profile without tools, bad arguments, an unknown named tool', async () => {
    const refused = async (body: Record<string, unknown>) => {
      const error = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'x' }], ...body } as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      return error as InstanceType<typeof OpenAI.APIError>;
    };
    const noTools = await refused({ model: 'plain', tools: [weatherTool] });
    expect(noTools.message).toMatch(/model "plain" does not support tools/);
    expect(noTools.code).toBe('capability_not_supported');
    expect(noTools.param).toBe('tools');

    const badArgs = await refused({
      messages: [
        { role: 'user', content: 'x' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city":' } }] },
        { role: 'tool', tool_call_id: 'c1', content: 'r' },
      ],
      tools: [weatherTool],
    });
    expect(badArgs.param).toBe('messages[1].tool_calls[0].function.arguments');

    expect((await refused({ tools: [weatherTool], tool_choice: { type: 'function', function: { name: 'nope' } } })).param).toBe('tool_choice');
    expect((await refused({ tool_choice: 'required' })).param).toBe('tool_choice');
    expect((await refused({ tools: [weatherTool], messages: [{ role: 'tool', content: 'r' }] })).param).toBe('messages[0].tool_call_id');
    expect((await refused({ functions: [weatherTool.function] })).param).toBe('functions');
    expect(backends.openai.requests).toHaveLength(0);
  });

  it('a backend\'s invalid tool-call arguments are a 502 naming them; a fallback profile serves tools through its live member', async () => {
    backends.openai.setReply({ toolCalls: [twoCalls[0]!] });
    backends.openai.failNext({ kind: 'invalid-tool-arguments' });
    const error = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'x' }], tools: [weatherTool] }).catch((e: unknown) => e);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('invalid_tool_arguments');
    expect((error as Error).message).toMatch(/get_weather/);

    backends.ollama.setReply({ toolCalls: [twoCalls[1]!] });
    const stream = client.chat.completions.stream({ model: 'safe', messages: [{ role: 'user', content: 'Time?' }], tools: [weatherTool, timeTool] });
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]!.finish_reason).toBe('tool_calls');
    expect(final.choices[0]!.message.tool_calls).toEqual([
      { id: 'call_t1', type: 'function', function: { name: 'get_time', arguments: '{"tz":"Europe/Paris"}' } },
    ]);
  });
});

describe('response_format, images and reasoning with the official openai client', () => {
  const Weather = z.object({ city: z.string(), celsius: z.number() });

  it('json_schema: the schema reaches the backend, the client parses the answer', async () => {
    backends.openai.setReply({ text: '{"city":"Paris","celsius":21}' });
    const answer = await client.chat.completions.parse({
      model: 'chat',
      messages: [{ role: 'user', content: 'Weather in Paris as JSON' }],
      response_format: zodResponseFormat(Weather as never, 'weather'),
    });
    expect(answer.choices[0]!.message.parsed).toEqual({ city: 'Paris', celsius: 21 });
    const sent = backends.openai.lastRequest!.json.response_format;
    expect(sent).toMatchObject({ type: 'json_schema', json_schema: { name: 'weather', strict: true } });
    expect(sent.json_schema.schema.properties).toMatchObject({ city: { type: 'string' }, celsius: { type: 'number' } });
  });

  it('an answer off the schema is a 502 naming it (invalid_structured_output), streamed or not; json_object reaches Ollama as format: json', async () => {
    backends.openai.setReply({ text: '{"city":"Paris"}' });
    const body = {
      model: 'chat',
      messages: [{ role: 'user' as const, content: 'x' }],
      response_format: { type: 'json_schema' as const, json_schema: { name: 'weather', schema: { type: 'object', properties: { celsius: { type: 'number' } }, required: ['celsius'] } } },
    };
    const error = await client.chat.completions.create(body).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.InternalServerError);
    expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('invalid_structured_output');
    expect((error as Error).message).toMatch(/celsius/);

    // Streamed, the text has gone out when the check fails: the stream ends with the error event (the client throws it).
    const stream = await client.chat.completions.create({ ...body, stream: true });
    const failure = await (async () => {
      for await (const _ of stream) {
        // read on
      }
    })().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect((failure as Error).message).toMatch(/response_format/);

    backends.ollama.setReply({ text: '{"ok":true}' });
    const json = await client.chat.completions.create({ model: 'llama', messages: [{ role: 'user', content: 'x' }], response_format: { type: 'json_object' } });
    expect(JSON.parse(json.choices[0]!.message.content!)).toEqual({ ok: true });
    expect(backends.ollama.lastRequest!.json.format).toBe('json');

    // A model that wraps its JSON in a Markdown fence: core accepts it, the caller gets the bare JSON.
    backends.ollama.setReply({ text: '```json\n{"ok": true}\n```' });
    const fenced = await client.chat.completions.create({ model: 'llama', messages: [{ role: 'user', content: 'x' }], response_format: { type: 'json_object' } });
    expect(fenced.choices[0]!.message.content).toBe('{"ok":true}');
  });

  it('an image_url data URL reaches OpenAI as an image_url part and Ollama as bare base64; an https URL Ollama cannot take is a 400', async () => {
    const content: OpenAI.ChatCompletionContentPart[] = [
      { type: 'text', text: 'What is this?' },
      { type: 'image_url', image_url: { url: PNG_URL, detail: 'auto' } },
    ];
    await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content }] });
    const parts = backends.openai.lastRequest!.json.messages[0].content;
    expect(parts).toEqual([
      { type: 'text', text: 'What is this?' },
      { type: 'image_url', image_url: expect.objectContaining({ url: PNG_URL }) },
    ]);

    await client.chat.completions.create({ model: 'llama', messages: [{ role: 'user', content }] });
    const message = backends.ollama.lastRequest!.json.messages[0];
    expect(message.content).toBe('What is this?');
    expect(Buffer.compare(Buffer.from(message.images[0], 'base64'), PNG)).toBe(0);

    const remote = await client.chat.completions
      .create({ model: 'llama', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://images.example/cat.png' } }] }] })
      .catch((e: unknown) => e);
    expect(remote).toBeInstanceOf(OpenAI.BadRequestError);
    expect((remote as Error).message).toMatch(/does not support images given as URLs/);
    const noVision = await client.chat.completions.create({ model: 'plain', messages: [{ role: 'user', content }] }).catch((e: unknown) => e);
    expect((noVision as Error).message).toMatch(/model "plain" does not support vision/);
    const http = await client.chat.completions
      .create({ model: 'chat', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'http://10.0.0.1/x.png' } }] }] })
      .catch((e: unknown) => e);
    expect((http as InstanceType<typeof OpenAI.APIError>).param).toBe('messages[0].content[0].image_url.url');
    // A resolution the contract cannot carry is refused by name, not dropped.
    const calls = backends.openai.requests.length;
    const detailed = await client.chat.completions
      .create({ model: 'chat', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: PNG_URL, detail: 'high' } }] }] })
      .catch((e: unknown) => e);
    expect(detailed).toBeInstanceOf(OpenAI.BadRequestError);
    expect((detailed as InstanceType<typeof OpenAI.APIError>).param).toBe('messages[0].content[0].image_url.detail');
    expect(backends.openai.requests.length).toBe(calls);
  });

  it('reasoning as vLLM sends it: message.reasoning, and delta.reasoning before the answer\'s deltas', async () => {
    backends.ollama.setReply({ reasoning: 'The user greets me; greet back.', text: 'Hello!' });
    const answer = await client.chat.completions.create({ model: 'llama', messages: [{ role: 'user', content: 'Hi' }] });
    const message = answer.choices[0]!.message as typeof answer.choices[0]['message'] & { reasoning?: string };
    expect(message.reasoning).toBe('The user greets me; greet back.');
    expect(message.content).toBe('Hello!');

    const stream = await client.chat.completions.create({ model: 'llama', messages: [{ role: 'user', content: 'Hi' }], stream: true });
    const order: string[] = [];
    let reasoning = '';
    let text = '';
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta as { content?: string | null; reasoning?: string } | undefined;
      if (delta?.reasoning) {
        reasoning += delta.reasoning;
        if (order.at(-1) !== 'reasoning') order.push('reasoning');
      }
      if (delta?.content) {
        text += delta.content;
        if (order.at(-1) !== 'content') order.push('content');
      }
    }
    expect(reasoning).toBe('The user greets me; greet back.');
    expect(text).toBe('Hello!');
    expect(order).toEqual(['reasoning', 'content']);

    // reasoning_effort is the contract's reasoning setting: "none" switches Ollama's thinking off, a level is sent as on.
    await client.chat.completions.create({ model: 'llama', messages: [{ role: 'user', content: 'Hi' }], reasoning_effort: 'none' as never });
    expect(backends.ollama.lastRequest!.json.think).toBe(false);
    await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'Hi' }], reasoning_effort: 'high' });
    expect(backends.openai.lastRequest!.json.reasoning_effort).toBe('high');
  });

  it('a secret the backend echoes is scrubbed even split across deltas, in text and in tool-call arguments', async () => {
    const key = UPSTREAM_ENV.UPSTREAM_KEY;
    backends.openai.setReply({ chunks: ['the key is ', key.slice(0, 9), key.slice(9), ' ok'] });
    let text = '';
    for await (const chunk of await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'x' }], stream: true })) {
      text += chunk.choices[0]?.delta.content ?? '';
    }
    expect(text).toBe('the key is *** ok');

    // The emulator sends arguments in 5-character fragments: the key is cut across several.
    backends.openai.setReply({ toolCalls: [{ id: 'call_s', name: 'get_weather', arguments: { city: key } }] });
    const final = await client.chat.completions.stream({ model: 'chat', messages: [{ role: 'user', content: 'x' }], tools: [weatherTool] }).finalChatCompletion();
    const args = final.choices[0]!.message.tool_calls![0]!;
    expect(args.type === 'function' && JSON.parse(args.function.arguments)).toEqual({ city: '***' });
    const whole = await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'x' }], tools: [weatherTool] });
    expect(JSON.stringify(whole)).not.toContain(key);
  });

  it('a secret the backend echoes in its reasoning is scrubbed from a non-streamed message.reasoning', async () => {
    const key = UPSTREAM_ENV.UPSTREAM_KEY;
    backends.ollama.setReply({ reasoning: `The key is ${key}; do not repeat it.`, text: 'Done.' });
    const answer = await client.chat.completions.create({ model: 'llama', messages: [{ role: 'user', content: 'Hi' }] });
    const message = answer.choices[0]!.message as typeof answer.choices[0]['message'] & { reasoning?: string };
    expect(message.reasoning).toBe('The key is ***; do not repeat it.');
    expect(message.content).toBe('Done.');
    expect(JSON.stringify(answer)).not.toContain(key);
  });
});

describe('the AI SDK (OpenAI-compatible provider) with tools and structured output', () => {
  const provider = (options: { supportsStructuredOutputs?: boolean } = {}) =>
    createOpenAICompatible({ name: 'aegis', baseURL: `${url}/v1`, apiKey: 'unused', includeUsage: true, ...options });
  const weather = tool({
    description: 'The weather in a city',
    inputSchema: z.object({ city: z.string() }),
    execute: async ({ city }: { city: string }) => ({ city, sky: 'sunny' }),
  });

  it('generateText runs the tool loop: the call, the SDK executes it, the answer', async () => {
    backends.openai.setReply({ toolCalls: [{ id: 'call_g1', name: 'weather', arguments: { city: 'Paris' } }], afterToolResults: { text: 'It is sunny in Paris.' } });
    const result = await generateText({ model: provider().chatModel('chat'), prompt: 'Weather in Paris?', tools: { weather }, stopWhen: stepCountIs(3), maxRetries: 0 });
    expect(result.text).toBe('It is sunny in Paris.');
    expect(result.steps).toHaveLength(2);
    expect(result.steps[0]!.toolCalls).toEqual([expect.objectContaining({ toolCallId: 'call_g1', toolName: 'weather', input: { city: 'Paris' } })]);
    expect(result.steps[0]!.finishReason).toBe('tool-calls');
    const last = backends.openai.lastRequest!.json.messages;
    expect(last.at(-1)).toMatchObject({ role: 'tool', tool_call_id: 'call_g1' });
    expect(JSON.parse(last.at(-1).content)).toEqual({ city: 'Paris', sky: 'sunny' });
  });

  it('streamText with tools through Ollama: tool-call parts, then the streamed answer', async () => {
    backends.ollama.setReply({ toolCalls: [{ name: 'weather', arguments: { city: 'Oslo' } }], afterToolResults: { chunks: ['Snow', ' in', ' Oslo.'] } });
    const result = streamText({ model: provider().chatModel('llama'), prompt: 'Weather in Oslo?', tools: { weather }, stopWhen: stepCountIs(3), maxRetries: 0 });
    const calls: unknown[] = [];
    const results: unknown[] = [];
    let text = '';
    for await (const part of result.fullStream) {
      if (part.type === 'tool-call') calls.push({ name: part.toolName, input: part.input });
      if (part.type === 'tool-result') results.push(part.output);
      if (part.type === 'text-delta') text += part.text;
      if (part.type === 'error') throw part.error;
    }
    expect(calls).toEqual([{ name: 'weather', input: { city: 'Oslo' } }]);
    expect(results).toEqual([{ city: 'Oslo', sky: 'sunny' }]);
    expect(text).toBe('Snow in Oslo.');
  });

  it('generateObject and Output.object with a zod schema (json_schema on the wire)', async () => {
    const Weather = z.object({ city: z.string(), celsius: z.number() });
    backends.openai.setReply({ text: '{"city":"Rome","celsius":25}' });
    const { object } = await generateObject({ model: provider({ supportsStructuredOutputs: true }).chatModel('chat'), schema: Weather, prompt: 'Weather in Rome', maxRetries: 0 });
    expect(object).toEqual({ city: 'Rome', celsius: 25 });
    expect(backends.openai.lastRequest!.json.response_format).toMatchObject({ type: 'json_schema', json_schema: { name: expect.any(String) } });

    backends.ollama.setReply({ text: '{"city":"Oslo","celsius":-3}' });
    const { output } = await generateText({
      model: provider({ supportsStructuredOutputs: true }).chatModel('llama'),
      output: Output.object({ schema: jsonSchema<{ city: string; celsius: number }>({ type: 'object', properties: { city: { type: 'string' }, celsius: { type: 'number' } }, required: ['city', 'celsius'] }) }),
      prompt: 'Weather in Oslo',
      maxRetries: 0,
    });
    expect(output).toEqual({ city: 'Oslo', celsius: -3 });
    expect(backends.ollama.lastRequest!.json.format).toMatchObject({ type: 'object', required: ['city', 'celsius'] });
  });
});
