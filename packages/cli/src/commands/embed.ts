import { readStdin, withInterrupt, type CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import { printJson } from '../output.js';

export interface EmbedOptions {
  profile: string;
  json?: boolean;
}

/** `aegis embed`: one vector per text; the texts are the arguments, else the lines of stdin. */
export async function run(ctx: CommandContext, words: string[], options: EmbedOptions): Promise<number> {
  const provider = await (await ctx.aegis()).getProviderForProfile(options.profile);
  const texts = words.length > 0 ? words : linesOf(await readStdin(ctx, 'texts (one per line)'));
  if (texts.length === 0) throw new UsageError('no text to embed: pass texts as arguments or one per line on stdin');
  const { embeddings } = await withInterrupt((signal) => provider.getEmbeddings(texts, { signal }));
  if (options.json) printJson(ctx.out, { embeddings }, true);
  else for (const vector of embeddings) ctx.out.line(JSON.stringify(vector));
  return 0;
}

/** The lines of a text; a final newline does not start another line. */
function linesOf(text: string): string[] {
  if (text === '') return [];
  return text.replace(/\r?\n$/, '').split(/\r?\n/);
}
