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
  remote?: string;
}

export type AccessLogSink = (line: string) => void;

export function formatEntry(entry: AccessLogEntry, scrub: (text: string) => string): string {
  return scrub(JSON.stringify(entry));
}
