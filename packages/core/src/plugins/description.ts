import { existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { z } from 'zod';
import { isCapability, type Capability } from '../contract/capabilities.js';
import { secret } from '../secrets/secret-fields.js';
import type { AegisPlugin } from './define-plugin.js';
import { profileJsonSchema } from './json-schema.js';
import { isPluginPackage, packageInfo, readPackageJson } from './manifest.js';
import { importPlugins } from './source.js';
import { PluginError } from '../errors/plugin-error.js';
import { ConfigurationError } from '../errors/configuration-error.js';
import { readLimitedFile, tooLargeMessage } from '../config/read-limited.js';
import { MAX_DESCRIPTION_BYTES, schemaProblem } from './schema-safety.js';
import { guardPatterns } from './guarded-patterns.js';

/**
 * What a plugin package may ship beside its code (generated at build time by
 * `aegis plugin describe`): each provider type's capabilities and config JSON
 * Schema, so `aegis plugins` and `aegis validate --no-import` work without
 * importing the plugin. Declared in package.json as `"aegis": { ..., "description": "./dist/aegis-plugin.json" }`.
 */
export interface PluginDescription {
  apiVersion: number;
  providers: Record<string, ProviderDescription>;
}

export interface ProviderDescription {
  description?: string;
  capabilities: Capability[];
  /** JSON Schema of a profile (input form). */
  configSchema: Record<string, unknown>;
}

export const DEFAULT_DESCRIPTION_FILE = './dist/aegis-plugin.json';

export function describePlugins(plugins: readonly AegisPlugin[]): PluginDescription {
  const providers: Record<string, ProviderDescription> = {};
  for (const plugin of plugins) {
    providers[plugin.type] = { description: plugin.description, capabilities: [...plugin.capabilities], configSchema: profileJsonSchema(plugin) };
  }
  return { apiVersion: plugins[0]?.apiVersion ?? 1, providers };
}

/** Imports a built plugin package and writes its description file; returns the file and the types in it. */
export async function writePluginDescription(packageDir: string): Promise<{ file: string; types: string[] }> {
  const pkg = readPackageJson(packageDir);
  if (!pkg) throw new PluginError(`no readable package.json in ${packageDir}`, { kind: 'invalid_plugin' });
  // Nothing of a package that does not say it is a plugin is run.
  if (!isPluginPackage(pkg)) {
    throw new PluginError(`${packageDir} is not an AEGIS provider plugin package (its package.json has no "aegis" manifest or "aegis-provider" keyword)`, { kind: 'invalid_plugin' });
  }
  const info = packageInfo(packageDir, pkg);
  if (!existsSync(info.entry)) {
    throw new PluginError(`the plugin's entry point ${info.entry} does not exist yet: build the plugin first (npm run build), then describe it`, { kind: 'invalid_plugin' });
  }
  const plugins = await importPlugins(info.entry, `plugin package "${info.name}"`);
  const file = info.descriptionFile ?? join(packageDir, DEFAULT_DESCRIPTION_FILE);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(describePlugins(plugins), null, 2) + '\n');
  return { file, types: plugins.map((p) => p.type) };
}

/**
 * Reads a description file; undefined when it is missing or not one. A
 * description that is unsafe to use (a config schema with a regular expression
 * that can run for ever, a `$ref` cycle, a file over the size limit, a file
 * that leads out of its package) is a {@link PluginError}: it is data beside
 * the plugin's code, and is checked as untrusted input.
 *
 * `packageDir`: the package that ships it. The file is then checked on its
 * real path (symlinks resolved) to be inside the package's real directory, as
 * a local plugin's entry point is, and that real path is what is read: a
 * symlink in a plugin folder cannot make AEGIS read a file elsewhere.
 * Only a regular file is read (a FIFO would make the read wait for ever), at
 * most MAX_DESCRIPTION_BYTES, whatever a `stat` said before.
 */
export function readPluginDescription(file: string, packageDir?: string): PluginDescription | undefined {
  let real = file;
  if (packageDir !== undefined) {
    let realDir: string;
    try {
      real = realpathSync(file);
      realDir = realpathSync(packageDir);
    } catch {
      return undefined;
    }
    const rel = relative(realDir, real);
    if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
      throw new PluginError(`the plugin description ${file} leads outside the plugin's directory (to ${real}); it is not read`, { kind: 'invalid_plugin' });
    }
  }
  const shown = `the plugin description ${file}`;
  let parsed: PluginDescription;
  try {
    parsed = JSON.parse(readLimitedFile(real, MAX_DESCRIPTION_BYTES, shown)) as PluginDescription;
  } catch (error) {
    if (ConfigurationError.isInstance(error) && error.message === tooLargeMessage(shown, MAX_DESCRIPTION_BYTES)) {
      throw new PluginError(`the plugin description ${file} is larger than ${MAX_DESCRIPTION_BYTES / 1024 / 1024} MiB; it is not read`, { kind: 'invalid_plugin' });
    }
    return undefined;
  }
  const valid =
    typeof parsed?.apiVersion === 'number' &&
    typeof parsed.providers === 'object' &&
    parsed.providers !== null &&
    Object.values(parsed.providers).every(
      (p) => typeof p === 'object' && p !== null && Array.isArray(p.capabilities) && p.capabilities.every(isCapability) && typeof p.configSchema === 'object' && p.configSchema !== null,
    );
  if (!valid) return undefined;
  for (const [type, entry] of Object.entries(parsed.providers)) {
    const problem = schemaProblem(entry.configSchema);
    if (problem) {
      throw new PluginError(`the description it ships (${file}) cannot be used for type "${type}": ${problem}`, { kind: 'invalid_plugin', type });
    }
  }
  return parsed;
}

/** A zod schema rebuilt from a shipped JSON Schema, with its secret fields marked again. */
export function schemaFromDescription(entry: ProviderDescription): z.ZodObject {
  let schema: z.ZodObject;
  try {
    schema = z.fromJSONSchema(entry.configSchema as Parameters<typeof z.fromJSONSchema>[0]) as unknown as z.ZodObject;
  } catch (error) {
    const reason = error instanceof RangeError ? 'it is too deeply nested or recursive' : error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new PluginError(`the config schema of its shipped description cannot be used: ${reason}`, { kind: 'invalid_plugin', cause: error });
  }
  if (typeof schema?.shape !== 'object') {
    throw new PluginError('the config schema of its shipped description is not an object schema', { kind: 'invalid_plugin' });
  }
  guardPatterns(schema);
  const properties = (entry.configSchema.properties ?? {}) as Record<string, Record<string, unknown>>;
  const secrets = Object.entries(properties).filter(([, p]) => p.aegisSecret === true);
  if (secrets.length === 0) return schema;
  return schema.extend(Object.fromEntries(secrets.map(([key]) => [key, secret(schema.shape[key] as z.ZodType)])));
}
