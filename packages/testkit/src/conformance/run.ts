/** Runs the checks outside a test runner. */
import type { AegisPlugin } from '@aegis/core';
import { conformanceChecks } from './checks.js';
import { startConformanceEnv } from './env.js';
import type { ConformanceOptions, ConformanceOutcome } from './types.js';

export interface RunConformanceOptions {
  /** Run only the checks whose id is listed (or starts with a listed id followed by "."). */
  only?: readonly string[];
}

/**
 * Starts the server, runs every check one after the other and closes everything.
 * Never throws for a failed check: each outcome says passed, failed (with the
 * message) or skipped (with the reason).
 */
export async function runConformance(
  plugin: AegisPlugin,
  options: ConformanceOptions,
  run: RunConformanceOptions = {},
): Promise<ConformanceOutcome[]> {
  const env = await startConformanceEnv(plugin, options);
  const outcomes: ConformanceOutcome[] = [];
  try {
    const selected = conformanceChecks(plugin, options, env).filter(
      (c) => !run.only || run.only.some((id) => c.id === id || c.id.startsWith(`${id}.`)),
    );
    for (const check of selected) {
      const base = { id: check.id, name: check.name, capability: check.capability };
      if (check.skip) {
        outcomes.push({ ...base, status: 'skipped', message: check.skip });
        continue;
      }
      try {
        await check.run();
        outcomes.push({ ...base, status: 'passed' });
      } catch (error) {
        outcomes.push({ ...base, status: 'failed', message: error instanceof Error ? error.message : String(error), error });
      }
    }
  } finally {
    await env.close();
  }
  return outcomes;
}
