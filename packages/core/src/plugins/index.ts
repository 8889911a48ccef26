export { definePlugin, isAegisPlugin, pluginProblems, PLUGIN_API_VERSION, type AegisPlugin, type PluginDefinition, type AnyConfigSchema } from './define-plugin.js';
export { discoverPlugins, findAppRoot, resolvePackageDir, displayPath, type DiscoveryOptions, type DiscoveryResult, type PluginSpecEntry, type BlockedSource } from './discovery.js';
export { PluginRegistry, type InstalledPlugin } from './registry.js';
export { PLUGIN_KEYWORD, readPackageJson, MAX_PACKAGE_JSON_BYTES, type PluginManifest } from './manifest.js';
export { backendsJsonSchema, profileJsonSchema } from './json-schema.js';
export type { PluginSource } from './source.js';
