import { safeForTerminal } from '@aegis/core';

/** One JSON line per answered request, scrubbed of secrets. */
export interface AccessLogEntry {
  time: string;
  request_id: string;
  method: string;
  path: string;
  status: number;
  duration_ms: number;
  model?: string;
  profile?: string;
  key?: string;
  stream?: boolean;
  first_delta_ms?: number;
  prompt_tokens?: number;
  completion_tokens?: number;
  error?: string;
  /** The client went away before the answer was complete. */
  client_closed?: boolean;
  /**
   * A stream that broke after its 200 had been sent (the client got an error event, no [DONE]): `status` is
   * then the failure's (502, 504...), as the metrics count it, so an error rate sees it.
   */
  stream_broken?: boolean;
  remote?: string;
}

export type AccessLogSink = (line: string) => void;

/**
 * The entry as one JSON line, scrubbed, with the characters a terminal would
 * act on that JSON leaves as they are (DEL, C1 controls such as the one-byte
 * CSI, bidirectional overrides) written as `\uXXXX` escapes: still the same
 * JSON, safe on a terminal (a model name or error is the client's or the
 * backend's text).
 */
export function formatEntry(entry: AccessLogEntry, scrub: (text: string) => string): string {
  return safeForTerminal(scrub(JSON.stringify(entry)));
}
