/** Reads a file the user named, up to a size limit; every problem is a UsageError naming the file. */
import { open } from 'node:fs/promises';
import { UsageError } from './errors.js';

/** The bytes of `file` (shown as `shown`), or a UsageError when it cannot be read or is larger than `maxBytes`. */
export async function readLimited(file: string, shown: string, maxBytes: number, what: string): Promise<Buffer> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw new UsageError(`cannot read the ${what} ${shown}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > maxBytes) throw new UsageError(`the ${what} ${shown} is larger than ${maxBytes} bytes`);
    }
    return buffer.subarray(0, length);
  } finally {
    await handle.close();
  }
}
