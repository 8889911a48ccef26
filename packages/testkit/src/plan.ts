/** What a backend handler answers: a whole body, or a stream of frames the fault layer can cut and bend. */

export interface BodyPlan {
  type: 'body';
  status: number;
  /** Must include content-type. */
  headers: Record<string, string>;
  body: string | Buffer;
}

export interface StreamFormat {
  contentType: string;
  /** Wraps one payload (JSON text) in the wire framing. */
  frame(payload: string): string;
  /** End marker written after the tail frames ('' if the format has none). */
  done: string;
  /** The body is delimited by closing the connection (no chunked encoding). */
  closeDelimited?: boolean;
}

export interface StreamPlan {
  type: 'stream';
  status: number;
  headers: Record<string, string>;
  format: StreamFormat;
  /** Payloads of the content frames (first chunk and deltas). */
  frames: string[];
  /** Payloads of the closing frames (finish chunk, usage chunk, final done object...). */
  tail: string[];
  /** Wire text of the backend's in-stream error event(s), including any end marker that follows it. */
  errorWire(message: string): string;
  /**
   * For a reply whose calls come whole in one frame (Ollama): the index (in
   * `frames` then `tail`) of the frame with the first call, which the
   * `cut-in-tool-call` fault breaks off in the middle of its arguments.
   */
  toolCallFrame?: number;
  /**
   * A stream sent only after the backend has generated the whole answer
   * (KoboldCpp's simulated tool-call stream): nothing, not even the headers,
   * for this long, then every frame at once.
   */
  holdMs?: number;
  /** For a reply with tool calls: how many frames to send so the stream stops inside the first call's arguments. */
  cutInToolCall?: number;
}

export type Plan = BodyPlan | StreamPlan;

export function bodyPlan(status: number, contentType: string, body: string | Buffer, headers: Record<string, string> = {}): BodyPlan {
  return { type: 'body', status, headers: { 'content-type': contentType, ...headers }, body };
}

export function jsonPlan(status: number, json: string, headers: Record<string, string> = {}): BodyPlan {
  return bodyPlan(status, 'application/json', json, headers);
}

export function streamPlan(
  format: StreamFormat,
  frames: string[],
  tail: string[],
  errorWire: (message: string) => string,
  headers: Record<string, string> = {},
): StreamPlan {
  return { type: 'stream', status: 200, headers, format, frames, tail, errorWire };
}

/** Thrown by handlers to answer with an error plan (validation failures and the like). */
export class PlanError extends Error {
  constructor(readonly plan: Plan) {
    super('plan error');
  }
}
