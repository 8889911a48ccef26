import { ProviderError } from '../errors/provider-error.js';
import { excerpt } from './error-mapping.js';
import { redactUrl } from './url.js';

/**
 * Parses newline-delimited JSON and yields one value per line as it completes.
 * A line that is not JSON is a ProviderError naming the URL. A final line
 * without its newline is parsed too (and is an error if it is cut short).
 */
export async function* readNdjson<T = unknown>(chunks: AsyncIterable<Uint8Array | string>, url: string): AsyncGenerator<T> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of chunks) {
    buffer += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (line.trim()) yield parseStreamJson<T>(line, url);
    }
  }
  buffer += decoder.decode();
  if (buffer.trim()) yield parseStreamJson<T>(buffer, url);
}

/** Parses one JSON piece of a stream (an NDJSON line, an SSE event's data); garbage is a ProviderError naming the URL. */
export function parseStreamJson<T = unknown>(text: string, url: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    const safeUrl = redactUrl(url);
    throw new ProviderError(`stream from ${safeUrl} sent data that is not valid JSON: ${excerpt(text, 200)}`, {
      url: safeUrl,
      bodyExcerpt: excerpt(text),
      reason: 'bad_response',
      retryable: false,
    });
  }
}
