import type { Document, LineCounter, YAMLError } from 'yaml';
import { yaml } from '../cjs.js';

const { isScalar, visit } = yaml;
import type { ConfigIssue } from '../errors/index.js';
import { ForwardSpanCursor, lastStartingBefore, RangeUnion } from './sorted-ranges.js';

/** The one message for a line indented with a tab. */
export const TAB_INDENT_MESSAGE = 'tabs are not allowed for indentation in YAML; use spaces';

const PREFIX = 'YAML syntax error: ';

/**
 * The `yaml` library's syntax errors as our issues: file:line:col and a message
 * in plain words of our own. The library's messages are never shown, since many
 * quote source tokens (`Unexpected scalar token in YAML stream: "<token>"`), and
 * a token may be a key written literally in the file: they are only matched
 * against known constant texts to pick one of our messages.
 *
 * - An unclosed quote is reported where the quoted value starts, not where the
 *   parser gave up (often the end of the file); the errors inside the text it
 *   swallowed are dropped.
 * - A line indented with a tab is reported once, at the tab, and the follow-on
 *   errors it causes are dropped.
 * - A key indented further than the key above it (whose value is on its own
 *   line) is reported once, at the line to fix, not as the one or two errors
 *   the parser gives for the line above.
 * - Errors with the same message on the same line are reported once.
 *
 * Linear (n log n) in the size of the file and the number of errors: a broken
 * file of a million lines gives about as many errors and scalars, so no
 * question here walks all of either (see sorted-ranges.ts).
 */
