/**
 * What a provider can do. A plugin declares the subset its backend offers.
 *
 * Two kinds of capability: an *operation* has a public method of its own
 * (`getCompletion`, `getEmbeddings`, ...) and a protected `do*` method a
 * plugin overrides; a *feature* changes what a completion or a stream may
 * carry (`tools`, `reasoning`, `structured_output`, `vision`) and needs no
 * method of its own: core refuses a call that needs a feature the provider
 * does not declare, before any request.
 */
export const CAPABILITIES = [
  'completion',
  'streaming',
  'embeddings',
  'speech',
  'transcription',
  'tools',
  'reasoning',
  'structured_output',
  'vision',
  'models',
  'tokens',
] as const;

/** One capability a plugin may declare. */
export type Capability = (typeof CAPABILITIES)[number];

/** The capabilities that are operations: a public provider method each, and a `do*` method a plugin overrides. */
export const OPERATION_CAPABILITIES = ['completion', 'streaming', 'embeddings', 'speech', 'transcription', 'models', 'tokens'] as const;

/** A capability that is an operation with a public method. */
export type OperationCapability = (typeof OPERATION_CAPABILITIES)[number];

/** The capabilities that are features of completions and streams. */
export const FEATURE_CAPABILITIES = ['tools', 'reasoning', 'structured_output', 'vision'] as const;

/** A capability that changes what a completion or a stream may carry. */
export type FeatureCapability = (typeof FEATURE_CAPABILITIES)[number];

/** What needs each capability, as error messages name it: the public operation, or the feature of a call. */
export const OPERATION_OF: Record<Capability, string> = {
  completion: 'getCompletion',
  streaming: 'streamCompletion',
  embeddings: 'getEmbeddings',
  speech: 'getSpeech',
  transcription: 'getTranscription',
  tools: 'tool calling (runtime "tools")',
  reasoning: 'reasoning',
  structured_output: 'structured output (runtime "responseFormat")',
  vision: 'image input (image content parts)',
  models: 'listModels',
  tokens: 'countTokens',
};

/**
 * The protected method a provider overrides for each operation capability.
 * Features have none: they are what `doCompletion`/`doStream` do with the
 * call's settings.
 */
export const DO_METHOD_OF: Partial<Record<Capability, string>> = {
  completion: 'doCompletion',
  streaming: 'doStream',
  embeddings: 'doEmbeddings',
  speech: 'doSpeech',
  transcription: 'doTranscription',
  models: 'doListModels',
  tokens: 'doCountTokens',
};

/** True for one of the capability names above. */
export function isCapability(value: unknown): value is Capability {
  return typeof value === 'string' && (CAPABILITIES as readonly string[]).includes(value);
}

/** True for a capability that is an operation with a public method. */
export function isOperationCapability(value: unknown): value is OperationCapability {
  return typeof value === 'string' && (OPERATION_CAPABILITIES as readonly string[]).includes(value);
}

/** True for a capability that is a feature of completions and streams. */
export function isFeatureCapability(value: unknown): value is FeatureCapability {
  return typeof value === 'string' && (FEATURE_CAPABILITIES as readonly string[]).includes(value);
}
