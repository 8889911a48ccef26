import vm from 'node:vm';
import { PluginError } from '../errors/plugin-error.js';

/** How long one regular expression of a shipped description may run on one value. */
export const PATTERN_TIME_LIMIT_MS = 1000;

/**
 * Makes every regular expression of a zod schema built from a shipped JSON
 * Schema (`pattern`, `propertyNames.pattern`) run under a time limit. A
 * JavaScript regex cannot be stopped from inside once it backtracks (`^(a+)+$`
 * on `aaaa…!` runs for ever), but a `vm` script's timeout interrupts it. A
 * pattern that passes the limit is a {@link PluginError}: the description is
 * unusable, whatever the value. Real patterns take microseconds on a
 * configuration value, so the limit decides nothing but a runaway.
 *
 * Walks zod's schema definitions (`_zod.def`) with its own stack; returns the
 * number of patterns guarded.
 */
export function guardPatterns(schema: unknown, timeLimitMs = PATTERN_TIME_LIMIT_MS): number {
  const context = vm.createContext({});
  const seen = new Set<unknown>();
  const stack: unknown[] = [schema];
  let guarded = 0;
  while (stack.length > 0) {
    const node = stack.pop();
    if (typeof node !== 'object' || node === null || seen.has(node)) continue;
    seen.add(node);
    if (Array.isArray(node)) {
      for (const item of node) stack.push(item);
      continue;
    }
    const def = (node as { _zod?: { def?: Record<string, unknown> } })._zod?.def;
    if (!def) {
      // A shape: { key: schema, ... }.
      if (Object.getPrototypeOf(node) === Object.prototype || Object.getPrototypeOf(node) === null) for (const value of Object.values(node)) stack.push(value);
      continue;
    }
    if (def.pattern instanceof RegExp) {
      def.pattern = guarded_(def.pattern, context, timeLimitMs);
      guarded++;
    }
    for (const [key, value] of Object.entries(def)) {
      if (key === 'pattern' || typeof value === 'function') continue;
      stack.push(value);
    }
  }
  return guarded;
}

/** A stand-in for a RegExp with what zod's checks use of one: `lastIndex`, `test`, `source`, `flags`, `toString`. */
function guarded_(pattern: RegExp, context: vm.Context, timeLimitMs: number): RegExp {
  const stand = {
    lastIndex: 0,
    source: pattern.source,
    flags: pattern.flags,
    test(value: string): boolean {
      context.pattern = pattern;
      context.value = value;
      try {
        return vm.runInContext('pattern.lastIndex = 0; pattern.test(value)', context, { timeout: timeLimitMs }) as boolean;
      } catch (error) {
        if ((error as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') {
          throw new PluginError(
            `the regular expression /${shorten(pattern.source)}/ of its shipped config schema ran for more than ${timeLimitMs} ms on a value ` +
              '(catastrophic backtracking); the description cannot be used',
            { kind: 'invalid_plugin', cause: error },
          );
        }
        throw error;
      } finally {
        context.value = undefined;
      }
    },
    toString: () => pattern.toString(),
  };
  return stand as unknown as RegExp;
}

function shorten(text: string): string {
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}
