import { REDACTED } from './secret-fields.js';

/**
 * Knows every secret value loaded from configuration and removes them from any
 * text before it is shown: error messages, log lines, printed configs. A second
 * line of defence behind field-level redaction.
 */
export class SecretScrubber {
  private readonly values = new Set<string>();

  /**
   * Remembers a secret value; for a list or mapping (secret headers, say), every
   * string in it. Very short values are ignored: scrubbing `a` would garble every message.
   */
  add(value: unknown, depth = 0): void {
    if (typeof value === 'string') {
      if (value.length >= 4) this.values.add(value);
    } else if (typeof value === 'object' && value !== null && depth < 5) {
      for (const item of Object.values(value)) this.add(item, depth + 1);
    }
  }

  get size(): number {
    return this.values.size;
  }

  scrub(text: string): string {
    let out = text;
    for (const value of this.values) {
      if (out.includes(value)) out = out.split(value).join(REDACTED);
    }
    return out;
  }

  /** Scrubs an error's message (and its cause chain's) in place, and returns it. */
  scrubError<E>(error: E): E {
    let current: unknown = error;
    for (let depth = 0; current instanceof Error && depth < 5; depth++) {
      const scrubbed = this.scrub(current.message);
      if (scrubbed !== current.message) {
        try {
          current.message = scrubbed;
          if (current.stack) current.stack = this.scrub(current.stack);
        } catch {
          /* frozen error: leave it */
        }
      }
      for (const key of ['bodyExcerpt', 'partialText', 'rawArguments'] as const) {
        const v = (current as unknown as Record<string, unknown>)[key];
        if (typeof v === 'string') (current as unknown as Record<string, unknown>)[key] = this.scrub(v);
      }
      current = current.cause;
    }
    return error;
  }
}
