/**
 * The features a completion call asks for (tools, response format, reasoning,
 * images), checked against the provider's capabilities and normalised, once,
 * before any request.
 */
import { hasImages } from './content.js';
import type { Capability, FeatureCapability } from './capabilities.js';
import { toJsonSchema } from './json-schema.js';
import type { ChatMessage } from './messages.js';
import type { ResponseFormat, ResponseFormatSpec } from './response-format.js';
import type { ReasoningSetting, RuntimeExecutionConfig } from './runtime.js';
import { checkToolChoice, normalizeTools } from './tool-specs.js';
import type { ToolChoice, ToolSpec } from './tools.js';

/** The normalised features of one call, as `CallSettings` carries them. */
export interface CallFeatures {
  tools?: ToolSpec[];
  toolChoice?: ToolChoice;
  parallelToolCalls?: boolean;
  responseFormat?: ResponseFormatSpec;
  reasoning?: ReasoningSetting;
}

/**
 * Checks and normalises the features of a call. `missing` is called with the
 * first feature capability the call needs and the provider lacks (it throws
 * the CapabilityNotSupportedError); a malformed value is a TypeError. Tools
 * are needed only when the list is non-empty, a response format only when it
 * asks for JSON, vision only when a user message carries an image. `reasoning`
 * is a request the backend may ignore, never refused.
 */
export function callFeatures(
  messages: readonly ChatMessage[],
  runtime: RuntimeExecutionConfig,
  supports: (capability: Capability) => boolean,
  missing: (capability: FeatureCapability) => never,
): CallFeatures {
  const features: CallFeatures = {};
  const tools = normalizeTools(runtime.tools);
  if (tools) {
    if (!supports('tools')) missing('tools');
    features.tools = tools;
  }
  const toolChoice = checkToolChoice(runtime.toolChoice, tools);
  if (tools) {
    if (toolChoice !== undefined) features.toolChoice = toolChoice;
    if (runtime.parallelToolCalls !== undefined) features.parallelToolCalls = runtime.parallelToolCalls;
  }
  const responseFormat = normalizeResponseFormat(runtime.responseFormat);
  if (responseFormat) {
    if (responseFormat.type === 'json' && !supports('structured_output')) missing('structured_output');
    features.responseFormat = responseFormat;
  }
  if (runtime.reasoning !== undefined) features.reasoning = runtime.reasoning;
  if (!supports('vision') && messages.some((m) => m.role === 'user' && hasImages(m.content))) missing('vision');
  return features;
}

/** A response format with its schema as JSON Schema (a zod schema converted); a TypeError for anything else. */
export function normalizeResponseFormat(format: ResponseFormat | undefined): ResponseFormatSpec | undefined {
  if (format === undefined) return undefined;
  if (typeof format !== 'object' || format === null || (format.type !== 'json' && format.type !== 'text')) {
    throw new TypeError('responseFormat must be { type: "text" } or { type: "json", schema?, name?, description? }');
  }
  if (format.type === 'text') return { type: 'text' };
  const spec: ResponseFormatSpec = { type: 'json' };
  if (format.schema !== undefined) spec.schema = toJsonSchema(format.schema, 'responseFormat.schema');
  if (format.name !== undefined) spec.name = format.name;
  if (format.description !== undefined) spec.description = format.description;
  return spec;
}
