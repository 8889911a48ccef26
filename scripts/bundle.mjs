#!/usr/bin/env node
/**
 * Bundles @aegis/core (tsc's output in dist/, and the libraries it depends on:
 * zod, yaml, tsyringe, reflect-metadata, dotenv, fastest-levenshtein) into
 * the one file its package.json points at, dist/bundle.js. Loading one file
 * instead of a few hundred small modules is most of a cold start: `aegis
 * profiles` and a first completion (bench/RESULTS.md, measure 6).
 *
 * got and eventsource-parser stay outside: core imports them on the first
 * request, so what makes none never loads them. The .d.ts files tsc wrote are
 * still the package's types. esbuild, because it bundles a Node ESM package
 * with CommonJS dependencies in tens of milliseconds.
 */
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const core = fileURLToPath(new URL('../packages/core/', import.meta.url));

/** Resolves zod's index of locales to one that exports only English. */
const englishOnly = {
  name: 'zod-locales-english-only',
  setup(build) {
    build.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      args.importer.includes(`${'/node_modules/zod/'}`) ? { path: 'zod-locales', namespace: 'aegis' } : undefined,
    );
    build.onLoad({ filter: /^zod-locales$/, namespace: 'aegis' }, () => ({
      contents: "export { default as en } from 'zod/v4/locales/en.js';",
      resolveDir: core,
    }));
  },
};

await build({
  entryPoints: [`${core}dist/index.js`],
  outfile: `${core}dist/bundle.js`,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['got', 'eventsource-parser'],
  // The CommonJS libraries inside an ES module: their `require` of Node's own modules needs a real one.
  banner: { js: "import { createRequire as __aegisCreateRequire } from 'node:module';\nconst require = __aegisCreateRequire(import.meta.url);" },
  // zod's messages in English only (what core writes its errors in): `z.locales` holds just `en`.
  // The other ~50 locales would be a third of the file, parsed on every start.
  plugins: [englishOnly],
  minifyWhitespace: true,
  minifySyntax: true,
  keepNames: true,
  legalComments: 'external',
  logLevel: 'warning',
});
