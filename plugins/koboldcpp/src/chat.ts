/**
 * KoboldCpp's OpenAI-compatible `/v1/chat/completions`, used for tool calls
 * (its native generate API has none). The server renders the messages with
 * its own chat adapter (or the model's template with `--jinja`), asks the
 * model whether and which tool to call, and answers OpenAI-style: `arguments`
 * a `json.dumps` string, ids `call_` + 5 digits. A stream with tools is
 * simulated once generation has ended: a role chunk, an optional content
 * chunk, per call a header chunk and one chunk with the whole arguments, the
 * finish chunk, `[DONE]`.
 */
import { randomBytes } from 'node:crypto';
import {
  defaultErrorMessage,
  excerpt,
  normalizeFinishReason,
  ProviderError,
  redactUrl,
  imageBase64,
  textOf,
  withoutUndefined,
  type CallSettings,
  type ChatMessage,
  type CompletionResult,
  type FinishReason,
  type StreamEnd,
  type StreamItem,
  type StreamPart,
  type ResponseFormatSpec,
  type ToolChoice,
  type ToolSpec,
  type UserContent,
  type Usage,
} from '@aegis/core';
import type { KoboldCppConfig } from './config.js';
import { mergeStops } from './prompt.js';
import { profileSamplers } from './request.js';

/** Whether a call needs the chat endpoint: it offers tools, or its conversation carries tool calls or results. */
export function needsChatEndpoint(messages: readonly ChatMessage[], settings: CallSettings): boolean {
  return (settings.tools?.length ?? 0) > 0 || messages.some((m) => m.role === 'tool' || (m.role === 'assistant' && (m.toolCalls?.length ?? 0) > 0));
}

function wireMessage(m: ChatMessage, owner: KoboldCppConfig): Record<string, unknown> {
  switch (m.role) {
    case 'assistant':
      return withoutUndefined({
        role: 'assistant',
        content: m.content === '' && m.toolCalls?.length ? null : m.content,
        tool_calls: m.toolCalls?.length
          ? m.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.arguments) } }))
          : undefined,
      });
    case 'tool':
      return withoutUndefined({ role: 'tool', tool_call_id: m.toolCallId, content: m.content });
    case 'user':
      return { role: 'user', content: chatContent(m.content, owner) };
    default:
      return { role: m.role, content: textOf(m.content) };
  }
}

/**
 * A user message's content on the chat endpoint: the string, or parts with
 * images as `data:` URLs (the only image URLs this endpoint reads: it ignores
 * http URLs, so a URL image is refused rather than silently dropped).
 */
function chatContent(content: UserContent, owner: KoboldCppConfig): string | Record<string, unknown>[] {
  if (typeof content === 'string') return content;
  return content.map((part) => {
    if (part.type === 'text') return { type: 'text', text: part.text };
    const { base64, mimeType } = imageBase64(part, owner.type, owner.profile_name);
    return { type: 'image_url', image_url: { url: `data:${mimeType};base64,${base64}` } };
  });
}

function toolChoice(choice: ToolChoice | undefined): unknown {
  return typeof choice === 'object' ? { type: 'function', function: { name: choice.name } } : choice;
}

/** The call's JSON response format as the chat endpoint's `response_format` (its schema becomes a grammar on the server). */
function chatResponseFormat(format: ResponseFormatSpec | undefined): unknown {
  if (!format || format.type !== 'json') return undefined;
  return format.schema ? { type: 'json_schema', json_schema: { name: format.name ?? 'response', schema: format.schema } } : { type: 'json_object' };
}

/**
 * A tool as KoboldCpp 1.102 can read it. Its tool preprocessing
 * (compress_tools_array, run on every call with tools unless `--jinja`
 * renders them, and determine_tool_json_to_use) indexes
 * `tool_data['description']` and `tool_data['parameters']['properties']`
 * with []: a tool without either raises a KeyError that nothing in do_POST
 * catches, and the server closes the connection without an answer (seen here
 * as a reset, retried as a network failure). So `description` is always sent
 * ('' when the tool has none) and `parameters` always has `properties` ({}
 * when the schema has none; the rest of the schema is kept, as the server
 * turns it into the call's grammar). The same code reads each property's
 * `prop_data['type']`: a property without `type` (`anyOf`, `enum` alone)
 * fails the same way and cannot be repaired here without changing the schema.
 */
