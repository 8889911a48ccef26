import { existsSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { ConfigIssue } from '../errors/configuration-error.js';
import { isRegularFile } from '../config/paths.js';
import { dependencyNames, isPluginPackage, packageInfo, readPackageJson, readPackageJsonChecked } from './manifest.js';
import { codeSource, fileSource, packageSource, type PluginSource } from './source.js';
import { validatePackageName } from '../cjs.js';
import type { AegisPlugin } from './define-plugin.js';

export interface PluginSpecEntry {
  /** A package name or a path (relative to the config file) as written under `plugins:`. */
  spec: string;
  file?: string;
  line?: number;
}

export interface DiscoveryOptions {
  /** Where the application lives; its package.json lists the packages to look at (none when absent). */
  appRoot?: string;
  /** Directory of backends.yaml, for relative `plugins:` paths. */
  configDir?: string;
  configPlugins?: readonly PluginSpecEntry[];
  /** `allow_plugins:` of backends.yaml: when set, only these packages and paths are loaded. */
  allow?: readonly PluginSpecEntry[];
  codePlugins?: readonly AegisPlugin[];
  /** How long importing one plugin may take (default: DEFAULT_PLUGIN_IMPORT_TIMEOUT_MS of source.ts). */
  importTimeoutMs?: number;
}

export interface BlockedSource {
  source: PluginSource;
  reason: string;
}

export interface DiscoveryResult {
  sources: PluginSource[];
  /** Plugins found but not to be loaded (not in `allow_plugins`). */
  blocked: BlockedSource[];
  issues: ConfigIssue[];
}

/** The nearest directory at or above `cwd` that has a package.json (else `cwd`). */
export function findAppRoot(cwd: string): string {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) return resolve(cwd);
  }
}

