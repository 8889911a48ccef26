/** `POST /v1/chat/completions`: the request as AEGIS messages and settings, the result in OpenAI's shapes. */
import { isCapability, z, type ChatMessage, type CompletionResult, type FinishReason, type RuntimeExecutionConfig, type Usage } from '@aegis/core';
import { invalidRequest, unsupportedParameter } from '../errors.js';
import { parseRequest } from './validate.js';

const textPart = z.object({ type: z.literal('text'), text: z.string() });
const otherPart = z.object({ type: z.string() }).loose();
const content = z.union([z.string(), z.array(z.union([textPart, otherPart]))]).nullable().optional();

const message = z
  .object({
    role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
    content,
    name: z.string().optional(),
    tool_calls: z.array(z.unknown()).optional(),
    tool_call_id: z.string().optional(),
    refusal: z.string().nullable().optional(),
  })
  .loose();

const chatSchema = z.object({
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
  // OpenAI platform fields with no meaning for a self-hosted backend: accepted, not forwarded.
  user: z.string().optional(),
  metadata: z.record(z.string(), z.string()).nullable().optional(),
  store: z.boolean().nullable().optional(),
  service_tier: z.string().nullable().optional(),
});

/** Contract capabilities the gateway would need for a parameter; refused until core's contract has them. */
const PENDING = {
  tools: 'tools',
  tool_choice: 'tools',
  parallel_tool_calls: 'tools',
  functions: 'tools',
  function_call: 'tools',
  response_format: 'structured_output',
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
    reasoning_effort: { why: 'not supported by this gateway yet' },
    web_search_options: { why: 'not supported by the AEGIS contract' },
  };
  for (const [param, capability] of Object.entries(PENDING)) {
    rules[param] = {
      why: isCapability(capability)
        ? `not wired in this gateway yet (the contract has "${capability}")`
        : `the AEGIS contract does not carry ${capability === 'tools' ? 'tool calling' : 'structured output'} yet`,
    };
  }
  return rules;
}

export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  runtime: RuntimeExecutionConfig;
  stream: boolean;
  includeUsage: boolean;
}

/** Built once: whether the contract has a capability does not change while the process runs. */
let rules: ReturnType<typeof unsupported> | undefined;

export function parseChatRequest(body: Record<string, unknown>): ChatRequest {
  const req = parseRequest(chatSchema, body, (rules ??= unsupported()));
  const messages = req.messages.map((m, i): ChatMessage => {
    const at = `messages[${i}]`;
    if (m.role === 'tool' || m.role === 'function') throw unsupportedParameter(`${at}.role`, 'tool results need tool calling, which the AEGIS contract does not carry yet');
    if (m.tool_calls !== undefined && m.tool_calls.length > 0) throw unsupportedParameter(`${at}.tool_calls`, 'the AEGIS contract does not carry tool calling yet');
    const role = m.role === 'developer' ? 'system' : m.role;
    const text = textOf(m.content, at);
    return m.name === undefined ? ({ role, content: text } as ChatMessage) : ({ role, content: text, name: m.name } as ChatMessage);
  });
  const maxTokens = req.max_completion_tokens ?? req.max_tokens ?? undefined;
  const runtime: RuntimeExecutionConfig = {};
  if (req.temperature !== null && req.temperature !== undefined) runtime.temperature = req.temperature;
  if (req.top_p !== null && req.top_p !== undefined) runtime.topP = req.top_p;
  if (maxTokens !== undefined) runtime.maxTokens = maxTokens;
  if (req.stop !== null && req.stop !== undefined) runtime.stop = typeof req.stop === 'string' ? [req.stop] : req.stop;
  if (req.seed !== null && req.seed !== undefined) runtime.seed = req.seed;
  return {
    model: req.model,
    messages,
    runtime,
    stream: req.stream === true,
    includeUsage: req.stream_options?.include_usage === true,
  };
}

function textOf(value: z.output<typeof content>, at: string): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  return value
    .map((part, j) => {
      if (part.type === 'text' && typeof (part as { text?: unknown }).text === 'string') return (part as { text: string }).text;
      const why = part.type === 'image_url' ? 'image input needs the contract\'s vision support, not there yet' : `content parts of type "${part.type}" are not supported`;
      throw unsupportedParameter(`${at}.content[${j}]`, why);
    })
    .join('\n');
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

export function usageOf(usage: Usage | undefined): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  const prompt = usage?.promptTokens ?? 0;
  const completion = usage?.completionTokens ?? 0;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: usage?.totalTokens ?? prompt + completion };
}

export function completionBody(id: string, created: number, model: string, result: CompletionResult): Record<string, unknown> {
  return {
    id,
    object: 'chat.completion',
    created,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: result.text, refusal: null }, logprobs: null, finish_reason: finishReasonOf(result.finishReason) }],
    usage: usageOf(result.usage),
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

  finish(reason: FinishReason): string {
    return `${this.head}{"index":0,"delta":{},"logprobs":null,"finish_reason":"${finishReasonOf(reason)}"}]}\n\n`;
  }

  usage(usage: Usage | undefined): string {
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
