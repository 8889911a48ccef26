/**
 * What a plugin's stream may yield besides text deltas (strings). Core turns
 * these into the caller's `StreamEvent`s: it concatenates a tool call's
 * argument fragments per `index`, parses them when the stream ends (or when a
 * whole call arrives), generates ids where the backend sends none, and keeps
 * the reasoning text.
 */
export type StreamPart =
  | { type: 'reasoning'; text: string }
  /** A piece of the model's refusal (see `CompletionResult.refusal`), apart from the answer's text. */
  | { type: 'refusal'; text: string }
  /**
   * A piece of tool call `index` (the backend's index; 0 for the first call):
   * its first piece names the call (`name`, and `id` where the backend sends
   * one); `arguments` is a fragment of the arguments' JSON text.
   */
  | { type: 'tool-call-delta'; index: number; id?: string; name?: string; arguments?: string }
  /**
   * A whole tool call in one piece (backends that send each call whole, or simulate streaming):
   * `arguments` as JSON text or as an already parsed object.
   */
  | { type: 'tool-call'; index: number; id?: string; name: string; arguments: string | Record<string, unknown> };
