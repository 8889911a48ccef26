import path from 'node:path';
import { findAppRoot, PLUGIN_API_VERSION, PLUGIN_KEYWORD, readPackageJson, type PluginSummary } from '@aegis/core';
import type { CommandContext } from '../context.js';
import { formatTable, printJson } from '../output.js';
import { formatIssueLine } from '../errors.js';

export interface PluginsOptions {
  json?: boolean;
}

/** `aegis plugins`: the provider plugins this application can use. */
export async function run(ctx: CommandContext, options: PluginsOptions): Promise<number> {
  const aegis = await ctx.aegis();
  const plugins = await aegis.plugins();
  // An entry of `plugins:` that found nothing is no row of the table: it is said on stderr.
  const listIssues = aegis.pluginIssues();
  const withErrors = plugins.some((p) => p.error);
  // Exit 1 when a plugin cannot be used or the list has a problem, as `aegis validate` would.
  const code = withErrors || listIssues.length > 0 ? 1 : 0;
  if (options.json) {
    printJson(ctx.out, plugins);
  } else if (plugins.length === 0) {
    for (const line of nothingFound(ctx.cwd)) ctx.err.line(line);
  } else {
    const headers = ['PLUGIN', 'VERSION', 'TYPE', 'CAPABILITIES', ...(withErrors ? ['ERROR'] : [])];
    const rows = plugins.flatMap((plugin) => rowsOf(plugin, withErrors));
    for (const line of formatTable(headers, rows)) ctx.out.line(line);
  }
  for (const issue of listIssues) ctx.err.line(`aegis: ${formatIssueLine(issue)}`);
  return code;
}

/** One row per provider type; the plugin's name and version on its first row only. */
function rowsOf(plugin: PluginSummary, withErrors: boolean): string[][] {
  const types = plugin.types.length > 0 ? plugin.types : ['-'];
  return types.map((type, index) => {
    const capabilities = plugin.capabilities[type];
    const row = [
      index === 0 ? plugin.name : '',
      index === 0 ? (plugin.version ?? '-') : '',
      type,
      capabilities && capabilities.length > 0 ? capabilities.join(', ') : '-',
    ];
    if (withErrors) row.push(index === 0 ? (plugin.error ?? '') : '');
    return row;
  });
}

/**
 * Why no plugin was found, and what to do. Plugins are found among the
 * dependencies of the application's package.json: run in a plugin package's
 * own directory, that finds nothing, and a package with the keyword but no
 * manifest is not announced properly.
 */
function nothingFound(cwd: string): string[] {
  const root = findAppRoot(cwd);
  // Read as discovery reads it: a regular file only, of at most MAX_PACKAGE_JSON_BYTES (a package.json
  // may be a symlink to /dev/zero or a FIFO); undefined when it cannot be used.
  const pkg: { name?: unknown; keywords?: unknown; aegis?: unknown } | undefined = readPackageJson(root);
  const name = typeof pkg?.name === 'string' ? pkg.name : 'the package here';
  const where = path.relative(cwd, path.join(root, 'package.json')) || 'package.json';
  const hasKeyword = Array.isArray(pkg?.keywords) && pkg.keywords.includes(PLUGIN_KEYWORD);
  const lines = ['aegis: no provider plugins found among the dependencies of the application (its package.json) or under "plugins:" in backends.yaml.'];
  if (hasKeyword && pkg?.aegis === undefined) {
    lines.push(
      `  ${name} (${where}) has the "${PLUGIN_KEYWORD}" keyword but no "aegis" manifest: add ` +
        `"aegis": { "apiVersion": ${PLUGIN_API_VERSION}, "providers": ["<type>"] } to its package.json, so it is announced without importing it.`,
    );
  }
  if (hasKeyword || pkg?.aegis !== undefined) {
    lines.push(`  ${name} is a plugin package itself: to try it from here, list it in a backends.yaml beside it, under "plugins: [.]".`);
  } else {
    lines.push('  Install one, e.g. npm install @aegis/provider-openai');
  }
  return lines;
}
