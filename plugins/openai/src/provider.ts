import type { CallSettings, ProviderContext, SpeechOptions, SpeechResult } from '@aegis/core';
import { OpenAICompatibleProvider } from './compatible.js';
import type { OpenAIConfig } from './config.js';
import { badResponse, compact } from './wire.js';

/** MIME types of OpenAI's speech `response_format`s, for answers without a useful content-type. */
const SPEECH_MIME_TYPES: Record<string, string> = {
  mp3: 'audio/mpeg',
  opus: 'audio/opus',
  aac: 'audio/aac',
  flac: 'audio/flac',
  wav: 'audio/wav',
  pcm: 'audio/pcm',
};

/** The MIME type of synthesized audio: the response's content-type when it names audio, else the one of the format asked for. */
export function speechMimeType(format: string | undefined, contentType: string | string[] | undefined): string {
  const header = (Array.isArray(contentType) ? contentType[0] : contentType)?.split(';')[0]?.trim().toLowerCase();
  if (header && header.startsWith('audio/')) return header;
  return SPEECH_MIME_TYPES[(format ?? 'mp3').toLowerCase()] ?? 'application/octet-stream';
}

/** Provider for the OpenAI API (api.openai.com, or any server that speaks it). */
export class OpenAIProvider extends OpenAICompatibleProvider<OpenAIConfig> {
  constructor(config: OpenAIConfig, context: ProviderContext) {
    super(config, context, { maxTokensField: config.max_tokens_field });
  }

  protected override headers(): Record<string, string | undefined> {
    return {
      ...super.headers(),
      ...(this.config.organization ? { 'OpenAI-Organization': this.config.organization } : {}),
      ...(this.config.project ? { 'OpenAI-Project': this.config.project } : {}),
      ...this.config.headers,
    };
  }

  /** OpenAI's embeddings endpoint takes at most 2,048 inputs per request. */
  protected override get maxEmbeddingsPerCall(): number {
    return 2048;
  }

  protected override async doSpeech(text: string, options: SpeechOptions, settings: CallSettings): Promise<SpeechResult> {
    const url = this.endpoint('audio/speech');
    const response = await this.context.http.postForBytes(
      url,
      {
        ...compact({
          model: options.model ?? this.config.speech_model,
          input: text,
          voice: options.voice ?? this.config.voice,
          response_format: options.format,
          speed: options.speed,
        }),
        ...options.providerOptions,
      },
      this.httpOptions(settings),
    );
    if (response.body.length === 0) throw badResponse(url, 'with no audio');
    const contentType = String(response.headers['content-type'] ?? '');
    if (/json|text\/(html|plain)/i.test(contentType)) throw badResponse(url, `with ${contentType.split(';')[0]} instead of audio`);
    return { audio: response.body, mimeType: speechMimeType(options.format, response.headers['content-type']) };
  }
}
