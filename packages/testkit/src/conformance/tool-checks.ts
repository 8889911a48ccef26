/**
 * The checks of the `tools` and `reasoning` capabilities. Backend-agnostic: a
 * scripted reply (`ScriptedReply.toolCalls`, `reasoning`) makes the emulator
 * answer in its backend's own framing, and its `toolWire` reader says what a
 * request carried, so the same checks prove every plugin the same way.
 */
import {
  CapabilityNotSupportedError,
  InvalidToolArgumentsError,
  ProviderError,
  type BackendProvider,
  type Capability,
  type ChatMessage,
  type CompletionResult,
  type RuntimeExecutionConfig,
  type StreamEvent,
  type ToolCall,
  type ToolChoice,
  type ToolDefinition,
} from '@aegis/core';
import type { ScriptedToolCall, ToolWireReader } from '../types.js';
import { check, describeError, fail, settle, show } from './assert.js';
import type { ConformanceEnv } from './types.js';

/** What the feature checks need from `conformanceChecks`. */
export interface FeatureCheckScope {
  env: ConformanceEnv;
  who: string;
  has(capability: Capability): boolean;
  declares(capability: Capability): boolean;
  provider(overrides?: Record<string, unknown>): Promise<BackendProvider>;
  add(id: string, name: string, body: () => Promise<void>, extra?: { capability?: Capability; skip?: string }): void;
  /** The conformance options' `unsupportedToolChoices`: refused by the plugin, by design. */
  unsupportedToolChoices: readonly ('none' | 'required' | 'tool')[];
}

const PROMPT: ChatMessage[] = [{ role: 'user', content: 'What is the weather in Edinburgh, and the price of AAPL?' }];
const WEATHER: ToolDefinition = {
  name: 'get_weather',
  description: 'Current weather of a city',
  parameters: {
    type: 'object',
    properties: { city: { type: 'string', description: 'The city' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } },
    required: ['city'],
  },
};
const STOCK: ToolDefinition = {
  name: 'get_stock_price',
  description: 'Latest price of a stock',
  parameters: { type: 'object', properties: { ticker: { type: 'string' } }, required: ['ticker'] },
};
const TOOLS = [WEATHER, STOCK];
const CALLS: ScriptedToolCall[] = [
  { name: 'get_weather', arguments: { city: 'Edinburgh', unit: 'celsius' } },
  { name: 'get_stock_price', arguments: { ticker: 'AAPL' } },
];
const RESULTS = ['{"temperature": 12, "unit": "celsius"}', '{"price": 231.5}'];
const FINAL_ANSWER = 'It is 12 degrees in Edinburgh and AAPL trades at 231.50.';
const REASONING = 'The user asks two things; answer both briefly.';
const ANSWER = 'Both answers follow.';

/** A streamed answer read as events, with its result. */
interface Evented {
  events: StreamEvent[];
  result: CompletionResult;
}

async function evented(p: BackendProvider, runtime: RuntimeExecutionConfig, messages = PROMPT): Promise<Evented> {
  const stream = p.streamCompletion(messages, runtime);
  const events: StreamEvent[] = [];
  for await (const event of stream.events()) events.push(event);
  return { events, result: await stream.result };
}

const plain = (calls: readonly ToolCall[] | undefined) => (calls ?? []).map(({ name, arguments: args }) => ({ name, arguments: args }));
const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Checks a result's calls against the scripted ones: parsed, with ids, in order, and the finish reason. */
function checkCalls(result: CompletionResult, expected: readonly ScriptedToolCall[], how: string): void {
  const calls = result.toolCalls;
  check(Array.isArray(calls), `${how} returned no toolCalls although the server answered ${expected.length} tool call(s): map the backend's calls to toolCalls`);
  check(
    same(plain(calls), expected.map(({ name, arguments: a }) => ({ name, arguments: a }))),
    () => `${how} returned the calls ${show(plain(calls), 300)}, expected ${show(expected, 300)} (names and parsed arguments, in order)`,
  );
  for (const call of calls) check(typeof call.id === 'string' && call.id !== '', `${how} returned a call without an id: ${show(call)}`);
  check(new Set(calls.map((c) => c.id)).size === calls.length, `${how} returned two calls with the same id: ${show(calls.map((c) => c.id))}`);
  check(result.finishReason === 'tool_calls', `${how} finished with ${show(result.finishReason)} although it made tool calls; expected "tool_calls"`);
}

