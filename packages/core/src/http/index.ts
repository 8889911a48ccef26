export { HttpClient, type HttpClientOptions, type HttpRequestOptions, type HttpResponse } from './client.js';
export { readSse, readSseBatches, type SseEvent } from './sse.js';
export { readNdjson, readNdjsonBatches, parseStreamJson } from './ndjson.js';
export { withRetries, backoffDelay, sleep, type RetryPolicy } from './retry.js';
export { parseRetryAfter } from './retry-after.js';
export { joinUrl, redactUrl } from './url.js';
export { withoutUndefined } from './body.js';
export {
  defaultErrorMessage,
  httpStatusError,
  transportError,
  abortedError,
  excerpt,
  type ErrorMessageExtractor,
  type ErrorRetryableJudge,
} from './error-mapping.js';
