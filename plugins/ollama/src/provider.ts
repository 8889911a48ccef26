import {
  BackendProvider,
  joinUrl,
  readNdjsonBatches,
  type CallSettings,
  type ChatMessage,
  type ProviderCompletion,
  type EmbeddingsOptions,
  type EmbeddingsResult,
  type ProviderStream,
  type StreamPart,
} from '@aegis/core';
import type { OllamaConfig } from './config.js';
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
   * line) as a tool-call part; the `"done": true` line ends it. Text deltas of
   * one network chunk are handed on as one batch.
   */
  protected override async *doStream(messages: ChatMessage[], settings: CallSettings): ProviderStream {
    const url = this.url('/api/chat');
    const response = await this.context.http.postStream(
      url,
      chatBody(this.config, messages, settings, true),
      this.requestOptions(settings, this.headers()),
    );
    let calls = 0;
    for await (const lines of readNdjsonBatches(response.body, url)) {
      const out: (string | StreamPart)[] = [];
      try {
        for (const line of lines) {
          const chunk = checkChunk(line, url);
          const { content, thinking, tool_calls: toolCalls } = chunk.message ?? {};
          if (typeof thinking === 'string' && thinking) out.push({ type: 'reasoning', text: thinking });
          if (typeof content === 'string' && content) out.push(content);
          const whole = toolCallParts(toolCalls, calls, url);
          calls += whole.length;
          out.push(...whole);
          if (chunk.done) {
            yield* inOrder(out);
            return finalOf(chunk, this.config.model);
          }
        }
      } catch (error) {
        // What arrived before the bad line is handed on first.
        yield* inOrder(out);
        throw error;
      }
      yield* inOrder(out);
    }
    throw this.truncatedStream(url, 'the final {"done": true} line');
  }

  protected override async doEmbeddings(texts: string[], options: EmbeddingsOptions, settings: CallSettings): Promise<EmbeddingsResult> {
    const url = this.url('/api/embed');
    const request = embedBody(this.config, texts, options.model);
    const { body } = await this.context.http.postJson<unknown>(url, request, this.requestOptions(settings, this.headers()));
    const embeddings = embeddingsOf(body, url);
    const { model, prompt_eval_count: tokens } = body as OllamaEmbedResponse;
    return {
      embeddings,
      usage: typeof tokens === 'number' ? { promptTokens: tokens, totalTokens: tokens } : undefined,
      model: typeof model === 'string' && model ? model : request.model,
    };
  }
}

/** Parts in the order they came: consecutive text deltas as one batch, the other parts one by one. */
function* inOrder(out: readonly (string | StreamPart)[]): Generator<readonly string[] | StreamPart, void, undefined> {
  let deltas: string[] = [];
  for (const item of out) {
    if (typeof item === 'string') {
      deltas.push(item);
      continue;
    }
    if (deltas.length > 0) yield deltas;
    deltas = [];
    yield item;
  }
  if (deltas.length > 0) yield deltas;
}
