import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { ConfigurationError } from '../errors/index.js';
import { readLimitedFile } from '../config/read-limited.js';

/** The `"aegis"` block of a plugin package's package.json. */
export interface PluginManifest {
  apiVersion: number;
  providers: string[];
  /** Path (from the package root) of the shipped description: capabilities and config schemas. */
  description?: string;
}

export interface PackageInfo {
  name: string;
  version?: string;
  dir: string;
  /** The file to import, resolved from `exports` / `main`. */
  entry: string;
  keywords: string[];
  manifest?: PluginManifest;
  /** Why the manifest could not be read, when the package claims to be a plugin but its manifest is wrong. */
  manifestProblem?: string;
  /** Absolute path of the shipped description file, when the manifest names one. */
  descriptionFile?: string;
}

export const PLUGIN_KEYWORD = 'aegis-provider';

type PackageJson = {
  name?: string;
  version?: string;
  main?: string;
  exports?: unknown;
  keywords?: unknown;
  aegis?: unknown;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
};

/** Largest package.json read (bytes). Real ones are a few KiB; the limit keeps a hostile local folder from costing memory. */
export const MAX_PACKAGE_JSON_BYTES = 1024 * 1024;

/**
 * The package.json of `dir`, or why it cannot be used. Read like a shipped
 * description (description.ts): only a regular file (a FIFO would make the
 * read wait for ever), at most {@link MAX_PACKAGE_JSON_BYTES}, UTF-8. The
 * reason never quotes the file (JSON.parse's message does), so a value
 * written in it never reaches a message.
 */
export function readPackageJsonChecked(dir: string): { pkg: PackageJson } | { problem: string } {
  let text: string;
  try {
    text = readLimitedFile(join(dir, 'package.json'), MAX_PACKAGE_JSON_BYTES, 'package.json');
  } catch (error) {
    if (!ConfigurationError.isInstance(error)) throw error;
    const issue = error.issues[0];
    const message = (issue?.message ?? error.message).replace(/; it is not read\b/, '');
    return { problem: issue?.line !== undefined ? `line ${issue.line}: ${message}` : message };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch {
    return { problem: 'package.json is not valid JSON' };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return { problem: 'package.json is not a JSON object' };
  return { pkg: parsed as PackageJson };
}

/** The package.json of `dir`, or undefined when it is missing, unreadable or invalid (see {@link readPackageJsonChecked}). */
export function readPackageJson(dir: string): PackageJson | undefined {
  const read = readPackageJsonChecked(dir);
  return 'pkg' in read ? read.pkg : undefined;
}

/** True when a package.json announces an AEGIS provider plugin (keyword or manifest). */
export function isPluginPackage(pkg: PackageJson): boolean {
  return (Array.isArray(pkg.keywords) && pkg.keywords.includes(PLUGIN_KEYWORD)) || pkg.aegis !== undefined;
}

export function packageInfo(dir: string, pkg: PackageJson): PackageInfo {
  const info: PackageInfo = {
    name: pkg.name ?? dir,
    version: pkg.version,
    dir,
    entry: join(dir, entryOf(pkg)),
    keywords: Array.isArray(pkg.keywords) ? pkg.keywords.filter((k): k is string => typeof k === 'string') : [],
  };
  const manifest = pkg.aegis as Partial<PluginManifest> | undefined;
  if (
    manifest &&
    typeof manifest.apiVersion === 'number' &&
    Array.isArray(manifest.providers) &&
    manifest.providers.length > 0 &&
    manifest.providers.every((p) => typeof p === 'string')
  ) {
    info.manifest = { apiVersion: manifest.apiVersion, providers: [...manifest.providers] };
    // Only a file inside the package: a manifest may not point the description at any file on the machine.
    if (typeof manifest.description === 'string') {
      const file = resolve(dir, manifest.description);
      const rel = relative(dir, file);
      if (rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel)) info.descriptionFile = file;
    }
  } else {
    info.manifestProblem =
      'its package.json needs "aegis": { "apiVersion": <number>, "providers": ["<type>", ...] }';
  }
  return info;
}

/** The ESM entry point of a package: `exports["."]` (import/default), else `main`, else index.js. */
function entryOf(pkg: PackageJson): string {
  const pick = (value: unknown): string | undefined => {
    if (typeof value === 'string') return value;
    if (typeof value === 'object' && value !== null) {
      const v = value as Record<string, unknown>;
      return pick(v['.']) ?? pick(v.import) ?? pick(v.node) ?? pick(v.default);
    }
    return undefined;
  };
  return pick(pkg.exports) ?? pkg.main ?? 'index.js';
}

/** Names of the packages an application depends on, from its package.json. */
export function dependencyNames(pkg: PackageJson): string[] {
  return [
    ...new Set([
      ...Object.keys(pkg.dependencies ?? {}),
      ...Object.keys(pkg.devDependencies ?? {}),
      ...Object.keys(pkg.optionalDependencies ?? {}),
    ]),
  ];
}
