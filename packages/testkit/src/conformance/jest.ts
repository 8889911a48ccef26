/** The jest face of the kit: one describe block, one test per check. */
import { createRequire } from 'node:module';
import type { AegisPlugin } from '@aegis/core';
import type { Emulator } from '../types.js';
import { conformanceChecks } from './checks.js';
import { startConformanceEnv, type ConformanceSession } from './env.js';
import type { ConformanceEnv, ConformanceOptions } from './types.js';

type Fn = () => unknown;
interface TestApi {
  describe(name: string, fn: () => void): void;
  it: { (name: string, fn: Fn, timeout?: number): void; skip(name: string, fn: Fn): void };
  beforeAll(fn: Fn, timeout?: number): void;
  afterAll(fn: Fn, timeout?: number): void;
}

function isTestApi(value: unknown): value is TestApi {
  const v = value as Partial<TestApi> | undefined;
  return (
    typeof v?.describe === 'function' &&
    typeof v.it === 'function' &&
    typeof v.it.skip === 'function' &&
    typeof v.beforeAll === 'function' &&
    typeof v.afterAll === 'function'
  );
}

/**
 * Jest's test functions. They come from `@jest/globals`, loaded only when this is
 * called: that package throws when imported outside a jest run, and the rest of the
 * testkit (the emulators, the `aegis-emulator` CLI) must load anywhere. Falls back
 * to the global `describe`/`it` of a runner that injects them (vitest with globals).
 */
function testApi(): TestApi {
  try {
    const api: unknown = createRequire(import.meta.url)('@jest/globals');
    if (isTestApi(api)) return api;
  } catch {
    // not under jest, or @jest/globals is not installed
  }
  const globals: unknown = globalThis;
  if (isTestApi(globals)) return globals;
  throw new Error(
    'describeProviderConformance() must be called from a jest test file (it registers tests); ' +
      'outside a test runner, use runConformance() or conformanceChecks()',
  );
}

/** An env the checks can hold before the server is started (in beforeAll). */
class LateEnv implements ConformanceEnv {
  session: ConformanceSession | undefined;

  private get started(): ConformanceSession {
    if (!this.session) throw new Error('the conformance server is not running (its beforeAll failed, or the suite has ended)');
    return this.session;
  }
  get server(): Emulator {
    return this.started.server;
  }
  get profileName(): string {
    return this.started.profileName;
  }
  aegis(overrides?: Record<string, unknown>) {
    return this.started.aegis(overrides);
  }
  provider(overrides?: Record<string, unknown>) {
    return this.started.provider(overrides);
  }
}

/**
 * Registers a jest `describe` block that checks a plugin against the provider
 * contract: one test per check, run against the options' server, which is started
 * in `beforeAll` and closed in `afterAll`. Checks that do not apply (capabilities
 * the plugin does not declare, options not given) are registered as skipped, with
 * the reason in their title.
 */
export function describeProviderConformance(plugin: AegisPlugin, options: ConformanceOptions): void {
  const api = testApi();
  const env = new LateEnv();
  const checks = conformanceChecks(plugin, options, env);
  const timeout = (options.timeoutMs ?? 20_000) + 5_000;
  api.describe(`provider conformance: ${plugin.type}`, () => {
    api.beforeAll(async () => {
      env.session = await startConformanceEnv(plugin, options);
    }, timeout);
    api.afterAll(async () => {
      const session = env.session;
      env.session = undefined;
      await session?.close();
    }, timeout);
    for (const check of checks) {
      if (check.skip) api.it.skip(`${check.name} (skipped: ${check.skip})`, () => undefined);
      else api.it(check.name, () => check.run(), timeout);
    }
  });
}
