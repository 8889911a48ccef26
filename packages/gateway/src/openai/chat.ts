/** `POST /v1/chat/completions`: the request as AEGIS messages and settings, the result in OpenAI's shapes. */
import {
  TOOL_NAME_PATTERN,
  z,
  type ChatMessage,
  type CompletionResult,
  type ContentPart,
  type FinishReason,
  type ResponseFormat,
  type RuntimeExecutionConfig,
  type ToolCall,
  type ToolChoice,
  type ToolDefinition,
  type Usage,
} from '@aegis/core';
import { invalidRequest, unsupportedParameter } from '../errors.js';
import { parseRequest, type Settled } from './validate.js';

/** A content part: checked by type when mapped (`text`, `image_url`), anything else refused by name. */
const part = z.object({ type: z.string() }).loose();
const content = z.union([z.string(), z.array(part)]).nullable().optional();

const toolCall = z
  .object({
    id: z.string().min(1),
    type: z.literal('function').optional(),
    function: z.object({ name: z.string().min(1), arguments: z.string() }).loose(),
  })
  .loose();

const message = z
  .object({
    role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
    content,
    name: z.string().optional(),
    tool_calls: z.array(toolCall).nullable().optional(),
    tool_call_id: z.string().optional(),
    refusal: z.string().nullable().optional(),
  })
  .loose();

const jsonSchemaObject = z.record(z.string(), z.unknown());

const tool = z
  .object({
    type: z.literal('function'),
    function: z
      .object({
        name: z.string().regex(TOOL_NAME_PATTERN, 'a tool name is 1 to 64 letters, digits, "_" or "-"'),
        description: z.string().optional(),
        parameters: jsonSchemaObject.optional(),
        strict: z.boolean().nullable().optional(),
      })
      .loose(),
  })
  .loose();

const toolChoice = z.union([
  z.enum(['auto', 'none', 'required']),
  z.object({ type: z.literal('function'), function: z.object({ name: z.string().min(1) }).loose() }).loose(),
]);

const responseFormat = z.discriminatedUnion('type', [
  z.object({ type: z.literal('text') }).loose(),
  z.object({ type: z.literal('json_object') }).loose(),
  z
    .object({
      type: z.literal('json_schema'),
      json_schema: z
        .object({
          name: z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, 'a schema name is 1 to 64 letters, digits, "_" or "-"'),
          description: z.string().optional(),
          schema: jsonSchemaObject.optional(),
          strict: z.boolean().nullable().optional(),
        })
        .loose(),
    })
    .loose(),
]);

export const chatSchema = z.object({
  model: z.string().min(1),
  messages: z.array(message).min(1, 'at least one message is required'),
  stream: z.boolean().nullable().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).loose().nullable().optional(),
  temperature: z.number().min(0).max(2).nullable().optional(),
  top_p: z.number().min(0).max(1).nullable().optional(),
  max_tokens: z.number().int().positive().nullable().optional(),
  max_completion_tokens: z.number().int().positive().nullable().optional(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullable().optional(),
  seed: z.number().int().nullable().optional(),
  n: z.literal(1).nullable().optional(),
  tools: z.array(tool).max(128).nullable().optional(),
  tool_choice: toolChoice.nullable().optional(),
  parallel_tool_calls: z.boolean().nullable().optional(),
  response_format: responseFormat.nullable().optional(),
  reasoning_effort: z.enum(['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max']).nullable().optional(),
  // OpenAI platform fields with no meaning for a self-hosted backend: accepted, not forwarded
  // (who the end user is, OpenAI's prompt-cache routing and storage, its billing tier).
  user: z.string().nullable().optional(),
  safety_identifier: z.string().nullable().optional(),
  prompt_cache_key: z.string().nullable().optional(),
  prompt_cache_options: z.object({}).loose().nullable().optional(),
  metadata: z.record(z.string(), z.string()).nullable().optional(),
  store: z.boolean().nullable().optional(),
  service_tier: z.string().nullable().optional(),
});

/**
 * The parameters nearly every chat request has, in the form their schemas
 * return unchanged: taken as they are (parseRequest), anything else is
 * parsed. A message qualifies with a text `content`, a known `role` and at
 * most a string `name`, and no other field (the schema would copy it).
 */
export const SETTLED: Settled = {
  model: (v) => typeof v === 'string' && v.length > 0,
  stream: (v) => typeof v === 'boolean' || v === null,
  messages: (v) => Array.isArray(v) && v.length > 0 && v.every(isTextMessage),
};

const ROLES: ReadonlySet<unknown> = new Set(message.shape.role.options);

