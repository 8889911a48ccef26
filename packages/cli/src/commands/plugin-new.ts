import path from 'node:path';
import type { CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import { pluginNames } from '../scaffold/names.js';
import { writePluginPackage } from '../scaffold/write.js';
import { KNOWN_PLUGINS } from '../known-plugins.js';

export interface PluginNewOptions {
  dir?: string;
}

/** `aegis plugin new <name>`: a ready provider package whose `npm test` passes straight away. */
export async function run(ctx: CommandContext, name: string, options: PluginNewOptions): Promise<number> {
  const names = pluginNames(name);
  const { CORE_VERSION, PLUGIN_API_VERSION } = await import('@aegis/core');
  const target = path.resolve(ctx.cwd, options.dir ?? names.dirName);
  let files: string[];
  try {
    files = writePluginPackage(target, { names, coreVersion: CORE_VERSION, apiVersion: PLUGIN_API_VERSION });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const shown = path.relative(ctx.cwd, target) || '.';
  ctx.out.line(`created ${names.packageName} (provider type "${names.type}") in ${shown}:`);
  for (const file of files) ctx.out.line(`  ${file}`);
  ctx.out.line('');
  ctx.out.line('next:');
  ctx.out.line(`  cd ${shown} && npm install && npm test`);
  ctx.out.line('  then make test/server.ts answer like your backend, and src/provider.ts speak to it');
  // Two installed plugins claiming one type make every profile of that type unusable.
  const taken = KNOWN_PLUGINS[names.type];
  if (taken !== undefined) {
    ctx.err.line(`aegis: warning: the provider type "${names.type}" is also ${taken}'s: an application with both installed cannot use either for it; rename the type in src/index.ts and package.json's "aegis" manifest`);
  }
  return 0;
}
