/**
 * 7: discovery scaling. Applications whose node_modules hold 0, 100 or 1,000
 * unrelated packages besides two plugins (the real openai plugin, used by the
 * profile, and a plugin that no profile uses): once present but not in the
 * application's dependencies, once listed as dependencies. Timed: the
 * discovery step alone (`discoverPlugins`), and a fresh instance up to its
 * first provider (config, discovery, importing the plugin in use).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createAegis, discoverPlugins } from '@aegis/core';
import { REPO, tmpDir } from '../lib/clients.mjs';
import { interleave, summarize } from '../lib/stats.mjs';

/** The node_modules trees, kept between runs (and shared by concurrent ones): building one takes a while. */
const STORES = join(tmpdir(), `aegis-bench-stores-${createHash('sha256').update(REPO).digest('hex').slice(0, 12)}`);
const UNUSED = 'aegis-bench-unused-plugin';
const IMPORTED_FLAG = '__aegisBenchUnusedPluginImported';
const fakeName = (i) => `bench-unrelated-${String(i).padStart(4, '0')}`;

function writeJson(file, value) {
  writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
}

/** node_modules with `n` unrelated packages, the openai plugin (a link to the workspace's) and an unused plugin. */
function store(n) {
  const ready = join(STORES, `store-${n}`);
  if (existsSync(join(ready, 'node_modules', '.complete'))) return join(ready, 'node_modules');
  // Built aside, then renamed into place: a concurrent run sees a whole store or none.
  const building = join(STORES, `.build-${process.pid}-${n}`);
  rmSync(building, { recursive: true, force: true });
  const dir = join(building, 'node_modules');
  for (let i = 0; i < n; i++) {
    const pkg = join(dir, fakeName(i));
    mkdirSync(pkg, { recursive: true });
    writeJson(join(pkg, 'package.json'), { name: fakeName(i), version: '1.0.0', main: 'index.js', keywords: ['unrelated'] });
    writeFileSync(join(pkg, 'index.js'), 'module.exports = {};\n');
  }
  mkdirSync(join(dir, '@aegis'), { recursive: true });
  symlinkSync(join(REPO, 'plugins/openai'), join(dir, '@aegis/provider-openai'), 'dir');
  const unused = join(dir, UNUSED);
  mkdirSync(unused, { recursive: true });
  writeJson(join(unused, 'package.json'), {
    name: UNUSED,
    version: '1.0.0',
    type: 'module',
    main: 'index.js',
    keywords: ['aegis-provider'],
    aegis: { apiVersion: 1, providers: ['bench_unused'] },
  });
  writeFileSync(join(unused, 'index.js'), `globalThis.${IMPORTED_FLAG} = true;\nexport default undefined;\n`);
  writeFileSync(join(dir, '.complete'), '');
  try {
    renameSync(building, ready);
  } catch {
    rmSync(building, { recursive: true, force: true }); // another run was first
  }
  return join(ready, 'node_modules');
}

/** An application: its package.json, its backends.yaml, its node_modules (a link to a store). */
function app(n, listed) {
  const dir = join(tmpDir(), 'discovery', `app-${n}-${listed ? 'listed' : 'unlisted'}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const dependencies = { '@aegis/provider-openai': '^0.1.0', [UNUSED]: '^1.0.0' };
  if (listed) for (let i = 0; i < n; i++) dependencies[fakeName(i)] = '^1.0.0';
  writeJson(join(dir, 'package.json'), { name: `bench-app-${n}-${listed ? 'listed' : 'unlisted'}`, private: true, type: 'module', dependencies });
  writeFileSync(
    join(dir, 'backends.yaml'),
    ['profiles:', '  - profile_name: main', '    type: openai', '    base_url: http://127.0.0.1:9/v1', '    model: gpt-4o-mini', ''].join('\n'),
  );
  symlinkSync(store(n), join(dir, 'node_modules'), 'dir');
  return dir;
}

export async function discoveryBench({ settings }) {
  const { sizes, iterations, warmup } = settings.discovery;
  const apps = {};
  for (const n of sizes) {
    apps[`unlisted-${n}`] = app(n, false);
    if (n > 0) apps[`listed-${n}`] = app(n, true);
  }
  const found = {};
  const contenders = Object.fromEntries(
    Object.entries(apps).map(([name, dir]) => [
      name,
      async () => {
        const t0 = performance.now();
        const { sources } = discoverPlugins({ appRoot: dir });
        const t1 = performance.now();
        const aegis = createAegis({ cwd: dir, configPath: join(dir, 'backends.yaml'), env: {} });
        await aegis.getProviderForProfile('main');
        const t2 = performance.now();
        aegis.close();
        found[name] = sources.map((s) => s.name).sort();
        return { discovery: t1 - t0, provider: t2 - t1 };
      },
    ]),
  );
  const base = `unlisted-${sizes[0]}`;
  const result = await interleave({ subject: base, contenders, iterations, warmup });
  const ratio = (name, metric) => summarize(result.samples[name].map((s, i) => s[metric] / result.samples[base][i][metric]));
  const variants = {};
  for (const name of Object.keys(apps)) {
    variants[name] = {
      discovery: result.absolute[name].discovery,
      provider: result.absolute[name].provider,
      discoveryRatio: ratio(name, 'discovery'),
      providerRatio: ratio(name, 'provider'),
      plugins: found[name],
    };
  }
  return { base, iterations, variants, unusedPluginImported: globalThis[IMPORTED_FLAG] === true };
}
