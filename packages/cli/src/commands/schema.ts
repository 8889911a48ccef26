import { writeFile } from 'node:fs/promises';
import { dirname, relative, sep } from 'node:path';
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
  const file = resolvePath(ctx, options.output);
  await writeFile(file, JSON.stringify(schema, null, 2) + '\n');
  // The editor reads the path from backends.yaml's own folder, not from where aegis was run.
  const configDir = dirname((await ctx.aegis()).configFile);
  const fromConfig = relative(configDir, file).split(sep).join('/');
  ctx.err.line(`wrote the backends.yaml schema to ${options.output}; add this first line to backends.yaml:`);
  ctx.err.line(`# yaml-language-server: $schema=${fromConfig}`);
  return 0;
}