function isTextMessage(m: unknown): boolean {
  if (typeof m !== 'object' || m === null || Object.getPrototypeOf(m) !== Object.prototype) return false;
  const { role, content, name } = m as Record<string, unknown>;
  if (!ROLES.has(role) || typeof content !== 'string' || (name !== undefined && typeof name !== 'string')) return false;
  for (const key in m) if (key !== 'role' && key !== 'content' && key !== 'name') return false;
  return true;
}

/**
 * Parameters the gateway refuses by name (never drops silently), and why.
 * Tools, `tool_choice`, `parallel_tool_calls`, `response_format` and image
 * parts are served (a profile without the capability is a 400 naming it).
 */
const PENDING = {
  functions: 'the legacy function-calling parameters are not served: use "tools"',
  function_call: 'the legacy function-calling parameters are not served: use "tool_choice"',
} as const;

const zeroOr = (value: unknown) => value === 0;
const falseOr = (value: unknown) => value === false;

function unsupported(): Record<string, { why: string; allowed?: (value: unknown) => boolean }> {
  const rules: Record<string, { why: string; allowed?: (value: unknown) => boolean }> = {
    frequency_penalty: { why: 'AEGIS profiles have no frequency penalty setting', allowed: zeroOr },
    presence_penalty: { why: 'AEGIS profiles have no presence penalty setting', allowed: zeroOr },
    logit_bias: { why: 'not supported by the AEGIS contract' },
    logprobs: { why: 'not supported by the AEGIS contract', allowed: falseOr },
    top_logprobs: { why: 'not supported by the AEGIS contract' },
    modalities: { why: 'only text output is supported', allowed: (v) => Array.isArray(v) && v.every((m) => m === 'text') },
    audio: { why: 'audio output is served by /v1/audio/speech' },
    prediction: { why: 'not supported by the AEGIS contract' },
    web_search_options: { why: 'not supported by the AEGIS contract' },
    n: { why: 'one choice per request is served', allowed: (v) => v === 1 },
    verbosity: { why: 'AEGIS profiles have no verbosity setting' },
    moderation: { why: 'moderated completions are not served' },
    prompt_cache_retention: { why: 'the gateway cannot bound how long a backend keeps cached prompts' },
  };
  for (const [param, why] of Object.entries(PENDING)) rules[param] = { why };
  return rules;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  runtime: RuntimeExecutionConfig;
  stream: boolean;
  includeUsage: boolean;
  /** The caller asked for JSON (`response_format` `json_object` or `json_schema`). */
  json: boolean;
}

/** Built once: the rules do not change while the process runs. */
let rules: ReturnType<typeof unsupported> | undefined;

export function parseChatRequest(body: Record<string, unknown>): ChatRequest {
  const req = parseRequest(chatSchema, body, (rules ??= unsupported()), SETTLED);
  if (req.stream_options != null && req.stream !== true) {
    throw invalidRequest('The "stream_options" parameter is only allowed when "stream" is enabled.', 'stream_options', 'invalid_value');
  }
  /** The tool name of each call id the conversation made so far (a `tool` message names its tool for backends that want it). */
  const calledTools = new Map<string, string>();
  const messages = req.messages.map((m, i) => messageOf(m, `messages[${i}]`, calledTools));
  const maxTokens = req.max_completion_tokens ?? req.max_tokens ?? undefined;
  const runtime: RuntimeExecutionConfig = {};
  if (req.temperature !== null && req.temperature !== undefined) runtime.temperature = req.temperature;
  if (req.top_p !== null && req.top_p !== undefined) runtime.topP = req.top_p;
  if (maxTokens !== undefined) runtime.maxTokens = maxTokens;
  if (req.stop !== null && req.stop !== undefined) runtime.stop = typeof req.stop === 'string' ? [req.stop] : req.stop;
  if (req.seed !== null && req.seed !== undefined) runtime.seed = req.seed;
  const tools = toolsOf(req.tools);
  if (tools) {
    runtime.tools = tools;
    if (req.parallel_tool_calls !== null && req.parallel_tool_calls !== undefined) runtime.parallelToolCalls = req.parallel_tool_calls;
  }
  const choice = toolChoiceOf(req.tool_choice, tools);
  if (choice !== undefined) runtime.toolChoice = choice;
  const format = responseFormatOf(req.response_format);
  if (format) runtime.responseFormat = format;
  if (req.reasoning_effort !== null && req.reasoning_effort !== undefined) runtime.reasoning = REASONING_OF[req.reasoning_effort];
  return {
    model: req.model,
    messages,
    runtime,
    stream: req.stream === true,
    includeUsage: req.stream_options?.include_usage === true,
    json: format?.type === 'json',
  };
}

