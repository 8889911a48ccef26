/**
 * The limits that keep a hostile `backends.yaml` or `.env` from exhausting the
 * process: each is far above what a real configuration needs, and each is
 * reported as a typed error (a {@link ConfigurationError} or a profile issue)
 * naming the file and line, never a hang or a crash. docs/security.md lists them.
 */

/** Largest `backends.yaml` read (bytes). A config of 10,000 profiles is about 1 MiB; real ones are a few KiB. */
export const MAX_CONFIG_FILE_BYTES = 2 * 1024 * 1024;
/** Largest env file read (bytes). */
export const MAX_ENV_FILE_BYTES = 1024 * 1024;
/** Most values (list items, mapping entries) that aliases (`*name`) may expand to, in the whole file. */
export const MAX_ALIAS_EXPANSION = 10_000;
/** Most characters one value may have once its `${VAR}` references are substituted. */
export const MAX_VALUE_CHARS = 1024 * 1024;
/**
 * Most characters the whole configuration may grow by when aliases and `${VAR}`
 * references are expanded (beyond the text of the file itself).
 */
export const MAX_EXPANDED_CHARS = 16 * 1024 * 1024;
/** Deepest nesting of lists and mappings inside a profile. */
export const MAX_NESTING = 64;

/** Plain-words sizes for messages: `8 MiB`, `512 KiB`, `300 bytes`. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/**
 * What expanding aliases and `${VAR}` references may still produce, shared by
 * every profile of one file: an alias bomb (each alias naming a list of
 * aliases) or a value of 200,000 references to a long variable stops here
 * instead of building gigabytes.
 */
export class ExpansionBudget {
  aliasValues = 0;
  chars = 0;
  /** Set once a limit is passed: everything after it is left unexpanded and reported once. */
  exhausted = false;

  constructor(
    readonly maxAliasValues = MAX_ALIAS_EXPANSION,
    readonly maxChars = MAX_EXPANDED_CHARS,
  ) {}

  /** Counts one value reached through an alias; false once the limit is passed. */
  aliasValue(): boolean {
    this.aliasValues += 1;
    return this.aliasValues <= this.maxAliasValues;
  }

  /** Counts characters added by expansion; false once the limit is passed. */
  addChars(n: number): boolean {
    this.chars += n;
    return this.chars <= this.maxChars;
  }

  /** Characters expansion may still add. */
  get charsLeft(): number {
    return Math.max(0, this.maxChars - this.chars);
  }
}
