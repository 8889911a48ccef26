/**
 * KoboldCpp's native stream: `event: message` / `data: {"token": "...", "finish_reason": null}`.
 * There is no [DONE]: the stream is complete only once an event with a
 * `finish_reason` has arrived; the server then closes the connection.
 */
import { defaultErrorMessage, excerpt, parseStreamJson, ProviderError, type SseEvent } from '@aegis/core';

export interface StreamPiece {
  token: string;
  /** Set on the last event only. */
  finishReason?: string;
}

/** The piece an event of a KoboldCpp stream carries; `undefined` for events that carry none (other types, empty data). */
export function koboldPiece(event: SseEvent, url: string): StreamPiece | undefined {
  if (event.event && event.event !== 'message') return undefined;
  if (event.data.trim() === '') return undefined;
  return parsePiece(parseStreamJson<unknown>(event.data, url), event.data, url);
}

function parsePiece(json: unknown, data: string, url: string): StreamPiece {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw badEvent(data, url);
  const event = json as Record<string, unknown>;
  if (typeof event.token !== 'string' && ('detail' in event || 'error' in event)) {
    const message = defaultErrorMessage(event, data) ?? excerpt(data, 200);
    throw new ProviderError(`stream from ${url} reported an error: ${message}`, {
      url,
      bodyExcerpt: excerpt(data),
      reason: 'stream_error',
      retryable: false,
    });
  }
  const finish = event.finish_reason;
  if ((event.token !== undefined && typeof event.token !== 'string') || (event.token === undefined && typeof finish !== 'string')) {
    throw badEvent(data, url);
  }
  return { token: (event.token as string | undefined) ?? '', finishReason: typeof finish === 'string' && finish !== '' ? finish : undefined };
}

function badEvent(data: string, url: string): ProviderError {
  return new ProviderError(`stream from ${url} sent an event without "token": ${excerpt(data, 200)}`, {
    url,
    bodyExcerpt: excerpt(data),
    reason: 'bad_response',
    retryable: false,
  });
}
