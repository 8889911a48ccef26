import {
  BackendProvider,
  joinUrl,
  ProviderError,
  readNdjsonBatches,
  streamDeltas,
  type CallSettings,
  type ChatMessage,
  type ProviderCompletion,
  type EmbeddingsOptions,
  type EmbeddingsResult,
  type ModelInfo,
  type ProviderStream,
} from '@aegis/core';
import type { OllamaConfig } from './config.js';
import { mapLimited, modelInfoOf, modelNamesOf, SHOW_CONCURRENCY, type OllamaShowResponse, type OllamaTagsResponse } from './models.js';
import { toolCallParts } from './tools.js';
import { chatBody, checkChunk, completionOf, embedBody, embeddingsOf, finalOf, type OllamaEmbedResponse } from './wire.js';

/** Provider for Ollama's native API: /api/chat (NDJSON streaming) and /api/embed. */
export class OllamaProvider extends BackendProvider<OllamaConfig> {
  private url(path: string): string {
    return joinUrl(this.config.base_url, path);
  }

  private headers(): Record<string, string | undefined> {
    return { authorization: this.config.api_key ? `Bearer ${this.config.api_key}` : undefined };
  }

  protected override async doCompletion(messages: ChatMessage[], settings: CallSettings): Promise<ProviderCompletion> {
    const url = this.url('/api/chat');
    const { body } = await this.context.http.postJson<unknown>(
      url,
      chatBody(this.config, messages, settings, false),
      this.requestOptions(settings, this.headers()),
    );
    return completionOf(body, url, this.config.model);
  }

  /**
   * The NDJSON stream: `thinking` pieces (first, with `content: ""`) as
   * reasoning parts, `content` as text deltas, each tool call (whole, in one
   * line) as a whole tool-call part; the `"done": true` line ends it. What one
   * network chunk carries is handed on as one batch.
   */
  protected override async *doStream(messages: ChatMessage[], settings: CallSettings): ProviderStream {
    const url = this.url('/api/chat');
    const response = await this.context.http.postStream(
      url,
      chatBody(this.config, messages, settings, true),
      this.requestOptions(settings, this.headers()),
    );
    let calls = 0;
    const end = yield* streamDeltas(readNdjsonBatches(response.body, url), (line, items) => {
      const chunk = checkChunk(line, url);
      const message = chunk.message;
      if (message) {
        if (typeof message.thinking === 'string' && message.thinking) items.push({ type: 'reasoning', text: message.thinking });
        if (typeof message.content === 'string' && message.content) items.push(message.content);
        if (message.tool_calls !== undefined && message.tool_calls !== null) {
          const whole = toolCallParts(message.tool_calls, calls, url);
          calls += whole.length;
          items.push(...whole);
        }
      }
      if (chunk.done) return finalOf(chunk, this.config.model);
    });
    if (end) return end;
    throw this.truncatedStream(url, 'the final {"done": true} line');
  }

  protected override async doEmbeddings(texts: string[], options: EmbeddingsOptions, settings: CallSettings): Promise<EmbeddingsResult> {
    const url = this.url('/api/embed');
    const request = embedBody(this.config, texts, options);
    const { body } = await this.context.http.postJson<unknown>(url, request, this.requestOptions(settings, this.headers()));
    const embeddings = embeddingsOf(body, url);
    const { model, prompt_eval_count: tokens } = body as OllamaEmbedResponse;
    return {
      embeddings,
      usage: typeof tokens === 'number' ? { promptTokens: tokens, totalTokens: tokens } : undefined,
      model: typeof model === 'string' && model ? model : String(request.model),
    };
  }

  /** `/api/tags`, then `/api/show` per model for its context length and capabilities (a model gone in between keeps its name only). */
  protected override async doListModels(settings: CallSettings): Promise<ModelInfo[]> {
    const tagsUrl = this.url('/api/tags');
    const { body } = await this.context.http.getJson<OllamaTagsResponse>(tagsUrl, this.requestOptions(settings, this.headers()));
    const names = modelNamesOf(body, tagsUrl);
    const showUrl = this.url('/api/show');
    return mapLimited(names, SHOW_CONCURRENCY, async (name) => {
      try {
        const show = await this.context.http.postJson<OllamaShowResponse>(showUrl, { model: name }, this.requestOptions(settings, this.headers()));
        return modelInfoOf(name, show.body);
      } catch (error) {
        if (ProviderError.isInstance(error) && error.status === 404) return modelInfoOf(name, undefined);
        throw error;
      }
    });
  }
}