function chatTool(t: ToolSpec): Record<string, unknown> {
  const schema: Record<string, unknown> = isRecord(t.parameters) ? t.parameters : {};
  const parameters = isRecord(schema.properties) ? schema : { ...schema, properties: {} };
  return { type: 'function', function: { name: t.name, description: t.description ?? '', parameters } };
}

export interface ChatRequest {
  body: Record<string, unknown>;
  genkey: string;
}

/**
 * The request body: OpenAI fields, plus the profile's native samplers, which
 * KoboldCpp reads from this endpoint's body too. KoboldCpp has no
 * `parallel_tool_calls`; it is not sent.
 *
 * Mirostat is `mirostat_mode` here: for the OpenAI-compatible endpoints
 * KoboldCpp 1.102's transform_genparams sets
 * `genparams["mirostat"] = genparams.get('mirostat_mode', 0)`, overwriting any
 * `mirostat` (tau and eta are read under their own names).
 *
 * Stop sequences: unlike the native API, this endpoint cannot tell a stop
 * from a length cut, and the finish reason is taken as the server gives it.
 * transform_genparams ends the chat branch with `genparams["trim_stop"] =
 * True`, so a `trim_stop: false` in this body is overwritten and the stop
 * sequence never reaches us, and generate_text / handle_sse_stream report
 * every end but EOS as "length" (`"length" if (genout['stopreason'] != 1)
 * else "stop"`): a generation that ended on a stop sequence (the call's, or
 * the user/assistant start tags the server adds) comes back as `length`.
 * Usage is no way out: completion_tokens below max_tokens does not prove a
 * stop, as the server lowers max_length itself (--genlimit, the context).
 */
