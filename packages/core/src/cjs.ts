/**
 * The CommonJS libraries core uses. `reflect-metadata` comes first, as
 * tsyringe needs it. In the published package they are bundled into
 * `dist/bundle/index.js` with the rest of core (scripts/bundle.mjs): one file to
 * load instead of hundreds, which is most of the CLI's cold start
 * (bench/RESULTS.md).
 */
import 'reflect-metadata';
import * as tsyringe from 'tsyringe';
import yaml from 'yaml';
import dotenv from 'dotenv';
import validatePackageName from 'validate-npm-package-name';

export { tsyringe, yaml, dotenv, validatePackageName };
