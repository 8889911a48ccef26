import type { Node } from 'yaml';
import { yaml } from '../cjs.js';

const { isAlias, isMap, isScalar, isSeq } = yaml;
import type { ConfigIssue } from '../errors/index.js';
import { interpolateString, missingVariableMessage, MALFORMED_REFERENCE_MESSAGE, type EnvLookup } from './interpolate.js';
import { keyName, positionOf, type Position, type YamlSource } from './yaml-source.js';

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

export interface ConvertOptions {
  env: EnvLookup;
  /** Where else a missing variable can be set, for the message. */
  envFileLabel: string;
  /** The profile the node belongs to, for issues. */
  profile?: string;
}

export function pathKey(path: FieldPath): string {
  return JSON.stringify(path);
}

const MAX_DEPTH = 64;

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

  const visit = (raw: unknown, path: (string | number)[], depth: number): unknown => {
    const ownPos = positionOf(source, raw as Node);
    if (ownPos) out.valuePositions.set(pathKey(path), ownPos);
    let node = raw;
    if (isAlias(node)) {
      node = node.resolve(source.doc);
    }
    if (node === null || node === undefined) return null;
    if (active.has(node) || depth > MAX_DEPTH) {
      out.issues.push(issueAt(ownPos, path, 'recursive or too deeply nested value (check the YAML anchors and aliases)'));
      return null;
    }
    if (isScalar(node)) {
      const value = node.value;
      if (typeof value !== 'string') return value ?? null;
      const result = interpolateString(value, options.env);
      out.substitutedValues.push(...result.substituted);
      const pos = positionOf(source, node as Node) ?? ownPos;
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
          return visit(item, itemPath, depth + 1);
        });
      }
      if (isMap(node)) {
        const obj: Record<string, unknown> = {};
        const firstLines = new Map<string, number | undefined>();
        for (const pair of node.items) {
          const key = keyName(pair.key);
          const keyPos = positionOf(source, pair.key as Node) ?? positionOf(source, pair.value as Node);
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
          const value = visit(pair.value, fieldPath, depth + 1);
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

  out.value = visit(node, [], 0);
  return out;
}
