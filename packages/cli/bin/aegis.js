#!/usr/bin/env node
/**
 * The `aegis` command's launcher. It is committed (not built), so `npm ci`
 * can link `node_modules/.bin/aegis` in a fresh clone before anything is
 * built; it runs the bundled CLI, and says what to do when that is missing.
 *
 * It does not re-execute anything: by the time it runs, Node has already read
 * a file named after `--env-file` on the command line (docs/security.md, "The
 * env file option"), so no launcher can make that flag safe. The CLI's option
 * is `--dotenv`, and the CLI refuses `--env-file` with that advice.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = new URL('../dist/bundle/bin.js', import.meta.url);
if (existsSync(fileURLToPath(built))) {
  await import(built.href);
} else {
  process.stderr.write(
    'aegis: @aegis/cli is not built yet (' +
      fileURLToPath(built) +
      ' is missing).\n' +
      '  In a clone of the AEGIS repository, run `npm run build` (or `npm start`) at its root first.\n' +
      '  Installed from npm, reinstall it: `npm install @aegis/cli`.\n',
  );
  process.exitCode = 2;
}
