import type { Logger } from '../contract/logger.js';
import { LevelLogger, type EntryLevel } from './level-logger.js';
import { looksLikeCredential } from '../secrets/credential-names.js';
import { REDACTED } from '../secrets/secret-fields.js';
import type { SecretScrubber } from '../secrets/scrubber.js';

const MAX_DEPTH = 8;

/**
 * Wraps any logger (the application's own included) so that nothing handed to
 * it carries a secret: the message and every string in the fields, at any
 * depth, go through the instance's scrubber, and a field whose name looks
 * like a credential is replaced whatever it holds. Errors in fields become
 * `{ name, message }` with the message scrubbed.
 */
export class ScrubbingLogger extends LevelLogger {
  constructor(
    private readonly inner: Logger,
    private readonly secrets: Pick<SecretScrubber, 'scrub'>,
  ) {
    super();
  }

  protected log(level: EntryLevel, message: string, fields?: Record<string, unknown>): void {
    const text = this.secrets.scrub(String(message));
    if (fields === undefined) this.inner[level](text);
    else this.inner[level](text, this.fields(fields, 0) as Record<string, unknown>);
  }

  private fields(value: unknown, depth: number): unknown {
    if (typeof value === 'string') return this.secrets.scrub(value);
    if (typeof value !== 'object' || value === null) return value;
    if (depth >= MAX_DEPTH) return '[…]';
    if (value instanceof Error) return { name: value.name, message: this.secrets.scrub(value.message) };
    if (Array.isArray(value)) return value.map((item) => this.fields(item, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = looksLikeCredential(key) && item !== undefined && item !== null && item !== '' ? REDACTED : this.fields(item, depth + 1);
    }
    return out;
  }
}
