import path from 'node:path';
import type { CommandContext } from '../context.js';

/**
 * `aegis plugin describe [dir...]`: writes the description a plugin package
 * ships (capabilities and config JSON Schema of each type), from its build,
 * so `aegis plugins` and `aegis validate --no-import` need not import it.
 */
export async function run(ctx: CommandContext, dirs: string[]): Promise<number> {
  const { writePluginDescription } = await import('@aegis/core');
  for (const dir of dirs.length > 0 ? dirs : ['.']) {
    const { file, types } = await writePluginDescription(path.resolve(ctx.cwd, dir));
    ctx.out.line(`${path.relative(ctx.cwd, file)}: ${types.join(', ')}`);
  }
  return 0;
}
