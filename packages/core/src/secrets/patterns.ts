/**
 * The forms in which a known secret can show up in a text, compiled once per
 * set of secrets: one regular expression for whole occurrences, and the
 * normalised forms for finding a piece of one at a cut (the end of a text, an
 * excerpt's `…`, the not-yet-arrived rest of a stream).
 *
 * A secret is looked for as written, JSON-escaped (once and twice: a JSON error
 * body quoted inside another JSON string), and percent-encoded (in a URL). Every
 * run of whitespace inside a secret matches any run of whitespace, because
 * excerpts and one-line messages collapse whitespace.
 */

/**
 * The shortest piece of a secret, left at the end of a cut text (an excerpt's
 * `…`, the end of a message or of a stream), that is removed. Shorter pieces
 * are mostly the common start of every key of a kind (`sk-`, `Bearer `).
 */
export const MIN_PIECE = 8;

/** A run of whitespace, as excerpts and one-line messages collapse it. */
const WHITESPACE = /\s+/g;

function isWhitespace(char: string): boolean {
  return char === ' ' || char === '\n' || char === '\t' || char === '\r' || /\s/.test(char);
}

/** The written forms of a secret, longest first. */
export function variantsOf(secret: string): string[] {
  const json = JSON.stringify(secret).slice(1, -1);
  const jsonTwice = JSON.stringify(json).slice(1, -1);
  const forms = new Set([secret, json, jsonTwice]);
  try {
    const encoded = encodeURIComponent(secret);
    forms.add(encoded);
    forms.add(encoded.replace(/%20/g, '+'));
  } catch {
    // a lone surrogate cannot be percent-encoded: it cannot appear in a URL either
  }
  return [...forms].sort((a, b) => b.length - a.length);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** How a piece of text relates to a secret's form: not a part of it, the start of it, or all of it. */
type TailMatch = 'no' | 'partial' | 'full';

export class SecretPatterns {
  /** Whole occurrences of every form of every secret. */
  private readonly regex: RegExp | undefined;
  /** Each form with its whitespace runs collapsed to one space. */
  private readonly forms: string[];
  /** First characters of the forms: a piece of a secret can only start at one of them. */
  private readonly firstChars: Set<string>;
  /** Length of the longest collapsed form. */
  readonly longest: number;

  constructor(secrets: Iterable<string>) {
    const forms = new Set<string>();
    for (const secret of secrets) for (const form of variantsOf(secret)) forms.add(form.replace(WHITESPACE, ' '));
    this.forms = [...forms].sort((a, b) => b.length - a.length);
    this.firstChars = new Set(this.forms.map((form) => form[0]!));
    this.longest = this.forms[0]?.length ?? 0;
    this.regex =
      this.forms.length === 0
        ? undefined
        : new RegExp(this.forms.map((form) => form.split(' ').map(escapeRegExp).join('\\s+')).join('|'), 'g');
  }

  get empty(): boolean {
    return this.regex === undefined;
  }

  /** The text with every whole occurrence replaced. */
  replaceAll(text: string, replacement: string): string {
    if (!this.regex) return text;
    this.regex.lastIndex = 0;
    return text.replace(this.regex, replacement);
  }

  /** The first whole occurrence at or after `from`. */
  nextMatch(text: string, from: number): { index: number; end: number } | undefined {
    if (!this.regex) return undefined;
    this.regex.lastIndex = from;
    const match = this.regex.exec(text);
    return match ? { index: match.index, end: match.index + match[0].length } : undefined;
  }

  /**
   * Where the longest piece of `text` ending at `end` that is the unfinished
   * start of a secret begins (`end` when there is none). `from` bounds the search.
   */
  partialStart(text: string, end = text.length, from = 0): number {
    if (!this.regex) return end;
    for (let i = this.searchStart(text, end, from); i < end; i++) {
      if (!this.firstChars.has(text[i]!)) continue;
      if (this.forms.some((form) => tailMatch(text, i, end, form) === 'partial')) return i;
    }
    return end;
  }

  /** The lowest index whose text up to `end` is no longer than the longest form, counting a whitespace run as one character. */
  private searchStart(text: string, end: number, from: number): number {
    let units = 0;
    let i = end;
    while (i > from && units < this.longest) {
      i--;
      if (isWhitespace(text[i]!)) while (i > from && isWhitespace(text[i - 1]!)) i--;
      units++;
    }
    return i;
  }

  /** Length of a piece, counting each whitespace run as one character. */
  static units(piece: string): number {
    return piece.replace(WHITESPACE, ' ').length;
  }
}

/** Does `text[start, end)` match the collapsed `form` entirely, only its start, or not at all? */
function tailMatch(text: string, start: number, end: number, form: string): TailMatch {
  let i = start;
  let j = 0;
  while (i < end) {
    if (j >= form.length) return 'no';
    if (form[j] === ' ') {
      if (!isWhitespace(text[i]!)) return 'no';
      while (i < end && isWhitespace(text[i]!)) i++;
    } else if (text[i] !== form[j]) {
      return 'no';
    } else {
      i++;
    }
    j++;
  }
  return j === form.length ? 'full' : 'partial';
}
