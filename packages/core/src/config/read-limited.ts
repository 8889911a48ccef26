import fs from 'node:fs';
import { ConfigurationError } from '../errors/index.js';
import { formatBytes } from './limits.js';

/** The message for a file over its size limit. */
export function tooLargeMessage(shown: string, maxBytes: number): string {
  return `${shown} is larger than ${formatBytes(maxBytes)}, the most AEGIS reads from such a file; it is not read (limits: docs/security.md)`;
}

/**
 * Reads a UTF-8 text file of at most `maxBytes`, checking the size of what is
 * read rather than trusting a `stat` (a file that grows would pass one): never
 * more than `maxBytes + 1` bytes are read. `shown` names the file in messages
 * (`env file .env`), `displayFile` in the file:line of an issue (`.env`).
 *
 * Only a regular file is read: the file is opened without blocking and checked
 * on the open descriptor, so a FIFO (whose open and reads wait for a writer
 * for ever) or a device is refused, even one swapped in after a `stat`.
 *
 * The text must be UTF-8: bytes that are not (a file saved as Latin-1 or
 * UTF-16) are an error naming the line of the first bad byte, never replaced
 * by U+FFFD in silence, which would change a key or a value without a word.
 */
export function readLimitedFile(file: string, maxBytes: number, shown: string, displayFile = shown): string {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0));
  } catch (error) {
    throw new ConfigurationError(`cannot read ${shown}: ${(error as Error).message}`, { cause: error });
  }
  let bytes: Buffer;
  try {
    if (!fs.fstatSync(fd).isFile()) throw new ConfigurationError(`${shown} is not a regular file (a FIFO, a device or a socket?); it is not read`);
    const buffer = Buffer.allocUnsafe(Math.min(maxBytes + 1, 64 * 1024));
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const n = fs.readSync(fd, buffer, 0, Math.min(buffer.length, maxBytes + 1 - total), null);
      if (n === 0) break;
      chunks.push(Buffer.from(buffer.subarray(0, n)));
      total += n;
      if (total > maxBytes) throw new ConfigurationError(tooLargeMessage(shown, maxBytes));
    }
    bytes = Buffer.concat(chunks, total);
  } catch (error) {
    if (ConfigurationError.isInstance(error)) throw error;
    throw new ConfigurationError(`cannot read ${shown}: ${(error as Error).message}`, { cause: error });
  } finally {
    fs.closeSync(fd);
  }
  return decodeUtf8(bytes, displayFile);
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const LOOSE_UTF8 = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * The text of `bytes`, which must be UTF-8 (a UTF-8 byte order mark is kept:
 * the parsers skip it). A UTF-16 file, or any byte sequence that is not UTF-8,
 * is a {@link ConfigurationError} at `file`:line:column of the first bad one.
 */
export function decodeUtf8(bytes: Uint8Array, file: string): string {
  if (bytes.length >= 2 && ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff))) {
    throw new ConfigurationError([
      { file, line: 1, column: 1, message: 'the file is UTF-16 (it starts with a UTF-16 byte order mark), not UTF-8; save it as UTF-8' },
    ]);
  }
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    // Where: line by line (a newline byte is never part of a UTF-8 sequence, so each line decodes on its own),
    // and in the first line that does not, the first character the decoder had to replace.
    for (let start = 0, line = 1; start <= bytes.length; line++) {
      const end = bytes.indexOf(0x0a, start);
      const piece = bytes.subarray(start, end === -1 ? bytes.length : end);
      try {
        STRICT_UTF8.decode(piece);
      } catch {
        const column = LOOSE_UTF8.decode(piece).indexOf('\uFFFD') + 1;
        const message = 'the file is not UTF-8 text: the bytes here are not valid UTF-8 (saved as Latin-1 or Windows-1252?); save the file as UTF-8';
        throw new ConfigurationError([{ file, line, column: Math.max(1, column), message }]);
      }
      if (end === -1) break;
      start = end + 1;
    }
    throw new ConfigurationError([{ file, line: 1, message: 'the file is not UTF-8 text; save it as UTF-8' }]);
  }
}
