/** Largest description file read (bytes). */
export const MAX_DESCRIPTION_BYTES = 1024 * 1024;
/** Deepest nesting of a shipped JSON Schema. */
const MAX_SCHEMA_DEPTH = 32;
/** Most objects and arrays in one shipped JSON Schema. */
const MAX_SCHEMA_NODES = 20_000;
/** Longest regular expression accepted from a shipped JSON Schema. */
const MAX_PATTERN_CHARS = 1000;

/**
 * What makes a JSON Schema shipped in a plugin's description unsafe to turn
 * into a validator, as a sentence (undefined when there is nothing):
 *
 * - a `pattern` that is too long or not a regular expression (one that backtracks
 *   for ever is stopped when it runs: see guarded-patterns.ts), and `patternProperties`,
 *   whose expressions zod runs where they cannot be guarded (zod never writes it);
 * - a `$ref` that leads back to itself (the validator would recurse forever);
 * - nesting or size beyond any real profile schema.
 *
 * The walk keeps its own stack: a schema nested thousands of levels deep cannot overflow the call stack.
 */
export function schemaProblem(schema: unknown): string | undefined {
  let nodes = 0;
  const stack: { node: unknown; path: string; depth: number }[] = [{ node: schema, path: '', depth: 0 }];
  while (stack.length > 0) {
    const { node, path, depth } = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (++nodes > MAX_SCHEMA_NODES) return `its config schema has more than ${MAX_SCHEMA_NODES} parts`;
    if (depth > MAX_SCHEMA_DEPTH) return `its config schema is nested more than ${MAX_SCHEMA_DEPTH} levels deep (at ${path || 'the top'})`;
    if (Array.isArray(node)) {
      node.forEach((item, i) => stack.push({ node: item, path: `${path}[${i}]`, depth: depth + 1 }));
      continue;
    }
    const record = node as Record<string, unknown>;
    if ('pattern' in record && typeof record.pattern === 'string') {
      const problem = patternProblem(record.pattern);
      if (problem) return `its config schema has a "pattern" ${problem} (at ${path || 'the top'})`;
    }
    if ('patternProperties' in record) return `its config schema uses "patternProperties", which a shipped description may not (at ${path || 'the top'})`;
    for (const [key, value] of Object.entries(record)) stack.push({ node: value, path: path ? `${path}.${key}` : key, depth: depth + 1 });
  }
  const cycle = refCycle(schema);
  return cycle ? `its config schema refers to itself in a cycle (${cycle.join(' → ')})` : undefined;
}

function patternProblem(pattern: string): string | undefined {
  if (pattern.length > MAX_PATTERN_CHARS) return `longer than ${MAX_PATTERN_CHARS} characters`;
  try {
    new RegExp(pattern, 'u');
  } catch {
    try {
      new RegExp(pattern);
    } catch {
      return 'that is not a regular expression';
    }
  }
  return undefined;
}

/** A loop of local `$ref`s (`#/$defs/a` → ... → `#/$defs/a`), if there is one. */
function refCycle(schema: unknown): string[] | undefined {
  const refsUnder = (node: unknown): string[] => {
    const found: string[] = [];
    const stack = [node];
    while (stack.length > 0) {
      const current = stack.pop();
      if (typeof current !== 'object' || current === null) continue;
      const ref = (current as Record<string, unknown>).$ref;
      if (typeof ref === 'string') found.push(ref);
      for (const value of Object.values(current as Record<string, unknown>)) stack.push(value);
    }
    return found;
  };
  const target = (ref: string): unknown => {
    if (ref === '#') return schema;
    if (!ref.startsWith('#/')) return undefined;
    let node: unknown = schema;
    for (const raw of ref.slice(2).split('/')) {
      const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      if (typeof node !== 'object' || node === null || !Object.prototype.hasOwnProperty.call(node, key)) return undefined;
      node = (node as Record<string, unknown>)[key];
    }
    return node;
  };
  // Depth-first over the graph of refs, without recursion: state 1 = on the current path, 2 = done.
  const state = new Map<string, 1 | 2>();
  for (const start of refsUnder(schema)) {
    if (state.get(start) === 2) continue;
    const path: string[] = [];
    const stack: { ref: string; next: string[] }[] = [];
    const enter = (ref: string): string[] | undefined => {
      if (state.get(ref) === 1) return [...path.slice(path.indexOf(ref)), ref];
      if (state.get(ref) === 2) return undefined;
      state.set(ref, 1);
      path.push(ref);
      stack.push({ ref, next: refsUnder(target(ref)) });
      return undefined;
    };
    let cycle = enter(start);
    while (!cycle && stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const next = top.next.pop();
      if (next === undefined) {
        state.set(top.ref, 2);
        path.pop();
        stack.pop();
      } else {
        cycle = enter(next);
      }
    }
    if (cycle) return cycle;
  }
  return undefined;
}
