import type { PluginSummary } from '@aegis/core';
import type { CommandContext } from '../context.js';
import { formatTable, printJson } from '../output.js';

export interface PluginsOptions {
  json?: boolean;
}

/** `aegis plugins`: the provider plugins this application can use. */
export async function run(ctx: CommandContext, options: PluginsOptions): Promise<number> {
  const aegis = await ctx.aegis();
  const plugins = await aegis.plugins();
  if (options.json) {
    printJson(ctx.out, plugins);
    return 0;
  }
  if (plugins.length === 0) {
    ctx.err.line('aegis: no provider plugins installed; install one, e.g. npm install @aegis/provider-openai');
    return 0;
  }
  const withErrors = plugins.some((p) => p.error);
  const headers = ['PLUGIN', 'VERSION', 'TYPE', 'CAPABILITIES', ...(withErrors ? ['ERROR'] : [])];
  const rows = plugins.flatMap((plugin) => rowsOf(plugin, withErrors));
  for (const line of formatTable(headers, rows)) ctx.out.line(line);
  return 0;
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
