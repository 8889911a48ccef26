import type { Node } from 'yaml';
import { yaml } from '../cjs.js';

const { isAlias, isMap, isScalar, isSeq } = yaml;
import type { ConfigIssue } from '../errors/index.js';
import { interpolateString, missingVariableMessage, MALFORMED_REFERENCE_MESSAGE, tooLongValueMessage, type EnvLookup } from './interpolate.js';
import { ExpansionBudget, MAX_NESTING, MAX_VALUE_CHARS } from './limits.js';
import { isMergeKey, keyName, MERGE_KEY_MESSAGE, positionOf, resolveAlias, unsupportedTagMessage, type Position, type YamlSource } from './yaml-source.js';

export type FieldPath = readonly (string | number)[];

/** `options.num_ctx`, `stop[1]`, `models[0].name`. */
export function formatFieldPath(path: FieldPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else out += out === '' ? shownKey(segment) : `.${shownKey(segment)}`;
  }
  return out;
}

/**
 * A key as it may be shown. A key that is not a plain name may hold a value
 * typed where a key was meant (`api_key:sk-...: 1`, a missing space): it is cut
 * at its first unusual character, so no secret reaches a message.
 */
export function shownKey(key: string): string {
  if (/^[A-Za-z0-9_-]{1,64}$/.test(key)) return key;
  return `${/^[A-Za-z0-9_-]{0,32}/.exec(key)![0]}…`;
}

/** A YAML node turned into plain JS values, with ${VAR} references resolved. */
export interface ConvertedValues {
  value: unknown;
  /** Position of each field: its key for mapping entries, the item for list entries. */
  fieldPositions: Map<string, Position>;
  /** Position of each value node. */
  valuePositions: Map<string, Position>;
  /** Missing variables, malformed references, duplicate keys, unusable keys. */
  issues: ConfigIssue[];
  /** Values that came from environment variables. */
  substitutedValues: string[];
}

/** One `${VAR}` substituted into a value: the variable, its value, and the name of the field it went into. */
export interface Substitution {
  variable: string;
  value: string;
  /** The nearest key above the value (`model`, `Authorization` in a `headers` map, `tags` for an item of `tags: [...]`); `''` when none. */
  field: string;
}

export interface ConvertOptions {
  env: EnvLookup;
  /** Where else a missing variable can be set, for the message. */
  envFileLabel: string;
  /** The profile the node belongs to, for issues. */
  profile?: string;
  /** What aliases and `${VAR}` references may still expand to; share one across a file's profiles. */
  budget?: ExpansionBudget;
  /** Where each substitution is recorded, when given (share one across a file, for secret scrubbing). */
  substitutions?: Substitution[];
}

/** The nearest key of a path (`['headers', 'Authorization']`: `Authorization`; `['tags', 1]`: `tags`). */
function fieldOf(path: FieldPath): string {
  for (let i = path.length - 1; i >= 0; i--) if (typeof path[i] === 'string') return path[i] as string;
  return '';
}

export function pathKey(path: FieldPath): string {
  return JSON.stringify(path);
}

/**
 * Converts a node to plain JS values (mappings to objects, lists to arrays,
 * scalars to their values), interpolating every string scalar at any depth,
 * and remembers where each field is.
 */
