/** Builds providers for the checks through core's real path: a backends.yaml in a temp dir, loaded by createAegis. */
import type { Aegis, AegisPlugin, BackendProvider } from '@aegis/core';
import { createTestAegis, type TestAegis } from '../testing.js';
import type { Emulator } from '../types.js';
import type { ConformanceEnv, ConformanceOptions } from './types.js';

/** A started {@link ConformanceEnv}; `close` ends every AEGIS instance, removes the temp dir and closes the server. */
export interface ConformanceSession extends ConformanceEnv {
  close(): Promise<void>;
}

const PROFILE_NAME = 'conformance';

/** Starts the options' server and returns an env whose providers point at it. */
export async function startConformanceEnv(plugin: AegisPlugin, options: ConformanceOptions): Promise<ConformanceSession> {
  const server = await options.server();
  try {
    return new Session(plugin, options, server);
  } catch (error) {
    await server.close();
    throw error;
  }
}

class Session implements ConformanceSession {
  readonly profileName = PROFILE_NAME;
  private readonly instances = new Map<string, TestAegis>();
  private closed = false;

  constructor(
    private readonly plugin: AegisPlugin,
    private readonly options: ConformanceOptions,
    readonly server: Emulator,
  ) {}

  aegis(overrides: Record<string, unknown> = {}): Aegis {
    if (this.closed) throw new Error('the conformance env is closed');
    const fields = { ...this.options.profile(this.server), ...overrides };
    const key = JSON.stringify(fields);
    let instance = this.instances.get(key);
    if (!instance) {
      instance = createTestAegis({ plugins: [this.plugin], profiles: profileYaml(PROFILE_NAME, this.plugin.type, fields), logLevel: 'warn' });
      this.instances.set(key, instance);
    }
    return instance.aegis;
  }

  provider(overrides: Record<string, unknown> = {}): Promise<BackendProvider> {
    try {
      return this.aegis(overrides).getProviderForProfile(PROFILE_NAME);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const instance of this.instances.values()) instance.close();
    this.instances.clear();
    await this.server.close();
  }
}

/**
 * One profile as backends.yaml text. Values are written as JSON, which YAML reads
 * as flow scalars and collections; `${` is escaped as `$${` so no value is taken
 * for an environment variable reference.
 */
export function profileYaml(name: string, type: string, fields: Record<string, unknown>): string {
  const value = (v: unknown): string => JSON.stringify(v).split('${').join('$${');
  const key = (k: string): string => (/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(k) ? k : JSON.stringify(k));
  const lines = [`- profile_name: ${value(name)}`, `  type: ${value(fields.type ?? type)}`];
  for (const [k, v] of Object.entries(fields)) {
    if (k === 'profile_name' || k === 'type' || v === undefined) continue;
    lines.push(`  ${key(k)}: ${value(v)}`);
  }
  return lines.join('\n') + '\n';
}
