import path from 'node:path';
import { resolvePath, withInterrupt, type CommandContext } from '../context.js';
import { UsageError } from '../errors.js';
import { readLimited } from '../read-limited.js';

/** The largest audio file read: OpenAI's upload limit for transcriptions (25 MB), more than local servers take. */
export const MAX_AUDIO_FILE_BYTES = 25 * 1024 * 1024;

export interface TranscribeOptions {
  profile: string;
  language?: string;
  mimeType?: string;
}

/** Audio MIME types by file extension. */
export const AUDIO_TYPES: Readonly<Record<string, string>> = {
  wav: 'audio/wav',
  mp3: 'audio/mpeg',
  ogg: 'audio/ogg',
  flac: 'audio/flac',
  webm: 'audio/webm',
  m4a: 'audio/mp4',
};

/** `aegis transcribe`: the text spoken in an audio file. */
export async function run(ctx: CommandContext, file: string, options: TranscribeOptions): Promise<number> {
  const mimeType = options.mimeType ?? guessMimeType(file);
  const audio = new Uint8Array(await readLimited(resolvePath(ctx, file), file, MAX_AUDIO_FILE_BYTES, 'audio file'));
  const provider = await (await ctx.aegis()).getProviderForProfile(options.profile);
  const { text } = await withInterrupt((signal) =>
    provider.getTranscription(audio, { mimeType, fileName: path.basename(file), language: options.language, signal }),
  );
  ctx.out.line(text);
  return 0;
}

function guessMimeType(file: string): string {
  const ext = path.extname(file).slice(1).toLowerCase();
  const type = AUDIO_TYPES[ext];
  if (!type) {
    throw new UsageError(
      `cannot tell the audio format of ${file} from its extension; use a file ending in ${Object.keys(AUDIO_TYPES).map((e) => '.' + e).join(', ')} or pass --mime-type`,
    );
  }
  return type;
}
