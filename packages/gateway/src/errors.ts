/**
 * Errors in OpenAI's format (`{ error: { message, type, param, code } }`)
 * with the status OpenAI would use, and the mapping of AEGIS errors onto it.
 */
import {
  CapabilityNotSupportedError,
  ConfigurationError,
  InvalidToolArgumentsError,
  OPERATION_OF,
  ProviderError,
  StructuredOutputError,
  type AegisError,
} from '@aegis/core';

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** An answer the gateway gives instead of a result. */
export class GatewayError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly options: { code?: string; param?: string; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GatewayError';
  }

  body(scrub: (text: string) => string): OpenAIErrorBody {
    // `code` and `param` may come from the backend's error body too (upstreamField): scrubbed as the message is.
    const { param, code } = this.options;
    return { error: { message: scrub(this.message), type: this.type, param: param === undefined ? null : scrub(param), code: code === undefined ? null : scrub(code) } };
  }
}

export const invalidRequest = (message: string, param?: string, code?: string) =>
  new GatewayError(400, 'invalid_request_error', message, { param, code });

export const unsupportedParameter = (param: string, why: string) =>
  new GatewayError(400, 'invalid_request_error', `unsupported parameter "${param}": ${why}`, { param, code: 'unsupported_parameter' });

/** A client-chosen name as quoted in a message or a log line: at most this many characters. */
const QUOTED_NAME_CHARS = 128;

/** A name the client chose, shortened to quote (a model name can be as long as the body allows). */
export function quotedName(name: string): string {
  return name.length > QUOTED_NAME_CHARS ? `${name.slice(0, QUOTED_NAME_CHARS)}…` : name;
}

/** Also for a served model the key may not use: as OpenAI answers, a caller cannot tell the two apart. */
export const modelNotFound = (model: string) =>
  new GatewayError(404, 'invalid_request_error', `The model "${quotedName(model)}" does not exist or you do not have access to it.`, {
    param: 'model',
    code: 'model_not_found',
  });

/**
 * The longest wait the gateway passes on or keeps as an upstream's cooldown:
 * a backend's `Retry-After` of hours (or garbage as large as a number gets)
 * would otherwise shut a model off until a restart.
 */
export const MAX_RETRY_AFTER_MS = 300_000;

/** A wait as a Retry-After header: whole seconds, at least 1, at most MAX_RETRY_AFTER_MS. */
export function retryAfterSeconds(ms: number): number {
  return Number.isFinite(ms) ? Math.min(MAX_RETRY_AFTER_MS / 1000, Math.max(1, Math.ceil(ms / 1000))) : MAX_RETRY_AFTER_MS / 1000;
}

export const rateLimited = (message: string, retryAfterMs: number | undefined, code = 'rate_limit_exceeded') =>
  new GatewayError(429, 'rate_limit_error', message, {
    code,
    headers: retryAfterMs === undefined ? {} : { 'retry-after': String(retryAfterSeconds(retryAfterMs)) },
  });

