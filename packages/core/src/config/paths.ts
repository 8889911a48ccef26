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
