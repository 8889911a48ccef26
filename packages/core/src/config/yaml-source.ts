import type { Alias, Document, LineCounter as LineCounterType, Node, YAMLMap, Pair } from 'yaml';
import { yaml } from '../cjs.js';

const { LineCounter, parseDocument, isMap, isScalar, isSeq, isAlias } = yaml;
import { closest, distance } from 'fastest-levenshtein';
import { ConfigurationError, type ConfigIssue } from '../errors/index.js';
import { interpolateString, type EnvLookup } from './interpolate.js';
import { aliasTargets } from './aliases.js';
import { MAX_VALUE_CHARS } from './limits.js';
import { syntaxIssues } from './yaml-syntax.js';
import { shownKey } from './yaml-values.js';

/** 1-based line and column. */
export interface Position {
  line: number;
  column: number;
}

/** A parsed YAML file that can tell where its nodes are. */
export interface YamlSource {
  doc: Document;
  lineCounter: LineCounterType;
  /** The file name shown in messages. */
  file: string;
  /** What each alias names, built on first use (see {@link resolveAlias}). */
  aliases?: Map<Alias, Node | undefined>;
}

/**
 * Parses YAML text. Every syntax error the parser reports is thrown at once, in a
 * {@link ConfigurationError} with file:line:column each. Duplicate keys are not
 * syntax errors here: they are reported where they occur, with the profile.
 */
export function parseYamlSource(text: string, file: string): YamlSource {
  const lineCounter = new LineCounter();
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  // prettyErrors off: its messages quote the offending source line, which may hold a secret.
  const doc = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: false });
  if (doc.errors.length > 0) {
    // The parser runs out of stack on values nested a few hundred levels deep (and says RESOURCE_EXHAUSTION,
    // as for aliases): that is reported as what it is, once, where it starts.
    const tooDeep = doc.errors.filter((e) => e.code === 'RESOURCE_EXHAUSTION');
    const others = doc.errors.filter((e) => e.code !== 'RESOURCE_EXHAUSTION');
    // Even without prettyErrors the library's messages quote source tokens: ours never do.
    const issues = others.length > 0 ? syntaxIssues(others, doc, source, lineCounter, file) : [];
    if (tooDeep.length > 0) {
      const first = Math.min(...tooDeep.map((e) => e.pos[0]));
      const pos = lineCounter.linePos(first);
      issues.push({ file, line: pos.line, column: pos.col, message: TOO_DEEP_MESSAGE });
      issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
    }
    throw new ConfigurationError(issues);
  }
  return { doc, lineCounter, file };
}

/** Deep nesting, found by the parser (hundreds of levels) or by us (more than MAX_NESTING inside a profile). */
export const TOO_DEEP_MESSAGE =
  'values are nested too deeply here (hundreds of lists or mappings inside each other, e.g. "[[[[..."); a configuration needs only a few levels';

/** Where a node (or an offset) starts. */
export function positionOf(source: YamlSource, nodeOrOffset: Node | Pair['key'] | number | null | undefined): Position | undefined {
  let offset: number | undefined;
  if (typeof nodeOrOffset === 'number') offset = nodeOrOffset;
  else if (nodeOrOffset && typeof nodeOrOffset === 'object' && 'range' in nodeOrOffset) {
    offset = (nodeOrOffset as Node).range?.[0];
  }
  if (offset === undefined) return undefined;
  const pos = source.lineCounter.linePos(offset);
  return { line: pos.line, column: pos.col };
}

/** One entry of the profiles list that has a usable name. */
export interface ProfileNode {
  node: YAMLMap;
  name: string;
  /** The provider type, or `''` when missing or not a string (then `issues` says so). */
  type: string;
  line: number;
  column: number;
  /** Problems confined to this profile found while reading the structure. */
  issues: ConfigIssue[];
}

export interface PluginEntry {
  spec: string;
  line: number;
  column: number;
}

