import { pathToFileURL } from 'node:url';
import { PluginError } from '../errors/plugin-error.js';
import { isAegisPlugin, pluginProblems, type AegisPlugin } from './define-plugin.js';
import type { PackageInfo } from './manifest.js';
import { describePlugins, readPluginDescription, type PluginDescription } from './description.js';

/** Where a plugin comes from, known without importing its code. */
export interface PluginSource {
  readonly origin: 'package' | 'path' | 'code';
  /** Package name, or the path as written in backends.yaml. */
  readonly name: string;
  readonly version?: string;
  /** Directory or file on disk. */
  readonly location?: string;
  /** Plugin API version stated by the manifest. */
  readonly apiVersion?: number;
  /** Provider types announced by the manifest (empty for a bare local file until loaded). */
  readonly types: readonly string[];
  /** Why this source cannot be used, found without importing it. */
  readonly problem?: string;
  /** The `plugins:` entry of backends.yaml that named it, if one did. */
  readonly declaredAt?: { file?: string; line?: number };
  /** Imports the plugin code, once. */
  load(): Promise<AegisPlugin[]>;
  /** The shipped description (capabilities, config schemas), read without importing code; undefined when none. */
  description(): PluginDescription | undefined;
}

function once<T>(fn: () => T): () => T {
  let done = false;
  let value: T;
  return () => {
    if (!done) [value, done] = [fn(), true];
    return value;
  };
}

const none = (): undefined => undefined;

/** How long importing one plugin may take before it is given up (a PluginError), unless set otherwise. */
export const DEFAULT_PLUGIN_IMPORT_TIMEOUT_MS = 20_000;

export function packageSource(
  info: PackageInfo,
  origin: 'package' | 'path',
  declaredAt?: PluginSource['declaredAt'],
  importTimeoutMs?: number,
): PluginSource {
  return {
    origin,
    declaredAt,
    name: info.name,
    version: info.version,
    location: info.dir,
    apiVersion: info.manifest?.apiVersion,
    types: info.manifest?.providers ?? [],
    problem: info.manifestProblem,
    load: once(() => importPlugins(info.entry, `plugin package "${info.name}"`, importTimeoutMs)),
    // Checked on its real path, inside the package's: manifest.ts only checks the path as written.
    description: info.descriptionFile ? once(() => readPluginDescription(info.descriptionFile!, info.dir)) : none,
  };
}

export function fileSource(file: string, spec: string, declaredAt?: PluginSource['declaredAt'], importTimeoutMs?: number): PluginSource {
  return {
    origin: 'path',
    name: spec,
    location: file,
    types: [],
    declaredAt,
    load: once(() => importPlugins(file, `local plugin "${spec}"`, importTimeoutMs)),
    description: none,
  };
}

export function codeSource(plugin: AegisPlugin): PluginSource {
  // Checked as definePlugin checks: an object made some other way (or by another copy of core) may not be a plugin.
  const problems = pluginProblems(plugin);
  if (problems.length > 0) {
    const type = typeof (plugin as { type?: unknown } | undefined)?.type === 'string' ? ` for type "${plugin.type}"` : '';
    throw new PluginError(`a plugin passed in code${type} is not one (make it with definePlugin from @aegis/core): ${problems.join('; ')}`, { kind: 'invalid_plugin' });
  }
  return {
    origin: 'code',
    name: `(passed in code: ${plugin.type})`,
    apiVersion: plugin.apiVersion,
    types: [plugin.type],
    load: () => Promise.resolve([plugin]),
    description: () => describePlugins([plugin]),
  };
}

/** Imports a plugin module and checks what it exports: a plugin, or an array of plugins, as default export. */
export async function importPlugins(entry: string, label: string, timeoutMs = DEFAULT_PLUGIN_IMPORT_TIMEOUT_MS): Promise<AegisPlugin[]> {
  let mod: Record<string, unknown>;
  // A module whose top-level await never settles would hold every command that needs it forever.
  // The timer keeps the process alive until then (an unsettled import alone would not).
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new PluginError(`${label} did not finish loading within ${timeoutMs} ms (its import never settled); it is not used`, {
            kind: 'load_failed',
            packages: [label],
          }),
        ),
      timeoutMs,
    );
  });
  try {
    mod = (await Promise.race([import(pathToFileURL(entry).href), timeout])) as Record<string, unknown>;
  } catch (error) {
    if (PluginError.isInstance(error)) throw error;
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new PluginError(`${label} failed to load: ${reason}`, { kind: 'load_failed', packages: [label], cause: error });
  } finally {
    clearTimeout(timer);
  }
  const exported = mod.default ?? mod.plugin ?? mod.plugins;
  const list = Array.isArray(exported) ? exported : [exported];
  const plugins: AegisPlugin[] = [];
  for (const candidate of list) {
    // Marked by definePlugin or not, checked against this core: a plugin made with a newer copy of core may
    // declare what this one does not know (a capability), and the marker alone says nothing of that.
    const problems = pluginProblems(candidate as never);
    if (problems.length > 0) {
      const why = isAegisPlugin(candidate)
        ? `exports a plugin this @aegis/core cannot use (made for a newer one?)`
        : `does not export a plugin as its default export (use definePlugin from @aegis/core)`;
      throw new PluginError(`${label} ${why}: ${problems.join('; ')}`, { kind: 'invalid_plugin', packages: [label] });
    }
    plugins.push(candidate as AegisPlugin);
  }
  return plugins;
}
