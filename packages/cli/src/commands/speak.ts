import { writeFile } from 'node:fs/promises';
import { resolvePath, textFromArgsOrStdin, withInterrupt, type CommandContext } from '../context.js';

export interface SpeakOptions {
  profile: string;
  output: string;
  voice?: string;
  format?: string;
}

/** `aegis speak`: speech for a text, written to a file. */
export async function run(ctx: CommandContext, words: string[], options: SpeakOptions): Promise<number> {
  const provider = await (await ctx.aegis()).getProviderForProfile(options.profile);
  const text = await textFromArgsOrStdin(ctx, words, 'text');
  const { audio, mimeType } = await withInterrupt((signal) =>
    provider.getSpeech(text, { voice: options.voice, format: options.format, signal }),
  );
  await writeFile(resolvePath(ctx, options.output), audio);
  ctx.err.line(`wrote ${audio.byteLength} bytes (${mimeType}) to ${options.output}`);
  return 0;
}
