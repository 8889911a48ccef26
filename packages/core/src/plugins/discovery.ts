import { existsSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { ConfigIssue } from '../errors/configuration-error.js';
import { dependencyNames, isPluginPackage, packageInfo, readPackageJson } from './manifest.js';
import { codeSource, fileSource, packageSource, type PluginSource } from './source.js';
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
  // outside the project is loaded only when the allow-list names it.
  const projectDir = appRoot ?? base;
  const allowedNames = new Set((options.allow ?? []).filter((a) => !isPathSpec(a.spec)).map((a) => a.spec));
  const allowedPaths = new Set((options.allow ?? []).filter((a) => isPathSpec(a.spec)).map((a) => resolve(base, a.spec)));
  const allowed = (source: PluginSource, target?: string): boolean =>
    !options.allow || allowedNames.has(source.name) || (target !== undefined && allowedPaths.has(target));
  const accept = (source: PluginSource, target?: string): void => {
    if (allowed(source, target)) sources.push(source);
    else blocked.push({ source, reason: `"${source.name}" is not listed under allow_plugins in backends.yaml` });
  };

  const addPackageDir = (dir: string, explicit: boolean, origin: PluginSpecEntry | undefined): void => {
    if (seenDirs.has(dir)) return;
    const pkg = readPackageJson(dir);
    if (!pkg) return;
    if (!isPluginPackage(pkg)) {
      if (explicit) issues.push({ ...where(origin), message: `"${origin?.spec}" is not an AEGIS provider plugin (its package.json has no "aegis" manifest or "aegis-provider" keyword)` });
      return;
    }
    seenDirs.add(dir);
    const declaredAt = origin && { file: origin.file, line: origin.line };
    accept(packageSource(packageInfo(dir, pkg), explicit ? 'path' : 'package', declaredAt), origin && isPathSpec(origin.spec) ? resolve(base, origin.spec) : undefined);
  };

  const app = appRoot ? readPackageJson(appRoot) : undefined;
  if (app && appRoot) {
    for (const name of dependencyNames(app)) {
      const dir = resolvePackageDir(name, appRoot);
      if (dir) addPackageDir(dir, false, undefined);
    }
  }

  for (const entry of options.configPlugins ?? []) {
    if (isPathSpec(entry.spec)) {
      const target = resolve(base, entry.spec);
      if (isOutside(target, projectDir) && !allowedPaths.has(target)) {
        issues.push({
          ...where(entry),
          message: `local plugin "${entry.spec}" is outside the project directory (${projectDir}); list it under allow_plugins to load it`,
        });
      } else if (!existsSync(target)) {
        issues.push({ ...where(entry), message: `local plugin "${entry.spec}" not found (looked at ${target})` });
      } else if (statSync(target).isDirectory()) {
        if (existsSync(join(target, 'package.json'))) addPackageDir(realpathSync(target), true, entry);
        else issues.push({ ...where(entry), message: `local plugin directory "${entry.spec}" has no package.json` });
      } else {
        accept(fileSource(realpathSync(target), entry.spec, { file: entry.file, line: entry.line }), target);
      }
    } else {
      const dir = resolvePackageDir(entry.spec, base) ?? (appRoot ? resolvePackageDir(entry.spec, appRoot) : undefined);
      if (dir) addPackageDir(dir, true, entry);
      else issues.push({ ...where(entry), message: `plugin package "${entry.spec}" is not installed; run: npm install ${entry.spec}` });
    }
  }

  for (const plugin of options.codePlugins ?? []) sources.push(codeSource(plugin));
  return { sources, blocked, issues };
}

function isOutside(target: string, dir: string): boolean {
  const rel = relative(dir, target);
  return rel.startsWith('..') || isAbsolute(rel);
}

function isPathSpec(spec: string): boolean {
  return spec.startsWith('./') || spec.startsWith('../') || spec.startsWith('.\\') || isAbsolute(spec) || spec === '.';
}

function where(entry: PluginSpecEntry | undefined): Partial<ConfigIssue> {
  return entry ? { file: entry.file, line: entry.line, field: 'plugins' } : {};
}

/** A path for messages: relative to cwd when inside it. */
export function displayPath(path: string, cwd = process.cwd()): string {
  const rel = relative(cwd, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}
