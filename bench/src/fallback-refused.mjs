#!/usr/bin/env node
/**
 * `node bench/src/fallback-refused.mjs`: how long a `type: fallback` profile
 * of three members whose connections are refused (nothing listens on their
 * ports) takes to fail, each member keeping the default `max_retries: 2`.
 * Issue 10 §6's target: under 1 s (it took 12 s when members retried with
 * backoff). Prints the median and the worst of the runs, first call and
 * later calls (members cooling down) apart.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAegis } from '@aegis/core';
import ollamaPlugin from '@aegis/provider-ollama';
import routerPlugins from '@aegis/provider-router';

const RUNS = Number(process.env.RUNS ?? 20);
const TARGET_MS = 1000;

async function closedPort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const dir = mkdtempSync(join(tmpdir(), 'aegis-bench-fallback-'));
const ports = [await closedPort(), await closedPort(), await closedPort()];
const lines = ports.flatMap((port, i) => [`- profile_name: dead${i}`, '  type: ollama', `  base_url: http://127.0.0.1:${port}`, '  model: m']);
const profile = (name, extra = []) => [`- profile_name: ${name}`, '  type: fallback', '  profiles: [dead0, dead1, dead2]', ...extra.map((l) => `  ${l}`)];
writeFileSync(join(dir, 'backends.yaml'), [...lines, ...profile('local'), ...profile('local_no_cooldown', ['cooldown: 0'])].join('\n') + '\n');

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const messages = [{ role: 'user', content: 'hi' }];
const rows = [];
try {
  for (const name of ['local_no_cooldown', 'local']) {
    const times = [];
    for (let run = 0; run < RUNS; run++) {
      // A fresh instance per run: no cooldown carried over, a first call every time.
      const aegis = createAegis({ configPath: join(dir, 'backends.yaml'), plugins: [ollamaPlugin, ...routerPlugins], discover: false, env: {}, logLevel: 'silent' });
      const started = performance.now();
      await aegis.getCompletion(name, messages).then(
        () => {
          throw new Error('a member answered');
        },
        (error) => {
          // Only the failure measured here counts: every member tried once, each refused.
          const reasons = error.attempts?.map((a) => a.error?.reason);
          if (reasons?.join() !== 'connection,connection,connection') throw error;
        },
      );
      times.push(performance.now() - started);
      aegis.close();
    }
    rows.push({ profile: name, runs: RUNS, medianMs: median(times).toFixed(1), worstMs: Math.max(...times).toFixed(1) });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.table(rows);
const worst = Math.max(...rows.map((r) => Number(r.worstMs)));
console.log(`three refused members, each with max_retries: 2: worst ${worst.toFixed(1)} ms (target < ${TARGET_MS} ms): ${worst < TARGET_MS ? 'met' : 'NOT met'}`);
process.exitCode = worst < TARGET_MS ? 0 : 1;