export function featureChecks(scope: FeatureCheckScope): void {
  const { env, who, has, declares, provider, add, unsupportedToolChoices } = scope;
  const noRetries = () => provider({ max_retries: 0 });
  const tools = has('tools');
  const completion = has('completion');
  const streaming = has('streaming');
  const toolSkip = !tools ? 'the plugin does not declare tools' : !completion && !streaming ? 'the plugin declares neither completion nor streaming' : undefined;
  const reader = (): ToolWireReader => {
    const wire = env.server.toolWire;
    if (!wire) {
      return fail(
        `${who} declares tools, but the conformance server cannot read tools from its requests: give its BackendDef a toolWire (ToolWireReader)`,
      );
    }
    return wire;
  };
  /** One answer, non-streamed when the plugin completes, else streamed. */
  const answer = (p: BackendProvider, runtime: RuntimeExecutionConfig, messages = PROMPT): Promise<CompletionResult> =>
    completion ? p.getCompletion(messages, runtime) : p.streamCompletion(messages, runtime).result;
  const how = completion ? 'getCompletion' : 'streamCompletion';

  add(
    'tools.wire',
    'tools: the call\'s tools reach the backend, and a call without tools sends none',
    async () => {
      const wire = reader();
      const p = await provider();
      const outcome = await settle(() => answer(p, { tools: TOOLS }));
      if (!outcome.ok) return fail(`${how} with tools failed: ${describeError(outcome.error)}`, outcome.error);
      const names = wire.toolNames(env.server.lastRequest!);
      check(same(names, TOOLS.map((t) => t.name)), `the request carried the tools ${show(names)}, expected ${show(TOOLS.map((t) => t.name))}: send settings.tools`);
      env.server.reset();
      const bare = await settle(() => answer(p, {}));
      if (!bare.ok) return fail(`${how} without tools failed: ${describeError(bare.error)}`, bare.error);
      check(wire.toolNames(env.server.lastRequest!).length === 0, 'a call without tools still sent tools to the backend');
    },
    { capability: 'tools', skip: toolSkip },
  );

  add(
    'tools.call',
    'tools: calls come back parsed, with ids, in order, with finishReason "tool_calls" (one call and two parallel ones)',
    async () => {
      const p = await provider();
      for (const calls of [CALLS.slice(0, 1), CALLS]) {
        env.server.setReply({ toolCalls: calls });
        const outcome = await settle(() => answer(p, { tools: TOOLS }));
        if (!outcome.ok) return fail(`${how} answered by ${calls.length} tool call(s) failed: ${describeError(outcome.error)}`, outcome.error);
        checkCalls(outcome.value, calls, how);
      }
    },
    { capability: 'tools', skip: toolSkip },
  );

  add(
    'tools.stream',
    'tools (streaming): the events announce, fragment and complete each call, and reassemble to the result (and to the non-streamed answer)',
    async () => {
      const p = await provider();
      env.server.setReply({ toolCalls: CALLS });
      const outcome = await settle(() => evented(p, { tools: TOOLS }));
      if (!outcome.ok) return fail(`streamCompletion answered by tool calls failed: ${describeError(outcome.error)}`, outcome.error);
      const { events, result } = outcome.value;
      checkCalls(result, CALLS, 'streamCompletion');
      const completed = events.filter((e): e is Extract<StreamEvent, { type: 'tool-call' }> => e.type === 'tool-call');
      check(same(completed.map((e) => e.toolCall), result.toolCalls), () => `the tool-call events ${show(completed, 300)} differ from result.toolCalls ${show(result.toolCalls, 300)}`);
      for (const { index, toolCall } of completed) {
        const mine = events.filter((e) => 'index' in e && e.index === index);
        check(mine[0]?.type === 'tool-call-start', () => `tool call ${index}'s first event is ${show(mine[0])}, not tool-call-start`);
        check(mine.at(-1)?.type === 'tool-call', () => `tool call ${index}'s last event is ${show(mine.at(-1))}, not tool-call`);
        check(mine.every((e) => !('id' in e) || e.id === toolCall.id), `tool call ${index}'s events carry different ids`);
        const text = mine.map((e) => (e.type === 'tool-call-delta' ? e.argumentsDelta : '')).join('');
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          return fail(`tool call ${index}'s argument deltas join to ${show(text)}, which is not JSON`);
        }
        check(same(parsed, toolCall.arguments), `tool call ${index}'s argument deltas join to ${show(text)}, not its arguments ${show(toolCall.arguments)}`);
      }
      const finish = events.at(-1);
      check(finish?.type === 'finish' && finish.finishReason === 'tool_calls', () => `the last event is ${show(finish)}, expected finish with "tool_calls"`);
      check(!events.some((e) => e.type === 'text-delta'), () => `the stream of a reply that was only tool calls yielded text: ${show(events.filter((e) => e.type === 'text-delta'))}`);
      if (completion) {
        const whole = await settle(() => p.getCompletion(PROMPT, { tools: TOOLS }));
        if (!whole.ok) return fail(`getCompletion answered by tool calls failed: ${describeError(whole.error)}`, whole.error);
        check(
          whole.value.text === result.text && same(plain(whole.value.toolCalls), plain(result.toolCalls)),
          () => `the streamed answer (${show({ text: result.text, calls: plain(result.toolCalls) }, 200)}) differs from the non-streamed one (${show({ text: whole.value.text, calls: plain(whole.value.toolCalls) }, 200)})`,
        );
      }
    },
    { capability: 'tools', skip: toolSkip ?? (streaming ? undefined : 'the plugin does not declare streaming') },
  );

  add(
    'tools.roundtrip',
    "tools: the assistant's calls and the tool results go back to the backend in its own format, and the final answer comes back",
    async () => {
      const wire = reader();
      const p = await provider();
      env.server.setReply({ toolCalls: CALLS });
      const first = await settle(() => answer(p, { tools: TOOLS }));
      if (!first.ok) return fail(`${how} answered by tool calls failed: ${describeError(first.error)}`, first.error);
      const calls = first.value.toolCalls ?? [];
      check(calls.length === CALLS.length, `${how} returned ${calls.length} calls, expected ${CALLS.length}`);
      const conversation: ChatMessage[] = [
        ...PROMPT,
        { role: 'assistant', content: first.value.text, toolCalls: calls },
        ...calls.map((c, i): ChatMessage => ({ role: 'tool', toolCallId: c.id, name: c.name, content: RESULTS[i]! })),
      ];
      env.server.reset();
      env.server.setReply({ text: FINAL_ANSWER });
      const final = await settle(() => answer(p, { tools: TOOLS }, conversation));
      if (!final.ok) return fail(`${how} with the tool results failed: ${describeError(final.error)}`, final.error);
      check(final.value.text === FINAL_ANSWER, `the final answer is ${show(final.value.text)}, expected ${show(FINAL_ANSWER)}`);
      check(!final.value.toolCalls?.length, `the final answer carries tool calls: ${show(final.value.toolCalls)}`);
      const req = env.server.lastRequest!;
      const sentCalls = wire.assistantCalls(req);
      check(
        same(sentCalls.map(({ name, arguments: a }) => ({ name, arguments: a })), plain(calls)),
        () => `the request carried the assistant calls ${show(sentCalls, 300)}, expected ${show(plain(calls), 300)}: map an assistant message's toolCalls to the backend's format`,
      );
      for (const sent of sentCalls) {
        if (sent.id !== undefined) check(calls.some((c) => c.id === sent.id), `the request carried an assistant call with the id ${show(sent.id)}, which the result did not give`);
      }
      const results = wire.toolResults(req);
      check(
        results.length === calls.length,
        () => `the request carried ${results.length} tool results in the backend's format, expected ${calls.length}: map tool messages (toolCallId, name) to the backend's tool role, not to user text`,
      );
      results.forEach((r, i) => {
        check(r.content === RESULTS[i], `tool result ${i} reached the backend as ${show(r.content)}, expected ${show(RESULTS[i])}`);
        if (r.toolCallId !== undefined) check(r.toolCallId === calls[i]!.id, `tool result ${i} names the call ${show(r.toolCallId)}, expected ${show(calls[i]!.id)}`);
        if (r.name !== undefined) check(r.name === calls[i]!.name, `tool result ${i} names the tool ${show(r.name)}, expected ${show(calls[i]!.name)}`);
        check(r.toolCallId !== undefined || r.name !== undefined, `tool result ${i} reached the backend without the call's id or the tool's name`);
      });
    },
    { capability: 'tools', skip: toolSkip },
  );

  add(
    'tools.choice',
    'tools: every toolChoice (auto, none, required, a named tool) is accepted and reaches the backend where its API has one',
    async () => {
      const wire = reader();
      const p = await provider();
      const variants: ToolChoice[] = ['auto', 'none', 'required', { type: 'tool', name: 'get_stock_price' }];
      for (const choice of variants) {
        env.server.reset();
        env.server.setReply(choice === 'none' ? { text: ANSWER } : { toolCalls: [CALLS[1]!] });
        const outcome = await settle(() => answer(p, { tools: TOOLS, toolChoice: choice }));
        if (unsupportedToolChoices.includes(typeof choice === 'string' ? (choice as 'none' | 'required') : 'tool')) {
          // Listed as one the backend cannot express: refused, before any request (never quietly another choice).
          check(
            !outcome.ok && CapabilityNotSupportedError.isInstance(outcome.error),
            `toolChoice ${show(choice)} is listed in unsupportedToolChoices but was ${outcome.ok ? 'accepted' : `refused with ${describeError(outcome.error)}`}: throw CapabilityNotSupportedError for it`,
          );
          check(env.server.requests.length === 0, `toolChoice ${show(choice)} is refused, but a request reached the server first`);
          continue;
        }
        if (!outcome.ok) {
          const hint = CapabilityNotSupportedError.isInstance(outcome.error) ? ' (if the backend cannot express it, list it in the conformance options\' unsupportedToolChoices)' : '';
          return fail(`${how} with toolChoice ${show(choice)} failed: ${describeError(outcome.error)}${hint}`, outcome.error);
        }
        if (wire.toolChoice) {
          const sent = wire.toolChoice(env.server.lastRequest!);
          check(
            same(sent, choice) || (choice === 'auto' && sent === undefined),
            `toolChoice ${show(choice)} reached the backend as ${show(sent)}: map settings.toolChoice to the backend's tool choice`,
          );
        }
      }
    },
    { capability: 'tools', skip: toolSkip },
  );

  add(
    'tools.invalid-arguments',
    'tools: arguments that are not valid JSON are an InvalidToolArgumentsError keeping the raw text (streamed and not)',
    async () => {
      const p = await noRetries();
      env.server.setReply({ toolCalls: CALLS });
      const calls: [string, () => Promise<unknown>][] = [];
      if (completion) calls.push(['getCompletion', () => p.getCompletion(PROMPT, { tools: TOOLS })]);
      if (streaming) calls.push(['streamCompletion', () => p.streamCompletion(PROMPT, { tools: TOOLS }).result]);
      for (const [name, call] of calls) {
        env.server.failNext({ kind: 'invalid-tool-arguments' });
        const outcome = await settle(call);
        check(!outcome.ok, () => `${name} resolved to ${show(outcome.ok && outcome.value)} although the first call's arguments were invalid JSON`);
        check(
          InvalidToolArgumentsError.isInstance(outcome.error),
          () => `${name} with invalid tool arguments failed with ${describeError(outcome.error)} instead of InvalidToolArgumentsError: hand core the arguments' text (core parses it)`,
        );
        check(outcome.error.toolName === CALLS[0]!.name, `the error names the tool ${show(outcome.error.toolName)}, expected ${show(CALLS[0]!.name)}`);
        check(outcome.error.rawArguments.length > 0, 'the error lost the raw arguments');
      }
    },
    { capability: 'tools', skip: toolSkip },
  );

  add(
    'tools.stream-cut',
    'tools (streaming): a stream cut inside a tool call is a ProviderError, never a partial call',
    async () => {
      const p = await noRetries();
      env.server.setReply({ toolCalls: CALLS });
      for (const reset of [false, true]) {
        env.server.failNext({ kind: 'cut-in-tool-call', reset });
        const outcome = await settle(() => p.streamCompletion(PROMPT, { tools: TOOLS }).result);
        const what = reset ? 'a dropped connection' : 'a clean end without the end marker';
        check(!outcome.ok, () => `a stream cut inside a tool call (${what}) ended normally with ${show(outcome.ok && outcome.value.toolCalls)}`);
        check(ProviderError.isInstance(outcome.error), () => `a stream cut inside a tool call (${what}) failed with ${describeError(outcome.error)} instead of a ProviderError`);
        check(
          !InvalidToolArgumentsError.isInstance(outcome.error),
          () =>
            `a stream cut inside a tool call (${what}) was reported as invalid tool arguments (${outcome.error instanceof Error ? outcome.error.message : ''}): ` +
            'the plugin ended the stream as if it had finished; throw this.truncatedStream(url, marker) when the end marker is missing',
        );
      }
    },
    { capability: 'tools', skip: toolSkip ?? (streaming ? undefined : 'the plugin does not declare streaming') },
  );

  const refusalOp = declares('completion') ? 'completion' : declares('streaming') ? 'streaming' : undefined;
  add(
    'tools.refused',
    'tools: a provider without the tools capability refuses tools with CapabilityNotSupportedError, before any request',
    async () => {
      const p = await provider();
      const outcome = await settle(async () =>
        refusalOp === 'completion' ? p.getCompletion(PROMPT, { tools: TOOLS }) : p.streamCompletion(PROMPT, { tools: TOOLS }).result,
      );
      check(!outcome.ok, () => `a call with tools resolved to ${show(outcome.ok && outcome.value)}, but ${who} does not declare "tools"`);
      check(
        CapabilityNotSupportedError.isInstance(outcome.error),
        () => `a call with tools failed with ${describeError(outcome.error)} instead of CapabilityNotSupportedError`,
      );
      check(env.server.requests.length === 0, 'a call with tools reached the server although the provider does not declare tools');
    },
    { skip: declares('tools') ? 'the plugin declares tools' : refusalOp ? undefined : 'the plugin declares neither completion nor streaming' },
  );

  add(
    'reasoning',
    'reasoning: the reasoning text comes back apart from the answer (result.reasoning; reasoning-delta events when streamed)',
    async () => {
      const p = await provider();
      env.server.setReply({ reasoning: REASONING, text: ANSWER });
      if (completion) {
        const outcome = await settle(() => p.getCompletion(PROMPT));
        if (!outcome.ok) return fail(`getCompletion with reasoning failed: ${describeError(outcome.error)}`, outcome.error);
        check(outcome.value.reasoning === REASONING, `getCompletion returned the reasoning ${show(outcome.value.reasoning)}, expected ${show(REASONING)}`);
        check(outcome.value.text === ANSWER, `getCompletion returned the text ${show(outcome.value.text)}, expected only the answer ${show(ANSWER)}`);
      }
      if (streaming) {
        const outcome = await settle(() => evented(p, {}));
        if (!outcome.ok) return fail(`streamCompletion with reasoning failed: ${describeError(outcome.error)}`, outcome.error);
        const { events, result } = outcome.value;
        const reasoning = events.map((e) => (e.type === 'reasoning-delta' ? e.text : '')).join('');
        const text = events.map((e) => (e.type === 'text-delta' ? e.text : '')).join('');
        check(reasoning === REASONING, `the reasoning-delta events join to ${show(reasoning)}, expected ${show(REASONING)}: yield { type: 'reasoning', text } parts`);
        check(text === ANSWER && result.text === ANSWER, `the streamed text is ${show(text)}, expected only the answer ${show(ANSWER)}`);
        check(result.reasoning === REASONING, `the stream's result has the reasoning ${show(result.reasoning)}, expected ${show(REASONING)}`);
      }
    },
    {
      capability: 'reasoning',
      skip: !has('reasoning') ? 'the plugin does not declare reasoning' : !completion && !streaming ? 'the plugin declares neither completion nor streaming' : undefined,
    },
  );
}
