import { withInterrupt, type CommandContext } from '../context.js';
import { formatTable, printJson } from '../output.js';

export interface ModelsOptions {
  profile: string;
  json?: boolean;
}

/** `aegis models -p <profile>`: the backend's models with their context length and capabilities, as the backend reports them. */
export async function run(ctx: CommandContext, options: ModelsOptions): Promise<number> {
  const provider = await (await ctx.aegis()).getProviderForProfile(options.profile);
  const models = await withInterrupt((signal) => provider.listModels({ signal }));
  if (options.json) {
    printJson(ctx.out, models);
    return 0;
  }
  if (models.length === 0) {
    ctx.err.line(`aegis: the backend of profile "${options.profile}" lists no models`);
    return 0;
  }
  const rows = models.map((m) => [m.id, m.contextLength !== undefined ? String(m.contextLength) : '-', (m.capabilities ?? []).join(', ')]);
  for (const line of formatTable(['MODEL', 'CONTEXT', 'CAPABILITIES'], rows)) ctx.out.line(line);
  return 0;
}
