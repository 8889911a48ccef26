#!/usr/bin/env node
/**
 * The `aegis-emulator` command's launcher. It is committed (not built), so
 * `npm ci` can link `node_modules/.bin/aegis-emulator` in a fresh clone before
 * anything is built; it runs the built CLI, and says what to do when that is
 * missing.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = new URL('../dist/cli.js', import.meta.url);
if (existsSync(fileURLToPath(built))) {
  await import(built.href);
} else {
  process.stderr.write(
    'aegis-emulator: @aegis/testkit is not built yet (' +
      fileURLToPath(built) +
      ' is missing).\n' +
      '  In a clone of the AEGIS repository, run `npm run build` at its root first.\n' +
      '  Installed from npm, reinstall it: `npm install @aegis/testkit`.\n',
  );
  process.exitCode = 2;
}
