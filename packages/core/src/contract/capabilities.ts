/** What a provider can do. A plugin declares the subset its backend offers. */
export const CAPABILITIES = ['completion', 'streaming', 'embeddings', 'speech', 'transcription', 'models', 'tokens'] as const;
export type Capability = (typeof CAPABILITIES)[number];

/** The public operation that needs each capability, for error messages. */
export const OPERATION_OF: Record<Capability, string> = {
  completion: 'getCompletion',
  streaming: 'streamCompletion',
  embeddings: 'getEmbeddings',
  speech: 'getSpeech',
  transcription: 'getTranscription',
  models: 'listModels',
  tokens: 'countTokens',
};

export function isCapability(value: unknown): value is Capability {
  return typeof value === 'string' && (CAPABILITIES as readonly string[]).includes(value);
}
