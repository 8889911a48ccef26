import './cjs.js';

export { z } from 'zod';
export * from './errors/index.js';
export {
  CAPABILITIES,
  OPERATION_CAPABILITIES,
  FEATURE_CAPABILITIES,
  OPERATION_OF,
  DO_METHOD_OF,
  isCapability,
  isOperationCapability,
  isFeatureCapability,
  type Capability,
  type OperationCapability,
  type FeatureCapability,
} from './contract/capabilities.js';
export type { ChatMessage, ChatRole, SystemMessage, UserMessage, AssistantMessage, ToolMessage } from './contract/messages.js';
export { textOf, hasImages, type ContentPart, type TextPart, type ImagePart, type UserContent } from './contract/content.js';
export type { ToolDefinition, ToolSpec, ToolChoice, ToolCall, JsonSchema } from './contract/tools.js';
export { normalizeTools, checkToolChoice, TOOL_NAME_PATTERN } from './contract/tool-specs.js';
export { isZodSchema, toJsonSchema } from './contract/json-schema.js';
export { parseJson } from './contract/structured-output.js';
export { imageBase64, imageUrl, inlineImage, sniffImageType, type InlineImage } from './contract/images.js';
export { callFeatures, normalizeResponseFormat, type CallFeatures } from './contract/call-features.js';
export { messagesFor } from './contract/compat-messages.js';
export {
  generateToolCallId,
  parseToolArguments,
  toToolCall,
  completeToolCalls,
  normalizeCompletion,
  type ToolCallInput,
  type ProviderCompletion,
} from './contract/tool-calls.js';
export { StreamAssembler, type EventSink } from './contract/stream-assembler.js';
export type { ResponseFormat, ResponseFormatSpec } from './contract/response-format.js';
export type { StreamEvent } from './contract/stream-events.js';
export type { StreamPart } from './contract/stream-parts.js';
export type { ModelInfo, TokenCount, TokenCountInput, ListModelsOptions, CountTokensOptions } from './contract/models.js';
export {
  normalizeFinishReason,
  FINISH_REASON_ALIASES,
  type CallOptions,
  type CompletionResult,
  type ObjectOptions,
  type ObjectResult,
  type EmbeddingsOptions,
  type EmbeddingsResult,
  type FinishReason,
  type SpeechOptions,
  type SpeechResult,
  type TranscriptionOptions,
  type TranscriptionResult,
  type Usage,
} from './contract/results.js';
export { runtimeFromSettings, type RuntimeExecutionConfig, type CallSettings, type ReasoningSetting } from './contract/runtime.js';
export { BaseBackendConfig } from './contract/base-config.js';
export { CompletionStream } from './contract/stream.js';
export { BackendProvider, implementedCapabilities, type ProviderContext } from './contract/provider.js';
export type { SharedCooldowns, CooldownListener } from './contract/shared-cooldowns.js';
export { streamDeltas, type ProviderStream, type StreamEnd, type StreamItem, type DeltaStep } from './contract/deltas.js';
export type { Logger, LogLevel } from './contract/logger.js';
export { ConsoleLogger, parseLogLevel, type ConsoleLoggerOptions } from './log/console-logger.js';
export { ScrubbingLogger } from './log/scrubbing-logger.js';
export { safeForTerminal } from './log/terminal-text.js';
export * from './http/index.js';
export * from './plugins/index.js';
export {
  describePlugins,
  writePluginDescription,
  readPluginDescription,
  DEFAULT_DESCRIPTION_FILE,
  type PluginDescription,
  type ProviderDescription,
} from './plugins/description.js';
export {
  secret,
  isMarkedSecret,
  looksLikeCredential,
  looksLikeCredentialValue,
  secretKeysOf,
  redactValues,
  redactUrlsIn,
  SecretScrubber,
  StreamScrubber,
  REDACTED,
} from './secrets/index.js';
export type { AegisOptions } from './aegis-options.js';
export { validateSection, type RawSection, type SectionValidation } from './config/sections.js';
export {
  Aegis,
  createAegis,
  configureAegis,
  getDefaultAegis,
  getBackendConfig,
  getProviderForProfile,
  type ProfileSummary,
  type PluginSummary,
} from './aegis.js';
export type { ResolvedConfig } from './di/provider-factory.js';
export { CORE_VERSION } from './version.js';
