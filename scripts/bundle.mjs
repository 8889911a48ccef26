#!/usr/bin/env node
/**
 * Bundles tsc's output (dist/) of the packages a cold start loads into one
 * file each, which their package.json points at. Loading a few files instead
 * of a few hundred small modules is most of the CLI's cold start (`aegis
 * profiles`, a first completion: bench/RESULTS.md, measure 6). The .d.ts
 * files tsc wrote stay the packages' types. esbuild, because it bundles an
 * ES module package with CommonJS dependencies in milliseconds.
 *
 * - @aegis/core → dist/bundle/index.js, with the libraries it depends on (zod,
 *   yaml, tsyringe, reflect-metadata, dotenv, fastest-levenshtein). got and
 *   eventsource-parser, which core imports on the first request (what makes
 *   none never loads them), become chunks of their own, loaded then.
 * - each plugin → dist/bundle.js, its own modules only (@aegis/core and any
 *   other package stay imports, so every plugin shares the one core).
 * - @aegis/cli → dist/bundle/bin.js with commander, a chunk per command
 *   (loaded when run, as before), @aegis/core and @aegis/gateway (loaded
 *   only by `aegis serve`, tsc's output as it is) outside.
 *
 * Source maps ship beside each bundle and map it to the JavaScript modules it
 * was built from (tsc's dist/ modules, and the libraries' own files), all of
 * which ship in the packages: a `--verbose` stack names files a user has,
 * never the TypeScript sources, which are not published. esbuild would
 * otherwise follow tsc's own maps on to src/*.ts.
 */
import { build } from 'esbuild';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../', import.meta.url));

/** Resolves zod's index of locales to one that exports only English (the other ~50 are a third of core's file). */
const englishOnly = {
  name: 'zod-locales-english-only',
  setup(b) {
    b.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      args.importer.includes('/node_modules/zod/') ? { path: 'zod-locales', namespace: 'aegis' } : undefined,
    );
    b.onLoad({ filter: /^zod-locales$/, namespace: 'aegis' }, () => ({
      contents: "export { default as en } from 'zod/v4/locales/en.js';",
      resolveDir: root,
    }));
  },
};

/** Loads every JavaScript input without its `sourceMappingURL`, so the bundle's map stops at the shipped .js files. */
const shippedFilesOnly = {
  name: 'map-to-shipped-files',
  setup(b) {
    b.onLoad({ filter: /\.[cm]?js$/ }, (args) => ({
      contents: readFileSync(args.path, 'utf8').replace(/^\/\/# sourceMappingURL=.*$/gm, ''),
      loader: 'js',
    }));
  },
};

const common = {
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: 'linked',
  sourcesContent: false,
  legalComments: 'external',
  logLevel: 'warning',
  plugins: [shippedFilesOnly],
};
// CommonJS libraries inside an ES module: their `require` of Node's own modules needs a real one.
const requireBanner = {
  js: "import { createRequire as __aegisCreateRequire } from 'node:module';\nconst require = __aegisCreateRequire(import.meta.url);",
};

// Chunk names change with their content: start from an empty folder.
for (const dir of ['packages/core', 'packages/cli']) rmSync(`${root}${dir}/dist/bundle`, { recursive: true, force: true });
rmSync(`${root}packages/core/dist/bundle.js`, { force: true });

const builds = [
  build({
    ...common,
    entryPoints: [`${root}packages/core/dist/index.js`],
    outdir: `${root}packages/core/dist/bundle`,
    splitting: true,
    plugins: [englishOnly, shippedFilesOnly],
    banner: requireBanner,
  }),
  build({
    ...common,
    entryPoints: [`${root}packages/cli/dist/bin.js`],
    outdir: `${root}packages/cli/dist/bundle`,
    splitting: true,
    external: ['@aegis/core', '@aegis/gateway'],
    banner: requireBanner,
  }),
  ...readdirSync(`${root}plugins`).map((name) =>
    build({
      ...common,
      entryPoints: [`${root}plugins/${name}/dist/index.js`],
      outfile: `${root}plugins/${name}/dist/bundle.js`,
      packages: 'external',
    }),
  ),
];
await Promise.all(builds);
