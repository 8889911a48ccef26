import { isHarmlessHeader, isHeadersMap, looksLikeCredential } from './credential-names.js';
import { looksLikeCredentialValue, REDACTED } from './secret-fields.js';
import { MIN_PIECE, SecretPatterns } from './patterns.js';
import { StreamScrubber } from './stream-scrubber.js';
import { isUrl, redactUrlsIn, urlCredentials } from './url-credentials.js';
import { MAX_NESTING } from '../config/limits.js';

/** Values shorter than this are not remembered: scrubbing `abc` would garble every message. */
const MIN_SECRET = 4;

/** `.env` values that are settings, not secrets: switches, log levels, small numbers (ports, sizes). */
const PLAIN_SETTING = /^(true|false|yes|no|on|off|null|none|debug|info|warn|warning|error|silent|\d{1,5})$/i;

/** An `Authorization`-style value: a scheme, then the credential (which may hold spaces: all of it is learnt). */
const AUTH_SCHEME = /^(?:bearer|basic|token)\s+(\S[\s\S]*)$/i;

/** The excerpt marker: where `excerpt()` cut a text. */
const CUT = '…';

/**
 * Knows every secret value loaded from configuration and removes them from any
 * text before it is shown: error messages, log lines, printed configs, streamed
 * answers. A second line of defence behind field-level redaction.
 *
 * A secret is found as written, JSON-escaped, percent-encoded and with its
 * whitespace runs collapsed; a piece of one (8 characters or more) is found
 * where a text was cut. Any URL in a text also loses its `user:password@`
 * and the values of credential-named query parameters.
 */
export class SecretScrubber {
  private readonly values = new Set<string>();
  private compiled?: SecretPatterns;

  /**
   * Remembers a secret value; for a list or mapping (secret headers, say), every
   * string in it, however deep (a walk with its own stack: no depth limit, and
   * a value that contains itself is walked once). Surrounding whitespace is not
   * part of a secret.
   */
  add(value: unknown): void {
    const stack: unknown[] = [value];
    const seen = new Set<object>();
    while (stack.length > 0) {
      const item = stack.pop();
      if (typeof item === 'string') this.addOne(item);
      else if ((typeof item === 'number' || typeof item === 'bigint') && String(item).length >= MIN_SECRET) this.addOne(String(item));
      else if (typeof item === 'object' && item !== null && !seen.has(item)) {
        seen.add(item);
        for (const child of Object.values(item)) stack.push(child);
      }
    }
  }

  /**
   * One secret; of an `Authorization`-style value (`Bearer <x>`, `Basic <x>`,
   * `Token <x>`) the credential too, which a backend may echo without its scheme
   * (`Incorrect API key provided: <x>`).
   */
  private addOne(value: string): void {
    const secret = value.trim();
    if (secret.length < MIN_SECRET) return;
    this.remember(secret);
    const credential = AUTH_SCHEME.exec(secret)?.[1];
    if (credential !== undefined && credential.length >= MIN_SECRET) this.remember(credential);
  }

  private remember(secret: string): void {
    if (!this.values.has(secret)) {
      this.values.add(secret);
      this.compiled = undefined;
    }
  }

  /**
   * Remembers a value of a `.env` file: all of it is secret, except settings
   * that cannot be one and would garble every output if scrubbed (`true`,
   * `8080`, `debug`), and of a URL only its credentials.
   */
  addEnvValue(value: string): void {
    const text = value.trim();
    if (PLAIN_SETTING.test(text)) return;
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) this.addUrl(text);
    else this.add(text);
  }

  /** Remembers the credentials inside a URL (user, password, credential query values), not the URL itself. */
  addUrl(url: string): void {
    for (const part of urlCredentials(url)) this.add(part);
  }

  /**
   * Remembers the secrets among configuration values, at any depth: every
   * value under a credential-like name, every header of a `headers` map but
   * a few harmless ones, values shaped like keys, and the credentials in URLs.
   * Past the loader's depth (MAX_NESTING; values passed in code can go
   * deeper), every string of what is left is remembered, as `redactValues`
   * hides it whole: nothing deep is left both unlearnt and shown.
   */
  addFromValues(values: unknown, name = '', depth = 0): void {
    if (depth > MAX_NESTING) {
      this.add(values);
      return;
    }
    if (typeof values === 'string') {
      if (isUrl(values)) this.addUrl(values);
      else if (looksLikeCredentialValue(values)) this.add(values);
    } else if (Array.isArray(values)) {
      for (const item of values) this.addFromValues(item, name, depth + 1);
    } else if (typeof values === 'object' && values !== null) {
      const headers = isHeadersMap(name);
      for (const [key, value] of Object.entries(values)) {
        if (looksLikeCredential(key) || (headers && !isHarmlessHeader(key))) this.add(value);
        else this.addFromValues(value, key, depth + 1);
      }
    }
  }

  get size(): number {
    return this.values.size;
  }

  /** The compiled forms of the secrets known now (recompiled after an `add`). */
  get patterns(): SecretPatterns {
    this.compiled ??= new SecretPatterns(this.values);
    return this.compiled;
  }

  /** The text without any known secret, piece of one at a cut, or URL credential. */
  scrub(text: string): string {
    const patterns = this.patterns;
    let out = patterns.replaceAll(text, REDACTED);
    if (!patterns.empty) out = removeCutPieces(out, patterns);
    return redactUrlsIn(out, REDACTED);
  }

  /**
   * A scrubber for text that arrives in pieces (a streamed answer, an SSE
   * response): a secret split across pieces is removed whole, and only the end
   * that could still become a secret is held back. Uses the secrets known at each write.
   */
  createStreamScrubber(): StreamScrubber {
    return new StreamScrubber(() => this.patterns);
  }

  /** Scrubs an error's message (and its cause chain's) in place, and returns it. */
  scrubError<E>(error: E): E {
    let current: unknown = error;
    for (let depth = 0; current instanceof Error && depth < 5; depth++) {
      const scrubbed = this.scrub(current.message);
      try {
        if (scrubbed !== current.message) current.message = scrubbed;
        if (current.stack) current.stack = this.scrub(current.stack);
      } catch {
        /* frozen error: leave it */
      }
      const record = current as unknown as Record<string, unknown>;
      for (const key of ['bodyExcerpt', 'partialText', 'url', 'rawArguments'] as const) {
        const v = record[key];
        if (typeof v === 'string') {
          try {
            record[key] = this.scrub(v);
          } catch {
            /* read-only: leave it */
          }
        }
      }
      current = current.cause;
    }
    return error;
  }
}

/** Removes a piece of a secret left at the end of the text and before every excerpt marker. */
function removeCutPieces(text: string, patterns: SecretPatterns): string {
  let out = '';
  let start = 0;
  for (let cut = text.indexOf(CUT); ; cut = text.indexOf(CUT, start)) {
    const end = cut < 0 ? text.length : cut;
    const piece = patterns.partialStart(text, end, start);
    out += text.slice(start, piece);
    if (piece < end) out += SecretPatterns.units(text.slice(piece, end)) >= MIN_PIECE ? REDACTED : text.slice(piece, end);
    if (cut < 0) return out;
    out += CUT;
    start = cut + CUT.length;
  }
}
