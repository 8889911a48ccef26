import fs from 'node:fs';
import path from 'node:path';

/**
 * How a file is named in messages: relative to `cwd` when it lies under it
 * (`backends.yaml`, `conf/backends.yaml`), else absolute.
 */
export function displayPath(file: string, cwd: string = process.cwd()): string {
  const absolute = path.resolve(cwd, file);
  const relative = path.relative(path.resolve(cwd), absolute);
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) return absolute;
  return relative;
}

/** True for a regular file (symlinks followed); a stat only, never an open, so a FIFO cannot block. */
export function isRegularFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}