/** OpenAI's reasoning efforts as the contract's setting (a request the backend may ignore, never refused): the nearest level, `none` off. */
const REASONING_OF = { none: false, minimal: 'low', low: 'low', medium: 'medium', high: 'high', xhigh: 'high', max: 'high' } as const;

type WireMessage = z.output<typeof message>;

/** A message's fields the contract carries (the schema's own). */
const MESSAGE_FIELDS: ReadonlySet<string> = new Set(Object.keys(message.shape));

/**
 * Message fields the gateway cannot honour, refused by name like the request's
 * own parameters. `reasoning` / `reasoning_content` on an assistant message (a
 * reasoning model's earlier output, echoed back by some clients) are the one
 * thing left out: backends do not take them back either.
 */
const MESSAGE_FIELD_REFUSED: Record<string, string> = {
  function_call: 'the legacy function-calling fields are not served: send "tool_calls"',
  audio: 'audio in messages is not served',
};

function checkMessageFields(m: WireMessage, at: string): void {
  for (const field in m) {
    if (MESSAGE_FIELDS.has(field) || (m.role === 'assistant' && (field === 'reasoning' || field === 'reasoning_content'))) continue;
    const why = MESSAGE_FIELD_REFUSED[field];
    if (why !== undefined) throw unsupportedParameter(`${at}.${field}`, why);
    throw invalidRequest(`Unrecognized request argument supplied: ${at}.${field}`, `${at}.${field}`, 'unknown_parameter');
  }
}

function messageOf(m: WireMessage, at: string, calledTools: Map<string, string>): ChatMessage {
  checkMessageFields(m, at);
  const named = <T extends ChatMessage>(msg: T): T => (m.name === undefined ? msg : { ...msg, name: m.name });
  switch (m.role) {
    case 'system':
    case 'developer':
      return named({ role: 'system', content: textOf(m.content, at) });
    case 'user':
      return named({ role: 'user', content: userContentOf(m.content, at) });
    case 'assistant': {
      const calls = (m.tool_calls ?? []).map((call, j): ToolCall => {
        calledTools.set(call.id, call.function.name);
        return { id: call.id, name: call.function.name, arguments: argumentsOf(call.function.arguments, `${at}.tool_calls[${j}].function.arguments`) };
      });
      const msg = named({ role: 'assistant', content: textOf(m.content, at) } as ChatMessage & { role: 'assistant' });
      if (calls.length > 0) msg.toolCalls = calls;
      return msg;
    }
    case 'tool': {
      if (m.tool_call_id === undefined || m.tool_call_id === '') throw invalidRequest(`Missing parameter "tool_call_id" in ${at}: a tool message answers a call by its id`, `${at}.tool_call_id`, 'missing_required_parameter');
      const name = m.name ?? calledTools.get(m.tool_call_id);
      const msg: ChatMessage = { role: 'tool', content: textOf(m.content, at), toolCallId: m.tool_call_id };
      if (name !== undefined) msg.name = name;
      return msg;
    }
    default:
      throw unsupportedParameter(`${at}.role`, 'the legacy "function" messages are not served: answer a tool call with a "tool" message and its tool_call_id');
  }
}

/** A call's arguments as the contract carries them: the JSON text parsed into an object (empty text: no arguments). */
function argumentsOf(text: string, at: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw invalidRequest(`Invalid value for "${at}": not valid JSON (${(error as Error).message})`, at, 'invalid_value');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidRequest(`Invalid value for "${at}": the arguments must be a JSON object`, at, 'invalid_value');
  return value as Record<string, unknown>;
}

function toolsOf(tools: z.output<typeof chatSchema>['tools']): ToolDefinition[] | undefined {
  if (!tools || tools.length === 0) return undefined;
  const seen = new Set<string>();
  return tools.map(({ function: fn }, i) => {
    if (seen.has(fn.name)) throw invalidRequest(`Invalid value for "tools[${i}].function.name": the name "${fn.name}" is used by two tools`, `tools[${i}].function.name`, 'invalid_value');
    seen.add(fn.name);
    // OpenAI: "Omitting parameters defines a function with an empty parameter list."
    const spec: ToolDefinition = { name: fn.name, parameters: fn.parameters ?? { type: 'object', properties: {} } };
    if (fn.description !== undefined) spec.description = fn.description;
    if (fn.strict !== undefined && fn.strict !== null) spec.strict = fn.strict;
    return spec;
  });
}

