import type { Alias, Document, Node } from 'yaml';
import { yaml } from '../cjs.js';

const { isAlias, isMap, isPair, isScalar, isSeq, isDocument } = yaml;

/**
 * The node each alias (`*name`) of a document names: the last node with that
 * anchor (`&name`) before the alias, as YAML says. Built once, in one walk:
 * the library's `Alias.resolve` walks the whole document on every call, which
 * makes a file of many aliases quadratic. The walk keeps its own stack, so a
 * deeply nested document cannot overflow the call stack.
 */
export function aliasTargets(doc: Document): Map<Alias, Node | undefined> {
  const targets = new Map<Alias, Node | undefined>();
  const anchors = new Map<string, Node>();
  const stack: unknown[] = [isDocument(doc) ? doc.contents : doc];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || node === undefined) continue;
    if (isAlias(node)) {
      targets.set(node, anchors.get(node.source));
      continue;
    }
    if (isPair(node)) {
      // Document order: the key, then the value (the stack is last-in, first-out).
      stack.push(node.value, node.key);
      continue;
    }
    if (isScalar(node) || isMap(node) || isSeq(node)) {
      if (node.anchor) anchors.set(node.anchor, node as Node);
      if (isMap(node) || isSeq(node)) {
        const items = node.items as unknown[];
        for (let i = items.length - 1; i >= 0; i--) stack.push(items[i]);
      }
    }
  }
  return targets;
}
