/**
 * Regular expressions of a response schema (`pattern`, `patternProperties`,
 * `propertyNames.pattern`) run on the backend's answer under a time limit. A
 * JavaScript regex cannot be stopped from inside once it backtracks
 * (`^(a+)+$` on `aaaa…!` runs for hours, blocking the event loop: a gateway
 * client writes the schema, a model writes the answer), but a `vm` script's
 * timeout interrupts whatever runs inside it, the main realm's code included
 * (as the shipped plugin descriptions' patterns are guarded,
 * plugins/guarded-patterns.ts).
 *
 * One bounded run covers the whole validation of one answer, not each regex
 * test: arming the `vm` watchdog costs ~0.1 ms, which per test would add up on
 * an array of patterned strings, and a budget per answer also bounds a schema
 * whose many patterns are each slow but under a per-test limit. The Ajv RegExp
 * engine ({@link PatternEngine.regExp}) notes which pattern runs, to name it,
 * and counts the patterns compiled, so a schema without any validates as
 * before, outside any `vm`.
 */
import vm from 'node:vm';

/** How long the check of one answer against a schema with patterns may run (every regex test on it together). */
export const PATTERN_TIME_LIMIT_MS = 1000;

/** The check of an answer passed the time limit: while `pattern` ran, when one did. */
export class PatternTimeoutError extends Error {
  constructor(
    readonly pattern: string | undefined,
    readonly limitMs: number,
  ) {
    super(
      pattern === undefined
        ? `checking the answer took too long (more than ${limitMs} ms)`
        : `the pattern ${JSON.stringify(shorten(pattern))} took too long on the answer (more than ${limitMs} ms: catastrophic backtracking)`,
    );
    this.name = 'PatternTimeoutError';
  }
}

/** What Ajv's `code.regExp` option takes: a RegExp factory, with the `code` Ajv writes for standalone code. */
export interface RegExpEngine {
  (pattern: string, flags: string): { test(value: string): boolean };
  code: string;
}

/** An Ajv RegExp engine whose regexes can be bounded by {@link PatternEngine.bounded}. */
export interface PatternEngine {
  /** For `new Ajv({ code: { regExp } })`: a RegExp that notes itself while it runs. */
  readonly regExp: RegExpEngine;
  /** How many regexes the engine has made (Ajv makes them while compiling): a compile that raised it uses patterns. */
  readonly made: number;
  /** Runs `run` (a validation) under the time limit, or throws {@link PatternTimeoutError}. */
  bounded<T>(run: () => T, limitMs?: number): T;
}

/** A new engine (one per Ajv instance: Ajv caches the regexes it makes by their source). */
export function patternEngine(): PatternEngine {
  let made = 0;
  /** The source of the regex running now; left set when a timeout stops it (termination skips `finally`). */
  let running: string | undefined;
  let context: vm.Context | undefined;
  let script: vm.Script | undefined;

  const regExp = ((pattern: string, flags: string) => {
    const rx = new RegExp(pattern, flags);
    made++;
    return {
      test(value: string): boolean {
        running = pattern;
        const matched = rx.test(value);
        running = undefined;
        return matched;
      },
      // Ajv keys its cached regexes by this: it must differ with the pattern and flags.
      toString: () => rx.toString(),
    };
  }) as RegExpEngine;
  regExp.code = 'new RegExp';

  return {
    regExp,
    get made() {
      return made;
    },
    bounded<T>(run: () => T, limitMs = PATTERN_TIME_LIMIT_MS): T {
      context ??= vm.createContext({});
      script ??= new vm.Script('run()');
      context.run = run;
      running = undefined;
      try {
        return script.runInContext(context, { timeout: limitMs }) as T;
      } catch (error) {
        if ((error as { code?: string }).code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw new PatternTimeoutError(running, limitMs);
        throw error;
      } finally {
        context.run = undefined;
        running = undefined;
      }
    },
  };
}

function shorten(text: string): string {
  return text.length > 60 ? `${text.slice(0, 60)}…` : text;
}
