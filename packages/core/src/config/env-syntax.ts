/**
 * The lines of an env file that dotenv would not read as they were meant, as
 * issues at file:line. dotenv (the parser, kept) skips a line it does not
 * understand without a word, and takes an unclosed quote as part of the value:
 * `API_KEY="sk-...` without its closing quote would be sent with the
 * quote in it, and a line missing its `=` leaves its variable unset while the
 * file seems to set it. Messages name the line, never its text (a value in it
 * may be a secret).
 *
 * What counts as an assignment is dotenv's: an optional `export`, a name of
 * letters, digits, `_`, `.` or `-`, then `=` (or `: `). A value opening with
 * `"`, `'` or a backtick runs to the same quote, unescaped, on that line or a
 * later one.
 */
import type { ConfigIssue } from '../errors/index.js';

const ASSIGNMENT = /^\s*(?:export\s+)?[\w.-]+(?:\s*=|:\s)/;
const QUOTES = new Set(['"', "'", '`']);

export const NOT_AN_ASSIGNMENT = 'not a NAME=value line (nor a comment): the env file reader skips it, so it sets nothing; write NAME=value, or start the line with #';

export function unclosedQuoteMessage(quote: string): string {
  return `the value's opening quote (${quote}) is never closed: the reader would keep the quote as part of the value; close it on this line or a later one`;
}

export function envFileIssues(text: string, file: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  let open: { quote: string; line: number } | undefined;
  const lines = text.split(/\r\n?|\n/);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    if (open) {
      // Inside a quoted value that spans lines: this line is part of it until the quote closes.
      if (closingQuoteAt(raw, open.quote, 0) >= 0) open = undefined;
      continue;
    }
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const start = ASSIGNMENT.exec(raw);
    if (!start) {
      issues.push({ file, line: i + 1, message: NOT_AN_ASSIGNMENT });
      continue;
    }
    const value = raw.slice(start[0].length).trimStart();
    const quote = value[0];
    if (quote !== undefined && QUOTES.has(quote) && closingQuoteAt(value, quote, 1) < 0) open = { quote, line: i + 1 };
  }
  if (open) issues.push({ file, line: open.line, message: unclosedQuoteMessage(open.quote) });
  return issues;
}

/** Where `quote` next appears in `text` from `from`, not escaped with a backslash; -1 when it does not. */
function closingQuoteAt(text: string, quote: string, from: number): number {
  for (let at = text.indexOf(quote, from); at >= 0; at = text.indexOf(quote, at + 1)) {
    if (text[at - 1] !== '\\') return at;
  }
  return -1;
}