/** The shape of `backends.yaml`: plugins, profiles and file-level problems. */
export interface ConfigStructure {
  plugins: PluginEntry[];
  /** The `allow_plugins:` list, when there is one: only these plugin packages and paths may be loaded. */
  allowPlugins?: PluginEntry[];
  profiles: ProfileNode[];
  /** Optional top-level sections other packages own (see SECTION_KEYS), as written. */
  sections: SectionNode[];
  /** File-level problems: bad root, bad plugins list, unusable or duplicate profile entries. */
  issues: ConfigIssue[];
}

/** A top-level section core only locates: its owner (another package) validates it. */
export interface SectionNode {
  name: string;
  node: unknown;
  line: number;
  column: number;
}

/**
 * Top-level sections read whole rather than as profiles: core's own `http:`
 * (the connection pool, http-section.ts) and the gateway's, which core accepts
 * and locates, nothing more (its owner validates it).
 */
export const SECTION_KEYS = ['http', 'gateway'] as const;

export const TOP_LEVEL_KEYS = ['plugins', 'allow_plugins', 'profiles', ...SECTION_KEYS] as const;

const ROOT_EXPECTED =
  'expected a list of profiles (- profile_name: ...) or a mapping with "profiles:" (and optionally "plugins:")';

/**
 * Reads the structure of a parsed config: the seed format (a list of profiles)
 * or the mapping form (`plugins:` and `profiles:`). Problems are collected, not thrown.
 * With `env`, `${VAR}` references in `profile_name` and `type` are resolved (a
 * missing variable is reported where the profile's values are interpolated).
 */