/** Finds an installed package the way Node does: `node_modules/<name>` here or in a parent directory. */
export function resolvePackageDir(name: string, fromDir: string): string | undefined {
  for (let dir = resolve(fromDir); ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return realpathSync(candidate);
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * Finds the plugins an application can use, without importing any of them:
 * the manifests of the packages its package.json depends on, the entries of
 * `plugins:` in backends.yaml, and plugins passed in code.
 */
export function discoverPlugins(options: DiscoveryOptions): DiscoveryResult {
  const sources: PluginSource[] = [];
  const blocked: BlockedSource[] = [];
  const issues: ConfigIssue[] = [];
  const seenDirs = new Set<string>();
  const appRoot = options.appRoot;
  const base = options.configDir ?? appRoot ?? process.cwd();
  // Trust: installed means trusted, but an allow-list narrows it, and a local path
  // outside the project is loaded only when the allow-list names it. Every check
  // is made on real paths (symlinks resolved): where the code really is.
  const projectDir = realPath(appRoot ?? base) ?? resolve(appRoot ?? base);
  const findPackage = (name: string): string | undefined => resolvePackageDir(name, base) ?? (appRoot ? resolvePackageDir(name, appRoot) : undefined);
  // An allow-list entry is the place its code is: a package name, where that package is
  // installed; a path, the real file or directory. A local folder claiming an allowed
  // package's name in its package.json is not that package.
  const allowedPlaces = new Set<string>();
  for (const entry of options.allow ?? []) {
    const place = isPathSpec(entry.spec) ? realPath(resolve(base, entry.spec)) : isPackageName(entry.spec) ? findPackage(entry.spec) : undefined;
    if (place) allowedPlaces.add(place);
  }
  const allowed = (source: PluginSource): boolean => !options.allow || (source.location !== undefined && allowedPlaces.has(source.location));
  const accept = (source: PluginSource): void => {
    if (allowed(source)) sources.push(source);
    else blocked.push({ source, reason: notAllowedReason(source) });
  };

  const addPackageDir = (dir: string, origin: PluginSpecEntry | undefined, local: boolean): void => {
    if (seenDirs.has(dir)) return;
    const read = readPackageJsonChecked(dir);
    if ('problem' in read) {
      // A dependency with a broken package.json is not a plugin we can tell of; one named under plugins: is.
      if (origin) issues.push({ ...where(origin), message: `${local ? 'local plugin' : 'plugin package'} "${origin.spec}" is not loaded: unreadable or invalid package.json (${read.problem})` });
      return;
    }
    const pkg = read.pkg;
    if (!isPluginPackage(pkg)) {
      if (origin) issues.push({ ...where(origin), message: `"${origin.spec}" is not an AEGIS provider plugin (its package.json has no "aegis" manifest or "aegis-provider" keyword)` });
      return;
    }
    seenDirs.add(dir);
    const info = packageInfo(dir, pkg);
    if (origin && local) {
      // A local folder's code must be inside it: its entry point may not lead elsewhere (`"main": "../../x.js"`, a symlink).
      const entry = realPath(info.entry);
      if (entry !== undefined && isOutside(entry, dir)) {
        issues.push({ ...where(origin), message: `local plugin "${origin.spec}": its entry point (${entry}) lies outside the plugin's directory (${dir}); it is not loaded` });
        return;
      }
      // Importing a FIFO would wait for ever (and keep the process from exiting).
      if (entry !== undefined && !isRegularFile(entry)) {
        issues.push({ ...where(origin), message: `local plugin "${origin.spec}": its entry point (${entry}) ${NOT_A_FILE}` });
        return;
      }
    }
    const declaredAt = origin && { file: origin.file, line: origin.line };
    accept(packageSource(info, local ? 'path' : 'package', declaredAt, options.importTimeoutMs));
  };

  const app = appRoot ? readPackageJson(appRoot) : undefined;
  if (app && appRoot) {
    for (const name of dependencyNames(app)) {
      if (!isPackageName(name)) continue;
      const dir = resolvePackageDir(name, appRoot);
      if (dir) addPackageDir(dir, undefined, false);
    }
  }

  for (const entry of options.configPlugins ?? []) {
    if (isPathSpec(entry.spec)) {
      const target = resolve(base, entry.spec);
      const real = realPath(target);
      // Where it leads; a path that does not exist is judged as written (nothing outside is named as missing).
      const place = real ?? target;
      const outside = real !== undefined ? isOutside(real, projectDir) : isOutside(target, projectDir) && isOutside(target, resolve(appRoot ?? base));
      if (outside && !allowedPlaces.has(place)) {
        const via = place !== target ? ` (it leads to ${place})` : '';
        issues.push({
          ...where(entry),
          message: `local plugin "${entry.spec}"${via} is outside the project directory (${projectDir}); list it under allow_plugins to load it`,
        });
      } else if (real === undefined) {
        issues.push({ ...where(entry), message: `local plugin "${entry.spec}" not found (looked at ${target})` });
      } else if (statSync(real).isDirectory()) {
        if (existsSync(join(real, 'package.json'))) addPackageDir(real, entry, true);
        else issues.push({ ...where(entry), message: `local plugin directory "${entry.spec}" has no package.json` });
      } else if (isRegularFile(real)) {
        accept(fileSource(real, entry.spec, { file: entry.file, line: entry.line }, options.importTimeoutMs));
      } else {
        // A FIFO, socket or device: importing it would wait for ever and keep the CLI from exiting.
        issues.push({ ...where(entry), message: `local plugin "${entry.spec}" ${NOT_A_FILE}` });
      }
    } else if (!isPackageName(entry.spec)) {
      issues.push({
        ...where(entry),
        message: `"${entry.spec}" is neither a package name nor a path; write a local plugin as a path starting with "./" or "../" (relative to backends.yaml)`,
      });
    } else {
      const dir = findPackage(entry.spec);
      if (dir) addPackageDir(dir, entry, false);
      else issues.push({ ...where(entry), message: `plugin package "${entry.spec}" is not installed; run: npm install ${entry.spec}` });
    }
  }

  for (const plugin of options.codePlugins ?? []) sources.push(codeSource(plugin));
  return { sources, blocked, issues };
}

function notAllowedReason(source: PluginSource): string {
  if (source.origin === 'path') {
    const spec = source.declaredAt ? `"${source.name}" ` : '';
    return `the local plugin ${spec}at ${source.location} is not listed under allow_plugins in backends.yaml (a local plugin is allowed by its path, not by the name in its package.json)`;
  }
  return `"${source.name}" is not listed under allow_plugins in backends.yaml`;
}

const NOT_A_FILE = 'is not a regular file or directory (a FIFO, a socket or a device?); it is not loaded';

/** The real path (symlinks resolved), or undefined when there is nothing there. */
function realPath(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

/** True for a name npm accepts for a package (scoped or not): never a path such as `x/../../outside`. */
export function isPackageName(spec: string): boolean {
  return validatePackageName(spec).validForOldPackages;
}

function isOutside(target: string, dir: string): boolean {
  const rel = relative(dir, target);
  return rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
}

function isPathSpec(spec: string): boolean {
  return spec.startsWith('./') || spec.startsWith('../') || spec.startsWith('.\\') || spec.startsWith('..\\') || isAbsolute(spec) || spec === '.' || spec === '..';
}

function where(entry: PluginSpecEntry | undefined): Partial<ConfigIssue> {
  return entry ? { file: entry.file, line: entry.line, field: 'plugins' } : {};
}

/** A path for messages: relative to cwd when inside it. */
export function displayPath(path: string, cwd = process.cwd()): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}
