/**
 * 6: cold start. `aegis profiles` on the root backends.yaml vs `node -e 0`
 * (and `aegis --version`, the CLI without @aegis/core), spawned alternately;
 * then the time to a first completion in a fresh process.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { REPO } from '../lib/clients.mjs';
import { interleave, summarize } from '../lib/stats.mjs';

const CLI = join(REPO, 'packages/cli/dist/bundle/bin.js');
const LIBRARIES = [
  "await import('reflect-metadata');",
  "await Promise.all(['zod', 'yaml', 'tsyringe', 'dotenv', 'fastest-levenshtein', 'commander'].map((m) => import(m)));",
].join(' ');
const FIRST_COMPLETION = fileURLToPath(new URL('../children/first-completion.mjs', import.meta.url));

/** The environment of a user's shell: no bench or test settings leaking in. */
export function cleanEnv(extra = {}) {
  const env = { ...process.env, ...extra };
  for (const key of ['NODE_OPTIONS', 'AEGIS_BACKENDS', 'AEGIS_LOG_LEVEL', 'BENCH_QUICK']) delete env[key];
  // The root openai profile needs a key to be usable; any value will do.
  env.OPENAI_API_KEY ??= 'sk-bench-cold-start';
  return env;
}

/** Spawns node with args; resolves with the wall time from spawn to exit, and the output. */
export function spawnTimed(args, { cwd = REPO, env = cleanEnv() } = {}) {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => {
      const total = performance.now() - start;
      if (code !== 0) reject(new Error(`node ${args.join(' ')} exited with ${code}: ${stderr}`));
      else resolve({ total, stdout, stderr });
    });
  });
}

export async function coldStartBench({ backends, settings }) {
  const { runs, warmup } = settings.coldStart;
  const only = async (args) => ({ total: (await spawnTimed(args)).total });
  const cli = await interleave({
    subject: 'profiles',
    contenders: {
      profiles: () => only([CLI, 'profiles']),
      node: () => only(['-e', '0']),
      version: () => only([CLI, '--version']),
      // The libraries `aegis profiles` cannot do without, imported from node_modules one by one.
      libraries: () => only(['--input-type=module', '-e', LIBRARIES]),
      // @aegis/core as it ships: one bundled file with those libraries inside (scripts/bundle.mjs).
      core: () => only(['--input-type=module', '-e', "await import('@aegis/core');"]),
    },
    iterations: runs,
    warmup,
  });
  const diff = (a, b) => summarize(cli.samples[a].map((s, i) => s.total - cli.samples[b][i].total));
  const check = await spawnTimed([CLI, 'profiles']);
  const profilesListed = check.stdout.trim().split('\n').length - 1;

  // A first completion in a fresh process: import @aegis/core, discover the plugins of the
  // repository, load the root backends.yaml, build the `ollama` provider, one call.
  await backends.setReply('ollama', {});
  const env = cleanEnv({ OLLAMA_BASE_URL: backends.ollama.url });
  const first = await interleave({
    subject: 'first',
    contenders: {
      first: async () => {
        const { total, stdout } = await spawnTimed([FIRST_COMPLETION], { env });
        const report = JSON.parse(stdout);
        return { total, inProcess: report.completedAt, importCore: report.importCore, provider: report.provider, call: report.call };
      },
      node: async () => {
        const { total } = await spawnTimed(['-e', '0'], { env });
        return { total, inProcess: 0, importCore: 0, provider: 0, call: 0 };
      },
    },
    iterations: settings.firstCompletion.runs,
    warmup: 1,
  });
  return {
    runs,
    profilesListed,
    cli: cli.absolute,
    profilesOverNode: diff('profiles', 'node'),
    versionOverNode: diff('version', 'node'),
    librariesOverNode: diff('libraries', 'node'),
    coreOverNode: diff('core', 'node'),
    firstCompletion: first.absolute.first,
    firstOverNode: summarize(first.samples.first.map((s, i) => s.total - first.samples.node[i].total)),
  };
}