export function readStructure(source: YamlSource, env?: EnvLookup): ConfigStructure {
  const resolve = (text: string) => (env ? interpolateString(text, env, MAX_VALUE_CHARS).value : text);
  const { file } = source;
  const issues: ConfigIssue[] = [];
  const at = (node: unknown): Partial<ConfigIssue> => {
    const pos = positionOf(source, node as Node);
    return pos ? { file, line: pos.line, column: pos.column } : { file };
  };
  const result: ConfigStructure = { plugins: [], profiles: [], sections: [], issues };
  const root = deref(source, source.doc.contents);

  if (root === null || root === undefined || (isScalar(root) && root.value === null)) {
    issues.push({ file, line: 1, column: 1, message: `the file is empty; ${ROOT_EXPECTED}` });
    return result;
  }

  let profilesNode: unknown;
  if (isSeq(root)) {
    profilesNode = root;
  } else if (isMap(root)) {
    const seen = new Map<string, number>();
    let sawProfiles = false;
    // Problems with the top-level keys themselves: moot when the file turns out to be a single profile.
    const keyIssues: ConfigIssue[] = [];
    for (const pair of root.items) {
      const key = keyName(pair.key);
      if (isMergeKey(pair.key)) {
        keyIssues.push({ ...at(pair.key), message: MERGE_KEY_MESSAGE });
        continue;
      }
      if (key === undefined) {
        keyIssues.push({ ...at(pair.key), message: `top-level keys must be plain names; expected "plugins" or "profiles"` });
        continue;
      }
      const keyLine = positionOf(source, pair.key as Node)?.line;
      const first = seen.get(key);
      if (first !== undefined) {
        keyIssues.push({ ...at(pair.key), message: `duplicate top-level key "${key}" (first at line ${first})` });
        continue;
      }
      seen.set(key, keyLine ?? 0);
      if (key === 'plugins') {
        result.plugins = readPlugins(source, pair.value, pair.key, issues, key);
      } else if (key === 'allow_plugins') {
        result.allowPlugins = readPlugins(source, pair.value, pair.key, issues, key);
      } else if (key === 'profiles') {
        sawProfiles = true;
        profilesNode = pair.value;
      } else if ((SECTION_KEYS as readonly string[]).includes(key)) {
        result.sections.push({ name: key, node: pair.value, ...(positionOf(source, pair.key as Node) ?? { line: 1, column: 1 }) });
      } else {
        keyIssues.push({ ...at(pair.key), message: unknownTopLevelKeyMessage(key) });
      }
    }
    const singleProfile = !sawProfiles && root.items.some((p) => keyName(p.key) === 'profile_name');
    // A single profile's keys are not unknown top-level keys: the one helpful message says it all.
    if (!singleProfile) issues.push(...keyIssues);
    if (!sawProfiles) {
      const rootPos = positionOf(source, root);
      issues.push({
        file,
        line: rootPos?.line ?? 1,
        column: rootPos?.column ?? 1,
        message: singleProfile
          ? 'the file is a single profile; write it as a list item ("- profile_name: ...") or under "profiles:"'
          : `no "profiles:" list; ${ROOT_EXPECTED}`,
      });
      return result;
    }
    const value = deref(source, profilesNode);
    if (value === null || value === undefined || (isScalar(value) && value.value === null)) return result;
    if (!isSeq(value)) {
      issues.push({ ...at(value), message: `"profiles" must be a list of profiles, got ${nodeKind(value)}` });
      return result;
    }
    profilesNode = value;
  } else {
    issues.push({ ...at(root), message: `the top level is ${nodeKind(root)}; ${ROOT_EXPECTED}` });
    return result;
  }

  const seq = profilesNode;
  if (!isSeq(seq)) return result;
  const names = new Map<string, number>();
  seq.items.forEach((rawItem, index) => {
    const item = deref(source, rawItem);
    const ordinal = `profile #${index + 1}`;
    const itemPos = positionOf(source, (rawItem ?? item) as Node);
    const itemAt = itemPos ? { file, line: itemPos.line, column: itemPos.column } : { file };
    if (!isMap(item)) {
      issues.push({ ...itemAt, message: `${ordinal} is ${nodeKind(item)}; expected a mapping with "profile_name", "type" and the type's fields` });
      return;
    }
    const namePair = findPair(item, 'profile_name');
    const nameValue = namePair ? deref(source, namePair.value) : undefined;
    if (!namePair) {
      // Its name was to come from a merged mapping (`- <<: *base`): that is the problem to fix.
      const merge = item.items.find((pair) => isMergeKey(pair.key));
      if (merge) issues.push({ ...at(merge.key), message: `${ordinal}: ${MERGE_KEY_MESSAGE}` });
      else issues.push({ ...itemAt, message: `${ordinal} has no "profile_name"; every profile needs a unique name` });
      return;
    }
    if (!isScalar(nameValue) || typeof nameValue.value !== 'string' || nameValue.value.trim() === '') {
      const got = isScalar(nameValue) && typeof nameValue.value === 'string' ? 'an empty string' : nodeKind(nameValue);
      const hint =
        isScalar(nameValue) && (typeof nameValue.value === 'number' || typeof nameValue.value === 'boolean')
          ? ` (quote it: "${String(nameValue.value)}")`
          : '';
      issues.push({ ...at(namePair.key), message: `${ordinal}: "profile_name" must be a non-empty string, got ${got}${hint}` });
      return;
    }
    const name = resolve(nameValue.value);
    if (name.trim() === '') {
      issues.push({ ...at(namePair.key), message: `${ordinal}: "profile_name" is empty after substituting environment variables; set the variables it uses` });
      return;
    }
    const line = itemPos?.line ?? 1;
    const firstLine = names.get(name);
    if (firstLine !== undefined) {
      issues.push({
        ...itemAt,
        profile: name,
        field: 'profile_name',
        message: `duplicate profile_name "${name}": defined at line ${firstLine} and again at line ${line}; profile names must be unique`,
      });
      return;
    }
    names.set(name, line);

    const profile: ProfileNode = { node: item, name, type: '', line, column: itemPos?.column ?? 1, issues: [] };
    const typePair = findPair(item, 'type');
    const typeValue = typePair ? deref(source, typePair.value) : undefined;
    if (!typePair) {
      profile.issues.push({ ...itemAt, profile: name, field: 'type', message: 'missing "type" (the provider type this profile uses, which selects its plugin)' });
    } else if (!isScalar(typeValue) || typeof typeValue.value !== 'string' || typeValue.value.trim() === '') {
      const got = isScalar(typeValue) && typeof typeValue.value === 'string' ? 'an empty string' : nodeKind(typeValue);
      profile.issues.push({ ...at(typePair.key), profile: name, field: 'type', message: `"type" must be a non-empty string, got ${got}` });
    } else {
      profile.type = resolve(typeValue.value);
    }
    result.profiles.push(profile);
  });
  return result;
}

