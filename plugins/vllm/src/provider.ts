import {
  defaultErrorMessage,
  joinUrl,
  type CallSettings,
  type CountTokensOptions,
  type TokenCount,
  type TokenCountInput,
  type CompletionResult,
  type ErrorMessageExtractor,
  type ProviderContext,
  type SseEvent,
} from '@aegis/core';
import {
  OpenAICompatibleProvider,
  openAIErrorMessage,
  streamErrorFrom,
  type WireChatResponse,
  type WireChoice,
} from '@aegis/provider-openai';
import type { VllmConfig } from './config.js';
import { serverRoot, tokenCountOf, tokenizeBody, type WireTokenizeResponse } from './tokens.js';

/** A vLLM completion: the core result plus the stop string or token id that ended it (vLLM's `stop_reason`). */
export interface VllmCompletionResult extends CompletionResult {
  /** `stopReason`: the stop sequence (string) or stop token id (number) that matched; absent at end of sequence or length. */
  providerMetadata?: { stopReason?: string | number };
}

/**
 * vLLM's error bodies: the current nested `{"error": {"message", "type", "param", "code": <status>}}`,
 * the older flat `{"object": "error", "message", "type", "param", "code"}`, and the
 * authentication middleware's `{"error": "Unauthorized"}`.
 */
export const vllmErrorMessage: ErrorMessageExtractor = (body, text) => {
  if (typeof body === 'object' && body !== null) {
    const flat = body as Record<string, unknown>;
    if (flat.object === 'error' && typeof flat.message === 'string') {
      return typeof flat.type === 'string' && flat.type && !flat.message.includes(flat.type) ? `${flat.message} (${flat.type})` : flat.message;
    }
  }
  return openAIErrorMessage(body, text) ?? defaultErrorMessage(body, text);
};

/** Provider for a vLLM OpenAI-compatible server: the OpenAI provider's code with vLLM's differences. */
export class VllmProvider extends OpenAICompatibleProvider<VllmConfig> {
  constructor(config: VllmConfig, context: ProviderContext) {
    super(config, context, { maxTokensField: 'max_tokens', errorMessage: vllmErrorMessage });
  }

  protected override samplingFields(settings: CallSettings): Record<string, unknown> {
    const c = this.config;
    return {
      ...super.samplingFields(settings),
      top_k: c.top_k,
      min_p: c.min_p,
      repetition_penalty: c.repetition_penalty,
      stop_token_ids: c.stop_token_ids,
      min_tokens: c.min_tokens,
      ignore_eos: c.ignore_eos,
      include_stop_str_in_output: c.include_stop_str_in_output,
    };
  }

  /**
   * vLLM's reasoning switches: `false` drops the reasoning (`include_reasoning:
   * false`) and asks the chat template not to think (`enable_thinking`, read
   * by Qwen3-style templates; others ignore it), `true` asks it to think, a
   * level is `reasoning_effort`. The call's own `chat_template_kwargs` in
   * `providerOptions` still win, as they come last.
   */
  protected override reasoningFields(settings: CallSettings): Record<string, unknown> {
    const r = settings.reasoning;
    if (r === false) return { include_reasoning: false, chat_template_kwargs: { enable_thinking: false } };
    if (r === true) return { chat_template_kwargs: { enable_thinking: true } };
    return super.reasoningFields(settings);
  }

  protected override choiceExtras(choice: WireChoice): Partial<VllmCompletionResult> {
    const stop = choice.stop_reason;
    return typeof stop === 'string' || typeof stop === 'number' ? { providerMetadata: { stopReason: stop } } : {};
  }

  /** `POST /tokenize` at the server root: counted by the served model's tokenizer. */
  protected override async doCountTokens(input: TokenCountInput, options: CountTokensOptions, settings: CallSettings): Promise<TokenCount> {
    const url = joinUrl(serverRoot(this.config.base_url), 'tokenize');
    const model = options.model ?? this.config.model;
    const { body } = await this.context.http.postJson<WireTokenizeResponse>(url, tokenizeBody(model, input), this.httpOptions(settings));
    return tokenCountOf(body, url, model);
  }

  /** Older vLLM sent a mid-stream error in the flat shape: `data: {"object": "error", "message", ...}`. */
  protected override streamError(payload: WireChatResponse | undefined, event: SseEvent, url: string): Error | undefined {
    if (payload && typeof payload === 'object' && payload.object === 'error') {
      return streamErrorFrom(payload, event.data, url, vllmErrorMessage);
    }
    return super.streamError(payload, event, url);
  }
}
