import fs from 'node:fs';
import { ConfigurationError } from '../errors/index.js';
import { formatBytes } from './limits.js';

/** The message for a file over its size limit. */
export function tooLargeMessage(shown: string, maxBytes: number): string {
  return `${shown} is larger than ${formatBytes(maxBytes)}, the most AEGIS reads from such a file; it is not read (limits: docs/security.md)`;
}

/**
 * Reads a UTF-8 text file of at most `maxBytes`, checking the size of what is
 * read rather than trusting a `stat` (a FIFO or a file that grows would pass
 * one): never more than `maxBytes + 1` bytes are read. `shown` names the file in messages.
 */
export function readLimitedFile(file: string, maxBytes: number, shown: string): string {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (error) {
    throw new ConfigurationError(`cannot read ${shown}: ${(error as Error).message}`, { cause: error });
  }
  try {
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
    return Buffer.concat(chunks, total).toString('utf8');
  } catch (error) {
    if (ConfigurationError.isInstance(error)) throw error;
    throw new ConfigurationError(`cannot read ${shown}: ${(error as Error).message}`, { cause: error });
  } finally {
    fs.closeSync(fd);
  }
}