/** A `plugins:` or `allow_plugins:` list: package names or relative paths. */
function readPlugins(source: YamlSource, rawValue: unknown, keyNode: unknown, issues: ConfigIssue[], listName: string): PluginEntry[] {
  const { file } = source;
  const value = deref(source, rawValue);
  if (value === null || value === undefined || (isScalar(value) && value.value === null)) return [];
  if (!isSeq(value)) {
    const pos = positionOf(source, (value ?? keyNode) as Node);
    issues.push({ file, line: pos?.line, column: pos?.column, message: `"${listName}" must be a list of package names or relative paths, got ${nodeKind(value)}` });
    return [];
  }
  const plugins: PluginEntry[] = [];
  const seen = new Map<string, number>();
  value.items.forEach((rawItem, index) => {
    const item = deref(source, rawItem);
    const pos = positionOf(source, (rawItem ?? item) as Node) ?? { line: 1, column: 1 };
    if (!isScalar(item) || typeof item.value !== 'string' || item.value.trim() === '') {
      issues.push({ file, line: pos.line, column: pos.column, message: `${listName} entry #${index + 1} must be a package name or a relative path, got ${nodeKind(item)}` });
      return;
    }
    const tagProblem = unsupportedTagMessage(item);
    if (tagProblem) {
      issues.push({ file, line: pos.line, column: pos.column, message: `${listName} entry #${index + 1}: ${tagProblem}` });
      return;
    }
    const spec = item.value.trim();
    // Which code runs is taken as written, never from the environment or a .env file (docs/security.md).
    if (spec.includes('${')) {
      issues.push({ file, line: pos.line, column: pos.column, message: `${listName} entry #${index + 1}: ${PLUGIN_VARIABLE_MESSAGE}` });
      return;
    }
    const first = seen.get(spec);
    if (first !== undefined) {
      issues.push({ file, line: pos.line, column: pos.column, message: `"${spec}" is listed twice in ${listName} (first at line ${first})` });
      return;
    }
    seen.set(spec, pos.line);
    plugins.push({ spec, line: pos.line, column: pos.column });
  });
  return plugins;
}

/**
 * `${VAR}` is substituted in the values of profiles and sections, not in
 * `plugins:` and `allow_plugins:`: they say which code is imported, and a
 * variable (from the environment or the `.env` file, untrusted input) must
 * not be able to change that.
 */
export const PLUGIN_VARIABLE_MESSAGE =
  '${VAR} references are not substituted here: plugins and allow_plugins name the code to load, which is taken as written (never from the environment or .env); write the path or package name itself';

function unknownTopLevelKeyMessage(key: string): string {
  const suggestion = suggest(key, TOP_LEVEL_KEYS);
  if (suggestion) return `unknown top-level key "${shownKey(key)}"; did you mean "${suggestion}"?`;
  return `unknown top-level key "${shownKey(key)}"; allowed: ${TOP_LEVEL_KEYS.join(', ')}`;
}

/**
 * The candidate closest to `input` when it is close enough to be a likely typo
 * (or the same name in another case or with other separators), else undefined.
 */
export function suggest(input: string, candidates: readonly string[]): string | undefined {
  if (candidates.length === 0) return undefined;
  const normalize = (s: string) => s.toLowerCase().replace(/[-_\s]/g, '');
  const same = candidates.find((c) => normalize(c) === normalize(input));
  if (same !== undefined) return same;
  const lower = input.toLowerCase();
  const lowered = candidates.map((c) => c.toLowerCase());
  const limit = Math.max(1, Math.min(3, Math.floor(input.length * 0.4)));
  const close = (candidate: string) => {
    const d = distance(lower, candidate);
    return d <= limit && d < input.length;
  };
  // Swapped letters ("modle") count as two edits for Levenshtein; prefer such a candidate.
  const sorted = (s: string) => [...s].sort().join('');
  const swapped = lowered.find((c) => c !== lower && sorted(c) === sorted(lower) && close(c));
  if (swapped !== undefined) return candidates[lowered.indexOf(swapped)];
  const best = closest(lower, lowered);
  return close(best) ? candidates[lowered.indexOf(best)] : undefined;
}

