import {
  BackendProvider,
  normalizeFinishReason,
  parseStreamJson,
  readSse,
  ProviderError,
  type CallSettings,
  type ChatMessage,
  type CompletionResult,
  type ProviderStream,
} from '@aegis/core';
import type { ExampleComConfig } from './config.js';

interface ExampleComResponse {
  data?: { choices?: { text?: string; finish_reason?: string }[] };
  usage?: { prompt_tokens?: number; completion_tokens?: number };
}

interface ExampleComChunk {
  text?: string;
  finish_reason?: string | null;
  error?: { message?: string };
}

/** Example.com takes one prompt, so the conversation is flattened into it. */
function toPrompt(messages: ChatMessage[]): string {
  return messages.map((m) => (m.role === 'user' ? m.content : `${m.role}: ${m.content}`)).join('\n\n');
}

/** Provider for the fictional Example.com completion API (the old guide's Step 2, rewritten). */
export class ExampleComProvider extends BackendProvider<ExampleComConfig> {
  private body(messages: ChatMessage[], settings: CallSettings, stream: boolean) {
    return {
      model: this.config.model,
      prompt: toPrompt(messages),
      temp: settings.temperature,
      max_tokens: settings.maxTokens,
      stop: settings.stop,
      ...(stream ? { stream: true } : {}),
      ...settings.providerOptions,
    };
  }

  private headers() {
    return { authorization: `Bearer ${this.config.api_key}` };
  }

  protected override async doCompletion(messages: ChatMessage[], settings: CallSettings): Promise<CompletionResult> {
    const url = this.config.llm_url;
    const { body } = await this.context.http.postJson<ExampleComResponse>(
      url,
      this.body(messages, settings, false),
      this.requestOptions(settings, this.headers()),
    );
    const choice = body.data?.choices?.[0];
    if (typeof choice?.text !== 'string') {
      throw new ProviderError(`${url} answered without data.choices[0].text`, { url, reason: 'bad_response' });
    }
    return {
      text: choice.text,
      finishReason: normalizeFinishReason(choice.finish_reason ?? 'stop'),
      usage: body.usage && { promptTokens: body.usage.prompt_tokens, completionTokens: body.usage.completion_tokens },
      model: this.config.model,
    };
  }

  protected override async *doStream(messages: ChatMessage[], settings: CallSettings): ProviderStream {
    const url = this.config.llm_url;
    const response = await this.context.http.postStream(
      url,
      this.body(messages, settings, true),
      this.requestOptions(settings, this.headers()),
    );
    let finishReason: string | undefined;
    for await (const event of readSse(response.body)) {
      if (event.data === '[DONE]') return { finishReason: normalizeFinishReason(finishReason ?? 'stop'), model: this.config.model };
      const chunk = parseStreamJson<ExampleComChunk>(event.data, url);
      if (chunk.error) {
        throw new ProviderError(`stream from ${url} failed: ${chunk.error.message ?? 'error event'}`, { url, reason: 'stream_error' });
      }
      if (typeof chunk.text !== 'string') {
        throw new ProviderError(`stream from ${url} sent an event without "text": ${event.data.slice(0, 200)}`, { url, reason: 'bad_response' });
      }
      if (chunk.text) yield chunk.text;
      if (chunk.finish_reason) finishReason = chunk.finish_reason;
    }
    throw this.truncatedStream(url, 'data: [DONE]');
  }
}
