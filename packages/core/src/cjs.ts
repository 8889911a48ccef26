import { createRequire } from 'node:module';

/**
 * The CommonJS libraries core uses, loaded with `require`. Importing a CJS
 * package from ESM makes Node analyse its source for named exports on every
 * start, which roughly doubles their load time; the CLI's cold start is
 * measured in bench/RESULTS.md. `reflect-metadata` is loaded first, as
 * tsyringe needs it.
 */
const require = createRequire(import.meta.url);

require('reflect-metadata');

export const tsyringe = require('tsyringe') as typeof import('tsyringe');
export const yaml = require('yaml') as typeof import('yaml');
export const dotenv = require('dotenv') as typeof import('dotenv');
