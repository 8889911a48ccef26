import { constants } from 'node:fs';
import { access, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { resolvePath, textFromArgsOrStdin, withInterrupt, type CommandContext } from '../context.js';
import { UsageError } from '../errors.js';

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
  // Before the (billed) call: a file that cannot be written is found now, not after the audio came.
  const file = resolvePath(ctx, options.output);
  await access(dirname(file), constants.W_OK).catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot write ${options.output}: ${error.code === 'ENOENT' ? 'its folder does not exist' : 'its folder is not writable'}`);
  });
  const { audio, mimeType } = await withInterrupt((signal) =>
    provider.getSpeech(text, { voice: options.voice, format: options.format, signal }),
  );
  await writeFile(file, audio);
  ctx.err.line(`wrote ${audio.byteLength} bytes (${mimeType}) to ${options.output}`);
  return 0;
}