export function chatRequest(messages: readonly ChatMessage[], settings: CallSettings, c: KoboldCppConfig, stream: boolean): ChatRequest {
  const genkey = `aegis-${randomBytes(8).toString('hex')}`;
  const stop = mergeStops(c.stop_sequence, settings.stop, []);
  const { mirostat, ...samplers } = profileSamplers(c);
  const body = withoutUndefined({
    model: c.model ?? 'koboldcpp',
    messages: messages.map((m) => wireMessage(m, c)),
    response_format: chatResponseFormat(settings.responseFormat),
    tools: settings.tools?.length ? settings.tools.map(chatTool) : undefined,
    tool_choice: settings.tools?.length ? toolChoice(settings.toolChoice) : undefined,
    max_tokens: settings.maxTokens ?? c.max_length,
    temperature: settings.temperature,
    top_p: settings.topP,
    stop: stop.length > 0 ? stop : undefined,
    seed: settings.seed ?? c.sampler_seed,
    ...samplers,
    mirostat_mode: mirostat,
    genkey,
    stream: stream || undefined,
    ...settings.providerOptions,
  });
  return { body, genkey: String(body.genkey ?? genkey) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export function chatUsage(usage: unknown): Usage | undefined {
  if (!isRecord(usage)) return undefined;
  const u = withoutUndefined({ promptTokens: num(usage.prompt_tokens), completionTokens: num(usage.completion_tokens), totalTokens: num(usage.total_tokens) });
  return Object.keys(u).length > 0 ? (u as Usage) : undefined;
}

function finishOf(raw: unknown): { finishReason: FinishReason; rawFinishReason?: string } {
  const backend = typeof raw === 'string' && raw !== '' ? raw : 'stop';
  const finishReason = normalizeFinishReason(backend);
  return backend !== finishReason ? { finishReason, rawFinishReason: backend } : { finishReason };
}

function badAnswer(url: string, what: string, data: unknown): ProviderError {
  const safe = redactUrl(url);
  const text = typeof data === 'string' ? data : JSON.stringify(data) ?? String(data);
  return new ProviderError(`POST ${safe} ${what}: ${excerpt(text, 200)}`, { url: safe, status: 200, reason: 'bad_response', retryable: false, bodyExcerpt: excerpt(text) });
}

type WholeCall = Extract<StreamPart, { type: 'tool-call' }>;

/** The calls of a message's `tool_calls` (each whole: `arguments` the JSON text, parsed by core). */
export function messageCalls(toolCalls: unknown, url: string): WholeCall[] {
  if (toolCalls === undefined || toolCalls === null) return [];
  if (!Array.isArray(toolCalls)) throw badAnswer(url, 'answered with tool_calls that is not a list', toolCalls);
  return toolCalls.map((raw, index) => {
    const fn = isRecord(raw) && isRecord(raw.function) ? raw.function : undefined;
    if (!fn || typeof fn.name !== 'string' || fn.name === '') throw badAnswer(url, 'answered a tool call without a function name', raw);
    const args = fn.arguments;
    return withoutUndefined({
      type: 'tool-call',
      index,
      id: isRecord(raw) && typeof raw.id === 'string' && raw.id ? raw.id : undefined,
      name: fn.name,
      arguments: typeof args === 'string' || isRecord(args) ? args : args === undefined || args === null ? '' : JSON.stringify(args),
    }) as WholeCall;
  });
}

/** A non-streamed answer: the text, the calls (still to be parsed), finish reason and usage. */
export function chatAnswer(body: unknown, url: string, model: string | undefined): { result: Omit<CompletionResult, 'toolCalls'>; calls: WholeCall[] } {
  const choice = isRecord(body) && Array.isArray(body.choices) ? body.choices[0] : undefined;
  const message = isRecord(choice) ? choice.message : undefined;
  if (!isRecord(message) || (typeof message.content !== 'string' && message.content !== null && message.content !== undefined)) {
    throw badAnswer(url, 'answered without choices[0].message', body);
  }
  const calls = messageCalls(message.tool_calls, url);
  const bodyModel = isRecord(body) && typeof body.model === 'string' ? body.model : undefined;
  const result = withoutUndefined({
    text: typeof message.content === 'string' ? message.content : '',
    ...finishOf((choice as Record<string, unknown>).finish_reason),
    usage: chatUsage((body as Record<string, unknown>).usage),
    model: model ?? bodyModel,
  }) as Omit<CompletionResult, 'toolCalls'>;
  return { result, calls };
}

/**
 * Reads one `data:` payload of the stream into `out` (text deltas and
 * tool-call fragments, in order); returns the end once a chunk carries a
 * finish reason (`[DONE]` follows), and throws on an error payload.
 */
export function chatStreamStep(data: string, url: string, out: StreamItem[], model: string | undefined): StreamEnd | undefined {
  let chunk: unknown;
  try {
    chunk = JSON.parse(data);
  } catch {
    throw badAnswer(url, 'sent a stream event that is not JSON', data);
  }
  if (!isRecord(chunk)) throw badAnswer(url, 'sent a stream event that is not an object', data);
  if (!Array.isArray(chunk.choices)) {
    if ('detail' in chunk || 'error' in chunk) {
      const safe = redactUrl(url);
      throw new ProviderError(`stream from ${safe} reported an error: ${defaultErrorMessage(chunk, data) ?? excerpt(data, 200)}`, {
        url: safe,
        bodyExcerpt: excerpt(data),
        reason: 'stream_error',
        retryable: false,
      });
    }
    throw badAnswer(url, 'sent a stream event without choices', data);
  }
  const choice = chunk.choices[0];
  if (!isRecord(choice)) return undefined;
  const delta = isRecord(choice.delta) ? choice.delta : {};
  if (typeof delta.content === 'string' && delta.content) out.push(delta.content);
  if (Array.isArray(delta.tool_calls)) {
    for (const raw of delta.tool_calls) {
      if (!isRecord(raw) || typeof raw.index !== 'number') throw badAnswer(url, 'sent a tool call fragment without an index', raw);
      const fn = isRecord(raw.function) ? raw.function : {};
      out.push(
        withoutUndefined({
          type: 'tool-call-delta',
          index: raw.index,
          id: typeof raw.id === 'string' && raw.id ? raw.id : undefined,
          name: typeof fn.name === 'string' && fn.name ? fn.name : undefined,
          arguments: typeof fn.arguments === 'string' && fn.arguments ? fn.arguments : undefined,
        }) as StreamPart,
      );
    }
  }
  if (typeof choice.finish_reason === 'string' && choice.finish_reason) {
    const usage = chatUsage(chunk.usage);
    return withoutUndefined({ ...finishOf(choice.finish_reason), usage, model: model ?? (typeof chunk.model === 'string' ? chunk.model : undefined) }) as StreamEnd;
  }
  return undefined;
}