export function syntaxIssues(errors: readonly YAMLError[], doc: Document, text: string, lineCounter: LineCounter, file: string): ConfigIssue[] {
  const scalars = scalarRanges(doc);
  const quoted = quotedScalars(scalars, text);
  interface Located {
    offset: number;
    message: string;
  }
  let located: Located[] = [];
  const swallowed: [number, number][] = [];

  const relocated = new Set<YAMLError>();
  for (const error of errors) {
    const quote = unclosedQuote(error);
    if (!quote) continue;
    relocated.add(error);
    const range = openingOf(quoted[quote], error.pos[0]);
    if (range) swallowed.push(range);
    located.push({ offset: range ? range[0] : error.pos[0], message: unclosedQuoteMessage(quote) });
  }
  // Several errors on one line ask the same question about the line after it: answered once.
  const overByLine = new Map<number, ReturnType<typeof overIndentedLineAfter>>();
  for (const error of errors) {
    if (relocated.has(error) || !IMPLICIT_KEY_CODES.has(error.code)) continue;
    const lineStart = lineStartOf(lineCounter, error.pos[0]);
    if (!overByLine.has(lineStart)) overByLine.set(lineStart, overIndentedLineAfter(text, lineStart));
    const over = overByLine.get(lineStart);
    if (!over) continue;
    relocated.add(error);
    // What the parser says about the line above is a consequence of this line's indentation.
    swallowed.push([over.aboveStart, over.end]);
    located.push({ offset: over.offset, message: overIndentedMessage(lineCounter.linePos(over.aboveStart).line) });
  }
  const flowsByEnd = new Map<number, FlowRange[]>();
  for (const flow of flowCollections(doc)) {
    const list = flowsByEnd.get(flow.end);
    if (list) list.push(flow);
    else flowsByEnd.set(flow.end, [flow]);
  }
  const swallowedText = new RangeUnion(swallowed);
  // Ends of [...] and {...} reported at their opening bracket: the errors the parser gives there are that one.
  const reportedEnds = new Set<number>();
  for (const error of errors) {
    const bracket = unclosedBracket(error);
    if (!bracket) continue;
    relocated.add(error);
    // A bracket an unclosed quote swallowed: only the quote is reported.
    if (swallowedText.has(error.pos[0]) || reportedEnds.has(error.pos[0])) continue;
    // The parser reports it where it gave up, at the collection's end: report the opening bracket.
    const opening = flowsByEnd.get(error.pos[0])?.find((f) => f.bracket === bracket && text[f.start] === bracket);
    if (opening) reportedEnds.add(error.pos[0]);
    located.push({ offset: opening ? opening.start : error.pos[0], message: unclosedBracketMessage(bracket, error.code === 'BAD_INDENT') });
  }
  for (const error of errors) {
    if (relocated.has(error)) continue;
    const offset = error.pos[0];
    // Inside (or right after) the text an unclosed quote swallowed: a consequence of it.
    if (swallowedText.has(offset) || reportedEnds.has(offset)) continue;
    located.push({ offset, message: plainMessage(error) });
  }

  const tab = firstTabIndentedLine(text, scalars);
  if (tab && located.some((l) => l.offset >= tab.cascadeStart)) {
    const more = tab.otherLines.length > 0 ? ` (line${tab.otherLines.length === 1 ? '' : 's'} ${listLines(tab.otherLines)} too)` : '';
    located = located.filter((l) => l.offset < tab.cascadeStart);
    located.push({ offset: tab.offset, message: TAB_INDENT_MESSAGE + more });
  }

  located.sort((a, b) => a.offset - b.offset);
  const seen = new Set<string>();
  const issues: ConfigIssue[] = [];
  for (const { offset, message } of located) {
    const pos = lineCounter.linePos(offset);
    const key = `${pos.line}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    issues.push({ file, line: pos.line, column: pos.col, message: PREFIX + message });
  }
  return issues;
}

type Quote = '"' | "'";

function unclosedQuote(error: YAMLError): Quote | undefined {
  if (error.code !== 'MISSING_CHAR') return undefined;
  if (error.message === 'Missing closing "quote') return '"';
  if (error.message === "Missing closing 'quote") return "'";
  return undefined;
}

function unclosedQuoteMessage(quote: Quote): string {
  const kind = quote === '"' ? 'double-quoted' : 'single-quoted';
  return `the ${kind} value that starts here has no closing quote (${quote}); add it at the end of the value`;
}

type Bracket = '[' | '{';

function unclosedBracket(error: YAMLError): Bracket | undefined {
  if (error.code !== 'BAD_INDENT' && error.code !== 'MISSING_CHAR') return undefined;
  const match = /^Flow (sequence|map) (?:in block collection must be sufficiently indented and )?(?:must )?end with a [\]}]$/.exec(error.message);
  if (!match) return undefined;
  return match[1] === 'map' ? '{' : '[';
}

function unclosedBracketMessage(bracket: Bracket, indentation: boolean): string {
  const what = bracket === '[' ? 'the [...] list' : 'the {...} mapping';
  const close = bracket === '[' ? ']' : '}';
  return `${what} that starts here has no closing "${close}"${indentation ? ', or one of its lines is not indented enough' : ''}`;
}

interface FlowRange {
  start: number;
  end: number;
  bracket: Bracket;
}

/** Where every [...] and {...} collection of the document is. */
function flowCollections(doc: Document): FlowRange[] {
  const ranges: FlowRange[] = [];
  try {
    visit(doc, {
      Map(_key, node) {
        if (node.flow && node.range) ranges.push({ start: node.range[0], end: node.range[1], bracket: '{' });
      },
      Seq(_key, node) {
        if (node.flow && node.range) ranges.push({ start: node.range[0], end: node.range[1], bracket: '[' });
      },
    });
  } catch {
    // A document too broken to walk: positions stay where the parser put them.
  }
  return ranges;
}

interface ScalarRange {
  start: number;
  end: number;
  quoted: boolean;
  block: boolean;
}

/** Where every scalar (keys too) of the document is, and how it is written. */
function scalarRanges(doc: Document): ScalarRange[] {
  const ranges: ScalarRange[] = [];
  try {
    visit(doc, {
      Scalar(_key, node) {
        if (!isScalar(node) || !node.range) return;
        const type = node.type;
        ranges.push({
          start: node.range[0],
          end: node.range[1],
          quoted: type === 'QUOTE_DOUBLE' || type === 'QUOTE_SINGLE',
          block: type === 'BLOCK_LITERAL' || type === 'BLOCK_FOLDED',
        });
      },
    });
  } catch {
    // A document too broken to walk: positions stay where the parser put them.
  }
  return ranges.sort((a, b) => a.start - b.start);
}

/** The quoted scalars that open with one kind of quote, sorted by start, and the first of them to end at each offset. */
interface QuotedScalars {
  spans: ScalarRange[];
  byEnd: Map<number, ScalarRange>;
}

/** The quoted scalars of the document by their quote, indexed once for {@link openingOf}. */
function quotedScalars(scalars: readonly ScalarRange[], text: string): Record<Quote, QuotedScalars> {
  const index: Record<Quote, QuotedScalars> = { '"': { spans: [], byEnd: new Map() }, "'": { spans: [], byEnd: new Map() } };
  for (const s of scalars) {
    const quote = text[s.start];
    if (!s.quoted || (quote !== '"' && quote !== "'")) continue;
    index[quote].spans.push(s);
    if (!index[quote].byEnd.has(s.end)) index[quote].byEnd.set(s.end, s);
  }
  return index;
}

/**
 * The quoted scalar an "unclosed quote" error at `offset` belongs to: [its
 * opening quote, where the parser stopped]. Of the scalars opened by that quote
 * before `offset`: the first that ends exactly there, else the last, when it
 * ends at `offset - 1` or later. Scalars do not overlap, so the last to start
 * is the last to end: a map and a binary search, not a scan of every scalar.
 */
function openingOf(index: QuotedScalars, offset: number): [number, number] | undefined {
  const exact = index.byEnd.get(offset);
  let found = exact !== undefined && exact.start < offset ? exact : undefined;
  if (!found) {
    const last = index.spans[lastStartingBefore(index.spans, offset)];
    if (last && last.end >= offset - 1) found = last;
  }
  return found ? [found.start, Math.max(found.end, offset)] : undefined;
}

/** Where the line holding `offset` starts (the line counter's binary search, not a scan back over the line). */
function lineStartOf(lineCounter: LineCounter, offset: number): number {
  const { line } = lineCounter.linePos(offset);
  return lineCounter.lineStarts[line - 1] ?? 0;
}

/** The errors the parser gives when a line is indented further than the `key: value` line above it. */
const IMPLICIT_KEY_CODES = new Set(['BLOCK_AS_IMPLICIT_KEY', 'MULTILINE_IMPLICIT_KEY']);

function overIndentedMessage(aboveLine: number): string {
  return (
    `this line is indented further than the key on line ${aboveLine}, which already has a value, so it cannot be read; ` +
    'indent it like the keys around it (or, for a nested mapping, leave the value of the key above empty)'
  );
}

/**
 * For an error on the `key: value` line starting at `aboveStart`: the next
 * line with content, when it holds a key and is indented further than that key
 * (so the parser took it as the continuation of the value). Undefined when
 * that is not what happened.
 */
function overIndentedLineAfter(text: string, aboveStart: number): { offset: number; end: number; aboveStart: number } | undefined {
  let aboveEnd = text.indexOf('\n', aboveStart);
  if (aboveEnd === -1) return undefined;
  const above = /^((?:[ ]*-[ ]+)*[ ]*)[^\s#'"][^:#]*:[ ]+[^\s#]/.exec(text.slice(aboveStart, aboveEnd));
  if (!above) return undefined;
  const keyColumn = above[1]!.length;
  for (let start = aboveEnd + 1; start < text.length; ) {
    let end = text.indexOf('\n', start);
    if (end === -1) end = text.length;
    const line = text.slice(start, end).replace(/\r$/, '');
    const content = line.trimStart();
    if (content !== '' && !content.startsWith('#')) {
      const indent = line.length - content.length;
      if (indent <= keyColumn || /^\t/.test(line) || !/^[^\s#'"\-][^:#]*:(\s|$)/.test(content)) return undefined;
      return { offset: start + indent, end, aboveStart };
    }
    aboveEnd = end;
    start = end + 1;
  }
  return undefined;
}

interface TabLine {
  /** Offset of the first tab in the line's indentation. */
  offset: number;
  /** Errors from here on are consequences of the tab: the end of the content of the line before. */
  cascadeStart: number;
  /** Line numbers of the other lines indented with tabs. */
  otherLines: number[];
}

/**
 * The first line with a tab in its indentation (outside quoted and block values,
 * where a tab is content, and not a comment or blank line), if any.
 */
function firstTabIndentedLine(text: string, scalars: readonly ScalarRange[]): TabLine | undefined {
  // Lines are read in order, so the offsets asked about only grow: one pointer over the values.
  const values = new ForwardSpanCursor(scalars.filter((s) => s.quoted || s.block));
  const insideValue = (offset: number) => values.inside(offset);
  let found: TabLine | undefined;
  let previousContentEnd: number | undefined;
  let lineStart = 0;
  let lineNumber = 1;
  while (lineStart <= text.length) {
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd === -1) lineEnd = text.length;
    const line = text.slice(lineStart, lineEnd).replace(/\r$/, '');
    const indent = /^[ \t]*/.exec(line)![0];
    const rest = line.slice(indent.length);
    const tabAt = indent.indexOf('\t');
    if (tabAt !== -1 && rest !== '' && !rest.startsWith('#') && !insideValue(lineStart + tabAt)) {
      if (found) found.otherLines.push(lineNumber);
      else found = { offset: lineStart + tabAt, cascadeStart: previousContentEnd ?? lineStart, otherLines: [] };
    }
    if (!found && rest !== '') previousContentEnd = lineStart + line.trimEnd().length;
    if (lineEnd === text.length) break;
    lineStart = lineEnd + 1;
    lineNumber++;
  }
  return found;
}

function listLines(lines: readonly number[]): string {
  const shown = lines.slice(0, 5).map(String);
  if (lines.length > 5) return `${shown.join(', ')}, ...`;
  return shown.length === 1 ? shown[0]! : `${shown.slice(0, -1).join(', ')} and ${shown[shown.length - 1]}`;
}

/** Constant texts of the library (no source in them) that get a more precise message than their code's. */
const KNOWN_MESSAGES: [code: string, libraryText: RegExp, ours: string][] = [
  ['MISSING_CHAR', /^Implicit map keys need to be followed by map values$/, 'a key without ":" and a value; write "key: value", or check the indentation'],
  ['MISSING_CHAR', /^Sequence item without - indicator$/, 'a list item without "-"; start every item of the list with "- "'],
  ['MISSING_CHAR', /^Missing , or : between flow (map|sequence) items$/, 'missing "," or ":" between the items of a [...] or {...} value'],
  ['MISSING_CHAR', /^Missing , between flow (map|sequence) items$/, 'missing "," between the items of a [...] or {...} value'],
  ['MISSING_CHAR', /^Missing space after : in flow (map|sequence)$/, 'missing space after ":" in a [...] or {...} value'],
  ['MISSING_CHAR', /^Comments must be separated from other tokens by white space characters$/, 'a comment ("#") needs a space before it'],
  ['MISSING_CHAR', /^Tags and anchors must be separated from the next token by white space$/, 'an anchor ("&name") or tag ("!tag") needs a space after it'],
  ['MISSING_CHAR', /directives-end/, 'a "---" line is missing after the "%" directives'],
  ['BAD_INDENT', /^All sequence items must start at the same column$/, 'all items of a list must start in the same column'],
  ['BAD_INDENT', /^All mapping items must start at the same column$/, 'all keys of a mapping must start in the same column'],
  ['BAD_INDENT', /^Block scalar lines must not be less indented than their first line$/, 'the lines of a "|" or ">" value must be indented at least as much as its first line'],
  ['BLOCK_AS_IMPLICIT_KEY', /^Nested mappings are not allowed in compact mappings$/, 'a nested mapping is not allowed here: a line has a second "key:" in it, or the next line is indented further; quote a value that contains ": "'],
  ['BLOCK_AS_IMPLICIT_KEY', /^A block sequence may not be used as an implicit map key$/, 'a list cannot be used as a key; check the indentation'],
  ['UNEXPECTED_TOKEN', /^Unexpected , in flow (map|sequence)$/, 'unexpected "," in a [...] or {...} value'],
  ['UNEXPECTED_TOKEN', /^Unexpected empty item in flow (map|sequence)$/, 'an empty item (two "," in a row?) in a [...] or {...} value'],
  ['UNEXPECTED_TOKEN', /^Block scalar header includes extra characters/, 'unexpected characters after "|" or ">"; the value starts on the next line'],
];

const CODE_MESSAGES: Record<string, string> = {
  TAB_AS_INDENT: TAB_INDENT_MESSAGE,
  BAD_INDENT: 'wrong indentation; the keys of a mapping and the items of a list must start in the same column, and nested ones further right',
  MISSING_CHAR: 'something is missing here, such as a ":" after a key, a "," between items, or a closing quote or bracket',
  UNEXPECTED_TOKEN: 'unexpected text here; check the indentation of this line and the ":" and "-" before it',
  BLOCK_AS_IMPLICIT_KEY: 'a mapping or list cannot be used as a key here; check the indentation, and quote a value that contains ": "',
  BLOCK_IN_FLOW: 'an indented list or mapping cannot be inside a [...] or {...} value',
  DUPLICATE_KEY: 'the same key appears twice in one mapping',
  MULTILINE_IMPLICIT_KEY: 'a key must fit on one line; a ":" is probably missing, or the indentation is wrong',
  BAD_SCALAR_START: 'an unquoted value cannot start with this character; put the value in quotes',
  BAD_DQ_ESCAPE: 'invalid escape sequence (a "\\" followed by an unknown character) in a double-quoted value; use single quotes, or write a backslash as "\\\\"',
  BAD_ALIAS: 'invalid alias or anchor name ("*name", "&name")',
  ALIAS_PROPS: 'an alias ("*name") cannot have an anchor or a tag',
  BAD_PROP_ORDER: 'anchors ("&name") and tags ("!tag") must come after the "-", "?" or ":" indicator',
  MULTIPLE_ANCHORS: 'a value can have only one anchor ("&name")',
  MULTIPLE_TAGS: 'a value can have only one tag ("!tag")',
  TAG_RESOLVE_FAILED: 'unknown or unusable YAML tag (a "!" word before the value); remove it, or quote the value',
  BAD_COLLECTION_TYPE: 'a YAML tag ("!tag") does not fit the kind of value it is on',
  NON_STRING_KEY: 'keys must be plain names',
  KEY_OVER_1024_CHARS: 'a key is longer than 1024 characters; a ":" or a line break is probably missing',
  MULTIPLE_DOCS: 'the file holds more than one YAML document (separated by a "---" line); keep only one',
  BAD_DIRECTIVE: 'invalid YAML directive (a line starting with "%")',
  RESOURCE_EXHAUSTION: 'the aliases ("*name") expand to too much data',
};

const GENERIC = 'the YAML parser cannot read the file here';

/** The characters a plain value cannot start with, as the library names them (a fixed set, no source text). */
const BAD_STARTS: [libraryText: string, shown: string][] = [
  ['a tab character', 'a tab'],
  ['flow indicator character ,', '","'],
  ['directive indicator character %', '"%"'],
  ['block scalar indicator |', '"|"'],
  ['block scalar indicator >', '">"'],
  ['reserved character @', '"@"'],
  ['reserved character `', '"`"'],
];

/** Our message for a library error: chosen by its code (and a known constant text), never copied from it. */
export function plainMessage(error: Pick<YAMLError, 'code' | 'message'>): string {
  if (error.code === 'BAD_SCALAR_START') {
    const start = BAD_STARTS.find(([libraryText]) => error.message === `Plain value cannot start with ${libraryText}`);
    if (start) return `an unquoted value cannot start with ${start[1]}; put the value in quotes`;
  }
  const known = KNOWN_MESSAGES.find(([code, libraryText]) => code === error.code && libraryText.test(error.message));
  if (known) return known[2];
  return CODE_MESSAGES[error.code] ?? GENERIC;
}
