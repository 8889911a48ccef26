import { readStdin, withInterrupt, type CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import { printJson } from '../output.js';

export interface TokensOptions {
  profile: string;
  json?: boolean;
}

/** `aegis tokens -p <profile> [text...]`: the number of tokens of a text, counted by the backend's tokenizer. */
export async function run(ctx: CommandContext, words: string[], options: TokensOptions): Promise<number> {
  const provider = await (await ctx.aegis()).getProviderForProfile(options.profile);
  const text = words.length > 0 ? words.join(' ') : await readStdin(ctx, 'the text to count');
  if (text === '') throw new UsageError('no text to count: pass it as arguments or on stdin');
  const count = await withInterrupt((signal) => provider.countTokens(text, { signal }));
  if (options.json) printJson(ctx.out, count, true);
  else ctx.out.line(String(count.tokens));
  return 0;
}
