import { writeFile } from 'node:fs/promises';
import { resolvePath, type CommandContext } from '../context.js';
import { printJson } from '../output.js';

export interface SchemaOptions {
  output?: string;
}

/** `aegis schema`: a JSON Schema for backends.yaml from the installed plugins' config schemas, for editors. */
export async function run(ctx: CommandContext, options: SchemaOptions): Promise<number> {
  const schema = await (await ctx.aegis()).jsonSchema();
  if (!options.output) {
    printJson(ctx.out, schema);
    return 0;
  }
  await writeFile(resolvePath(ctx, options.output), JSON.stringify(schema, null, 2) + '\n');
  ctx.err.line(`wrote the backends.yaml schema to ${options.output}; add this first line to backends.yaml:`);
  ctx.err.line(`# yaml-language-server: $schema=${options.output}`);
  return 0;
}