/** What the upstream failure means to the client: 400 for a request the backend refused as invalid, 429, 504 for timeouts, else 502. */
export function fromError(error: unknown, model: string): GatewayError {
  if (error instanceof GatewayError) return error;
  if (CapabilityNotSupportedError.isInstance(error)) {
    const { capability, param } = capabilityOf(error);
    return new GatewayError(400, 'invalid_request_error', `model "${model}" does not support ${capability}`, {
      param: param ?? 'model',
      code: 'capability_not_supported',
    });
  }
  if (ProviderError.isInstance(error)) return fromProviderError(error, model);
  if (ConfigurationError.isInstance(error)) {
    return new GatewayError(500, 'server_error', `model "${model}" is not available: its configuration is invalid (see the gateway's log)`, {
      code: 'model_unavailable',
      cause: error,
    });
  }
  if (error instanceof TypeError) {
    // Core's checks of the call's input (a schema it cannot compile, an image it cannot read): the caller's to fix.
    const param = /^responseFormat/.test(error.message) ? 'response_format' : /^(tools\[|tool "|toolChoice)/.test(error.message) ? 'tools' : /image/.test(error.message) ? 'messages' : undefined;
    if (param !== undefined || /messages|expects/.test(error.message)) return invalidRequest(error.message, param);
  }
  return new GatewayError(500, 'server_error', 'internal error (see the gateway\'s log)', { cause: error });
}

function fromProviderError(error: ProviderError, model: string): GatewayError {
  const upstream = `upstream of model "${model}"`;
  // The backend answered, but not as asked: a bad gateway answer (LiteLLM's proxy fails the call too), never a 200
  // whose JSON the caller would trust. The message names the issues; the raw text stays in the gateway's log.
  if (StructuredOutputError.isInstance(error)) {
    return new GatewayError(502, 'upstream_error', `${upstream} answered off the response_format: ${error.message}`, { code: 'invalid_structured_output', cause: error });
  }
  if (InvalidToolArgumentsError.isInstance(error)) {
    return new GatewayError(502, 'upstream_error', `${upstream} called a tool with invalid arguments: ${error.message}`, { code: 'invalid_tool_arguments', cause: error });
  }
  if (error.status === 429) {
    if (!error.retryable) {
      // Not a wait (a spent quota): the backend's code, and no Retry-After; OpenAI's clients skip their retries on x-should-retry.
      return new GatewayError(429, 'rate_limit_error', `${upstream} refused the request: ${error.message}`, {
        code: upstreamCode(error) ?? 'upstream_quota_exceeded',
        headers: { 'x-should-retry': 'false' },
        cause: error,
      });
    }
    return rateLimited(`${upstream} is rate limited: ${error.message}`, error.retryAfterMs ?? 1000, 'upstream_rate_limited');
  }
  if (error.reason === 'timeout' || error.reason === 'idle_timeout' || error.status === 408 || error.status === 504) {
    return new GatewayError(504, 'timeout_error', `${upstream} timed out: ${error.message}`, { code: 'upstream_timeout', cause: error });
  }
  if (error.status === 400 || error.status === 413 || error.status === 422) {
    return new GatewayError(400, 'invalid_request_error', `${upstream} refused the request: ${error.message}`, {
      code: upstreamCode(error) ?? 'upstream_bad_request',
      param: upstreamField(error, 'param'),
      cause: error,
    });
  }
  return new GatewayError(502, 'upstream_error', `${upstream} failed: ${error.message}`, { code: 'upstream_error', cause: error });
}

/**
 * The `code` (or `param`) of an OpenAI-style error body the backend answered
 * with (`{"error": {"code": "context_length_exceeded", "param": "messages"}}`),
 * passed on so that a client which acts on it (trims the conversation, stops
 * on a spent quota) can: only a short identifier, read from the body's
 * excerpt (it may be cut, so not parsed as JSON).
 */
const UPSTREAM_FIELDS = {
  code: /"code"\s*:\s*"([A-Za-z0-9_.[\]-]{1,64})"/,
  param: /"param"\s*:\s*"([A-Za-z0-9_.[\]-]{1,64})"/,
};

function upstreamField(error: ProviderError, field: keyof typeof UPSTREAM_FIELDS): string | undefined {
  return UPSTREAM_FIELDS[field].exec(error.bodyExcerpt ?? '')?.[1];
}

const upstreamCode = (error: ProviderError): string | undefined => upstreamField(error, 'code');

/** What a capability is called in a 400, and the OpenAI parameter that needed it. */
const CAPABILITY_OF_OPERATION: Record<string, { capability: string; param?: string }> = {
  getCompletion: { capability: 'completion' },
  streamCompletion: { capability: 'streaming' },
  getEmbeddings: { capability: 'embeddings' },
  getSpeech: { capability: 'speech' },
  getTranscription: { capability: 'transcription' },
  [OPERATION_OF.tools]: { capability: 'tools (tool calling)', param: 'tools' },
  [OPERATION_OF.structured_output]: { capability: 'structured_output (response_format)', param: 'response_format' },
  [OPERATION_OF.vision]: { capability: 'vision (image_url content parts)', param: 'messages' },
  [OPERATION_OF.reasoning]: { capability: 'reasoning' },
};

/**
 * What a capability error is about. An operation the table does not know is a
 * plugin's own refusal of one option (`embeddings with \`dimensions\``, `speech
 * with a \`speed\` other than 1`): the parameter quoted in it is the `param`
 * the caller can drop.
 */
function capabilityOf(error: AegisError & { operation?: string }): { capability: string; param?: string } {
  const op = error.operation ?? '';
  return CAPABILITY_OF_OPERATION[op] ?? { capability: op, param: /`([a-z_]+)`/.exec(op)?.[1] };
}

/** The profile an upstream error belongs to and its reason, for metrics. */
export function upstreamReason(error: unknown): string | undefined {
  if (ProviderError.isInstance(error)) return error.status !== undefined ? `http_${error.status}` : error.reason;
  return undefined;
}
