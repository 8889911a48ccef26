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
import validatePackageNameUntyped from 'validate-npm-package-name';

/**
 * Typed here, not through the module's declaration (src/types, which the
 * package does not ship): the emitted .d.ts then names no untyped module, and
 * an application type-checking its libraries (`skipLibCheck: false`) finds
 * nothing missing.
 */
const validatePackageName: (name: string) => { validForNewPackages: boolean; validForOldPackages: boolean; errors?: string[]; warnings?: string[] } =
  validatePackageNameUntyped;

export { tsyringe, yaml, dotenv, validatePackageName };
