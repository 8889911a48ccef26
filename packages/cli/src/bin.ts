#!/usr/bin/env node
import { main } from './main.js';

// `aegis profiles | head -1`: a reader that goes away is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`aegis: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
