/** What a backend says about its models (capability `models`) and token counts (capability `tokens`). */
import type { ChatMessage } from './messages.js';
import type { ProviderError } from '../errors/provider-error.js';

/** Options of `listModels`. */
export interface ListModelsOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Vetoes retrying a retryable failure (see `RuntimeExecutionConfig.retryIf`). */
  retryIf?: (error: ProviderError, attempt: number) => boolean;
}

/** Options of `countTokens`. */
export interface CountTokensOptions {
  /** The model whose tokenizer counts (default: the profile's). */
  model?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Vetoes retrying a retryable failure (see `RuntimeExecutionConfig.retryIf`). */
  retryIf?: (error: ProviderError, attempt: number) => boolean;
}

/** What `countTokens` counts: a text, or a conversation as the provider would send it. */
export type TokenCountInput = string | ChatMessage[];
export interface ModelInfo {
  id: string;
  /** The context window in tokens, where the backend reports it. */
  contextLength?: number;
  /** What the backend says the model can do, in its own words (e.g. `tools`, `vision`). */
  capabilities?: string[];
  ownedBy?: string;
  /** What only this backend reports, keyed as the backend names it. */
  providerMetadata?: Record<string, unknown>;
}

export interface TokenCount {
  /** The number of tokens. */
  tokens: number;
  /** `true` when the backend counted with the model's tokenizer; an estimate says `false`. */
  exact: boolean;
  /** The token ids, where the backend returns them. */
  ids?: number[];
  model?: string;
}