/**
 * What is said of a merge key (`<<: *base`). AEGIS reads each value itself
 * (to know its line), and a merged mapping would need every merged field to
 * point at two places; repeating the fields, or an alias of a whole value, is
 * clearer. Without this, `<<` was an unknown field (`Symbol…` under `%YAML 1.1`).
 */
export const MERGE_KEY_MESSAGE =
  'merge keys ("<<: *name") are not supported; repeat the fields here (an alias of a whole value, "key: *name", works)';

/** True for the key of a YAML merge (`<<`, unquoted; a Symbol once the YAML 1.1 schema has read it). */
export function isMergeKey(key: unknown): boolean {
  if (!isScalar(key)) return false;
  return typeof key.value === 'symbol' || (key.value === '<<' && key.type === 'PLAIN');
}

/** Tags whose values are plain values AEGIS reads (`!!str 5`), and `!`, YAML's "no particular tag". */
const PLAIN_TAGS = new Set(['!', ...['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => `tag:yaml.org,2002:${t}`)]);

/**
 * The message for a node with a tag AEGIS does not read (`!!binary`, `!!omap`,
 * `!!set`, `!!timestamp`, `!custom`), or undefined. Such a value would be read
 * as something else than written (`!!binary` as bytes, a custom tag as a plain
 * string), so it is refused where it is. The tag is shown only when short and plain.
 */
export function unsupportedTagMessage(node: unknown): string | undefined {
  const tag = (node as { tag?: unknown } | null | undefined)?.tag;
  if (typeof tag !== 'string' || PLAIN_TAGS.has(tag)) return undefined;
  const written = tag.replace(/^tag:yaml\.org,2002:/, '!!');
  const shown = /^!{1,2}[A-Za-z0-9_.-]{1,32}$/.test(written) ? `"${written}"` : '(a "!" word before the value)';
  return `unsupported YAML tag ${shown}; AEGIS reads plain values (strings, numbers, booleans, lists, mappings): remove the tag`;
}

/** The key of a pair as a string, when it is a scalar. */
export function keyName(key: unknown): string | undefined {
  if (isScalar(key)) {
    if (key.value === null || key.value === undefined) return undefined;
    if (typeof key.value === 'object' || typeof key.value === 'symbol') return undefined;
    return String(key.value);
  }
  if (typeof key === 'string' || typeof key === 'number') return String(key);
  return undefined;
}

function findPair(map: YAMLMap, name: string): Pair | undefined {
  return map.items.find((pair) => keyName(pair.key) === name) as Pair | undefined;
}

/** The node an alias names (undefined when no anchor of that name comes before it). */
export function resolveAlias(source: YamlSource, alias: Alias): Node | undefined {
  source.aliases ??= aliasTargets(source.doc);
  return source.aliases.get(alias);
}

/** Follows an alias to the node it names. */
export function deref(source: YamlSource, node: unknown): Node | null | undefined {
  let current = node;
  for (let i = 0; i < 16 && isAlias(current); i++) current = resolveAlias(source, current) as unknown;
  if (current === null || current === undefined) return current as null | undefined;
  return current as Node;
}

/** A node described in plain words: "a list", "a string", "a number", ... */
export function nodeKind(node: unknown): string {
  if (node === null || node === undefined) return 'nothing (an empty entry)';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null || v === undefined) return 'nothing (an empty entry)';
    if (typeof v === 'string') return 'a string';
    if (typeof v === 'number' || typeof v === 'bigint') return 'a number';
    if (typeof v === 'boolean') return 'a boolean';
    return 'a scalar';
  }
  return 'an unexpected value';
}
