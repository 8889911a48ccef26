import { readFileSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';

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

export function readPackageJson(dir: string): PackageJson | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as PackageJson;
  } catch {
    return undefined;
  }
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