function toolChoiceOf(choice: z.output<typeof toolChoice> | null | undefined, tools: ToolDefinition[] | undefined): ToolChoice | undefined {
  if (choice === null || choice === undefined) return undefined;
  if (typeof choice === 'string') {
    if (choice === 'required' && !tools) throw invalidRequest('Invalid value for "tool_choice": "required" is only allowed when "tools" are specified', 'tool_choice', 'invalid_value');
    return tools ? choice : undefined;
  }
  const name = choice.function.name;
  if (!tools?.some((t) => t.name === name)) {
    throw invalidRequest(`Invalid value for "tool_choice": the function "${name}" is not among "tools"`, 'tool_choice', 'invalid_value');
  }
  return { type: 'tool', name };
}

function responseFormatOf(format: z.output<typeof responseFormat> | null | undefined): ResponseFormat | undefined {
  if (format === null || format === undefined || format.type === 'text') return undefined;
  if (format.type === 'json_object') return { type: 'json' };
  const { name, description, schema } = format.json_schema;
  const out: ResponseFormat = { type: 'json', name };
  // As the client wrote it, `$schema` included: core validates in the draft it names (a draft-07 tuple's
  // `items: [..]` means nothing in 2020-12), and the backend gets what the client would have sent it.
  if (schema !== undefined) out.schema = schema;
  if (description !== undefined) out.description = description;
  return out;
}

type WireContent = z.output<typeof content>;

/** The text of a system, assistant or tool message: a string, or its text parts joined. */
function textOf(value: WireContent, at: string): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  return value.map((p, j) => textPartOf(p, `${at}.content[${j}]`, 'text parts only')).join('\n');
}

/** A user message's content: a string, text parts joined (as before), or parts with images. */
function userContentOf(value: WireContent, at: string): string | ContentPart[] {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (!value.some((p) => p.type === 'image_url')) return textOf(value, at);
  return value.map((p, j): ContentPart => {
    const where = `${at}.content[${j}]`;
    if (p.type !== 'image_url') return { type: 'text', text: textPartOf(p, where, 'text and image_url parts') };
    const image = (p as { image_url?: unknown }).image_url;
    const url = typeof image === 'object' && image !== null ? (image as { url?: unknown }).url : undefined;
    if (typeof url !== 'string' || url === '') throw invalidRequest(`Invalid value for "${where}.image_url.url": an image_url part needs a URL`, `${where}.image_url.url`, 'invalid_value');
    // The contract's image part has no resolution setting: only the backend's own choice ("auto") is served.
    const detail = (image as { detail?: unknown }).detail;
    if (detail !== undefined && detail !== null && detail !== 'auto') {
      throw unsupportedParameter(`${where}.image_url.detail`, 'an image\'s "detail" cannot be passed on to the backend (only "auto" is served)');
    }
    if (/^data:/i.test(url)) {
      if (!/^data:image\/[a-z0-9.+-]+;base64,/i.test(url)) {
        throw invalidRequest(`Invalid value for "${where}.image_url.url": a data: URL must be data:image/<type>;base64,<data>`, `${where}.image_url.url`, 'invalid_value');
      }
      return { type: 'image', image: url };
    }
    if (!/^https:\/\//i.test(url)) {
      throw invalidRequest(`Invalid value for "${where}.image_url.url": an image URL must be https: or a data: URL`, `${where}.image_url.url`, 'invalid_value');
    }
    return { type: 'image', image: url };
  });
}

function textPartOf(p: z.output<typeof part>, at: string, allowed: string): string {
  const text = (p as { text?: unknown }).text;
  if (p.type === 'text' && typeof text === 'string') return text;
  if (p.type === 'text') throw invalidRequest(`Invalid value for "${at}.text": a text part needs a string`, `${at}.text`, 'invalid_value');
  throw unsupportedParameter(at, `content parts of type "${p.type}" are not supported here (${allowed})`);
}

export function finishReasonOf(reason: FinishReason): string {
  switch (reason) {
    case 'length':
      return 'length';
    case 'content_filter':
      return 'content_filter';
    case 'tool_calls':
      return 'tool_calls';
    default:
      return 'stop';
  }
}

/** Token counts with none missing: the backend's, with what it did not report estimated (limits/estimate.ts `usageOrEstimate`). */
export type CountedUsage = Required<Pick<Usage, 'promptTokens' | 'completionTokens' | 'totalTokens'>>;

export function usageOf(usage: CountedUsage): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  return { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens, total_tokens: usage.totalTokens };
}

/** A call in OpenAI's shape: `arguments` as JSON text. */
export function toolCallBody(call: ToolCall, scrub: (text: string) => string): Record<string, unknown> {
  return { id: scrub(call.id), type: 'function', function: { name: scrub(call.name), arguments: scrub(JSON.stringify(call.arguments)) } };
}