export function convertNode(source: YamlSource, node: unknown, options: ConvertOptions): ConvertedValues {
  const out: ConvertedValues = {
    value: undefined,
    fieldPositions: new Map(),
    valuePositions: new Map(),
    issues: [],
    substitutedValues: [],
  };
  const active = new Set<unknown>();
  const budget = options.budget ?? new ExpansionBudget();

  const issueAt = (pos: Position | undefined, path: FieldPath, message: string): ConfigIssue => {
    const issue: ConfigIssue = { file: source.file, message };
    if (pos) {
      issue.line = pos.line;
      issue.column = pos.column;
    }
    if (options.profile !== undefined) issue.profile = options.profile;
    if (path.length > 0) issue.field = formatFieldPath(path);
    return issue;
  };
  /**
   * A limit is passed: nothing more is expanded in the file, and each profile
   * left with unexpanded values says so once (it is unusable, never silently partial).
   */
  let reported = false;
  const exhausted = (pos: Position | undefined, path: FieldPath, message: string): null => {
    if (!reported) out.issues.push(issueAt(pos, path, message));
    reported = true;
    budget.exhausted = true;
    return null;
  };

  /**
   * `alias`: the outermost alias (`*name`) this value is reached through, if any: the
   * value counts against the alias budget, and a passed limit is reported at that alias.
   */
  const visit = (raw: unknown, path: (string | number)[], depth: number, alias: { pos?: Position; path: FieldPath } | undefined): unknown => {
    const ownPos = positionOf(source, raw as Node);
    if (ownPos) out.valuePositions.set(pathKey(path), ownPos);
    let node = raw;
    if (isAlias(node)) {
      node = resolveAlias(source, node);
      if (node === undefined) {
        out.issues.push(issueAt(ownPos, path, `the alias "*${(raw as { source: string }).source}" names no anchor ("&${(raw as { source: string }).source}") defined before it`));
        return null;
      }
      alias ??= { pos: ownPos, path };
    }
    const viaAlias = alias !== undefined;
    if (node === null || node === undefined) return null;
    // Once a limit is passed, nothing more is expanded (the rest of the file is still read as written).
    if (viaAlias && (budget.exhausted || !budget.aliasValue())) {
      return exhausted(alias!.pos, alias!.path, `the aliases ("*name") of this file expand to more than ${budget.maxAliasValues} values; an alias may name a list of aliases only a few times (a "billion laughs" file?)`);
    }
    if (active.has(node)) {
      out.issues.push(issueAt(ownPos, path, 'this alias ("*name") refers to a value that contains the alias itself: the value would be infinite'));
      return null;
    }
    if (depth > MAX_NESTING) {
      out.issues.push(issueAt(ownPos, path, `values are nested more than ${MAX_NESTING} levels deep here (lists and mappings inside each other); a profile needs only a few levels`));
      return null;
    }
    // Before its value is read: `!!binary` would be bytes, `!!omap` pairs without positions, `!custom` a string.
    const tagProblem = unsupportedTagMessage(node);
    if (tagProblem) {
      out.issues.push(issueAt(positionOf(source, node as Node) ?? ownPos, path, tagProblem));
      return null;
    }
    if (isScalar(node)) {
      const value = node.value;
      if (typeof value !== 'string') return value ?? null;
      const pos = positionOf(source, node as Node) ?? ownPos;
      const valueLimited = MAX_VALUE_CHARS <= value.length + budget.charsLeft;
      const result = interpolateString(value, options.env, valueLimited ? MAX_VALUE_CHARS : value.length + budget.charsLeft);
      if (result.tooLong) {
        if (valueLimited) out.issues.push(issueAt(pos, path, tooLongValueMessage(MAX_VALUE_CHARS)));
        else exhausted(pos, path, expansionMessage(budget.maxChars));
        return null;
      }
      // A value reached through an alias is a copy; one with references is a new string.
      const added = viaAlias ? result.value.length : Math.max(0, result.value.length - value.length);
      if (added > 0 && (budget.exhausted || !budget.addChars(added))) return exhausted(alias?.pos ?? pos, alias?.path ?? path, expansionMessage(budget.maxChars));
      for (const v of result.substituted) out.substitutedValues.push(v);
      if (options.substitutions && result.variables.length > 0) {
        const field = fieldOf(path);
        for (const { name, value: v } of result.variables) options.substitutions.push({ variable: name, value: v, field });
      }
      for (const name of result.missing) out.issues.push({ ...issueAt(pos, path, missingVariableMessage(name, options.envFileLabel)), variable: name });
      if (result.malformed) out.issues.push(issueAt(pos, path, MALFORMED_REFERENCE_MESSAGE));
      return result.value;
    }
    active.add(node);
    try {
      if (isSeq(node)) {
        return node.items.map((item, index) => {
          const itemPath = [...path, index];
          const pos = positionOf(source, item as Node);
          if (pos) out.fieldPositions.set(pathKey(itemPath), pos);
          return visit(item, itemPath, depth + 1, alias);
        });
      }
      if (isMap(node)) {
        const obj: Record<string, unknown> = {};
        const firstLines = new Map<string, number | undefined>();
        for (const pair of node.items) {
          const key = keyName(pair.key);
          const keyPos = positionOf(source, pair.key as Node) ?? positionOf(source, pair.value as Node);
          if (isMergeKey(pair.key)) {
            out.issues.push(issueAt(keyPos, path, MERGE_KEY_MESSAGE));
            continue;
          }
          if (key === undefined) {
            out.issues.push(issueAt(keyPos, path, 'keys must be plain names (a string), not lists, mappings or empty'));
            continue;
          }
          const fieldPath = [...path, key];
          if (firstLines.has(key)) {
            const first = firstLines.get(key);
            out.issues.push(
              issueAt(keyPos, fieldPath, `duplicate key "${key}"${first !== undefined ? ` (first at line ${first})` : ''}; each field may appear only once`),
            );
            continue;
          }
          firstLines.set(key, keyPos?.line);
          if (keyPos) out.fieldPositions.set(pathKey(fieldPath), keyPos);
          const value = visit(pair.value, fieldPath, depth + 1, alias);
          // defineProperty: a key named "__proto__" stays an ordinary (unknown) field.
          Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
        }
        return obj;
      }
      out.issues.push(issueAt(ownPos, path, 'unsupported YAML value'));
      return null;
    } finally {
      active.delete(node);
    }
  };

  out.value = visit(node, [], 0, undefined);
  return out;
}

function expansionMessage(maxChars: number): string {
  return `the values of this file grow by more than ${maxChars} characters once aliases ("*name") and \${VAR} references are expanded; stopped expanding them`;
}