/**
 * The text of an answer asked to be JSON: the text itself when it is JSON;
 * when core accepted it inside a Markdown code fence, the object it parsed
 * (a client's `JSON.parse` of `message.content` must work).
 */
function jsonText(result: CompletionResult): string {
  if (result.object === undefined) return result.text;
  try {
    JSON.parse(result.text);
    return result.text;
  } catch {
    return JSON.stringify(result.object);
  }
}

/**
 * A non-streamed answer. `content` is null for a turn that is only tool calls
 * or a refusal (as OpenAI sends it); a refusal is `message.refusal`; the
 * reasoning, where the backend returned it, is `message.reasoning` (vLLM's
 * field). Every text passes `scrub`. `usage`: the backend's counts, or estimates.
 */
export function completionBody(
  id: string,
  created: number,
  model: string,
  result: CompletionResult,
  usage: CountedUsage,
  scrub: (text: string) => string,
  json = false,
): Record<string, unknown> {
  const calls = result.toolCalls ?? [];
  const text = scrub(json ? jsonText(result) : result.text);
  const refusal = result.refusal !== undefined && result.refusal !== '' ? scrub(result.refusal) : null;
  const message: Record<string, unknown> = { role: 'assistant', content: text === '' && (calls.length > 0 || refusal !== null) ? null : text, refusal };
  if (result.reasoning !== undefined && result.reasoning !== '') message.reasoning = scrub(result.reasoning);
  if (calls.length > 0) message.tool_calls = calls.map((call) => toolCallBody(call, scrub));
  return {
    id,
    object: 'chat.completion',
    created,
    model,
    choices: [{ index: 0, message, logprobs: null, finish_reason: finishReasonOf(result.finishReason) }],
    usage: usageOf(usage),
    system_fingerprint: null,
  };
}

/**
 * The `data:` events of a streamed answer. The constant part of each chunk is
 * serialised once per stream: per delta only the text is (the gateway's
 * share of a stream's CPU, bench/RESULTS.md).
 */
export class ChunkWriter {
  private readonly head: string;

  constructor(id: string, created: number, model: string) {
    this.head = `data: {"id":${JSON.stringify(id)},"object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)},"system_fingerprint":null,"choices":[`;
  }

  role(): string {
    return `${this.head}{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}\n\n`;
  }

  delta(text: string): string {
    return `${this.head}{"index":0,"delta":{"content":${JSON.stringify(text)}},"logprobs":null,"finish_reason":null}]}\n\n`;
  }

  /** A piece of the reasoning, as vLLM streams it (`delta.reasoning`). */
  reasoning(text: string): string {
    return `${this.head}{"index":0,"delta":{"reasoning":${JSON.stringify(text)}},"logprobs":null,"finish_reason":null}]}\n\n`;
  }

  /** A piece of the model's refusal (OpenAI's `delta.refusal`). */
  refusal(text: string): string {
    return `${this.head}{"index":0,"delta":{"refusal":${JSON.stringify(text)}},"logprobs":null,"finish_reason":null}]}\n\n`;
  }

  /** A tool call begins: its id, type and name, and empty arguments (OpenAI's first chunk of a call). */
  toolCallStart(index: number, id: string, name: string): string {
    const call = `{"index":${index},"id":${JSON.stringify(id)},"type":"function","function":{"name":${JSON.stringify(name)},"arguments":""}}`;
    return `${this.head}{"index":0,"delta":{"tool_calls":[${call}]},"logprobs":null,"finish_reason":null}]}\n\n`;
  }

  /** A fragment of a call's arguments (JSON text; concatenated they are the whole). */
  toolCallArguments(index: number, fragment: string): string {
    const call = `{"index":${index},"function":{"arguments":${JSON.stringify(fragment)}}}`;
    return `${this.head}{"index":0,"delta":{"tool_calls":[${call}]},"logprobs":null,"finish_reason":null}]}\n\n`;
  }

  finish(reason: FinishReason): string {
    return `${this.head}{"index":0,"delta":{},"logprobs":null,"finish_reason":"${finishReasonOf(reason)}"}]}\n\n`;
  }

  usage(usage: CountedUsage): string {
    return `${this.head}],"usage":${JSON.stringify(usageOf(usage))}}\n\n`;
  }

  static error(body: unknown): string {
    return `data: ${JSON.stringify(body)}\n\n`;
  }

  static readonly DONE = 'data: [DONE]\n\n';
}

export function assertModel(model: unknown): string {
  if (typeof model !== 'string' || model === '') throw invalidRequest('you must provide a model parameter', 'model');
  return model;
}
