#!/usr/bin/env node
/**
 * Where the gateway's time to first delta goes, in five sides:
 * the raw proxy (bytes piped), `minimal` (the least a proxy that speaks the
 * protocol does: parse, re-send, parse the SSE events, re-encode each delta;
 * no AEGIS code), `minimal-fat` (the same code in a process that has also
 * loaded and started a gateway, which serves nothing), `core` (a bare
 * node:http server streaming the chat through @aegis/core and the openai
 * plugin, with no gateway code), and the gateway. Prints each side's median
 * time to first delta and its ratio to the raw proxy's: `minimal` over `raw`
 * is what speaking the protocol costs at the least, `minimal-fat` over
 * `minimal` what a large process costs by itself, `core` over `raw` what core
 * and the plugin cost a streamed call, `gateway` over `core` what the
 * gateway's own layer adds.
 *
 * Measured twice: interleaved call by call (as bench/src/gateway.mjs does: each
 * side runs cold, the others having run since its last call), and in blocks
 * of 200 calls per side (each side warm, its calls back to back). Whether the
 * gap is only the cold code path shows in the second.
 *
 * `--pin` runs every proxy on the machine's last CPU and the client and the
 * emulator on the others (taskset, every thread), as a gateway deployed on
 * cores of its own: what the proxies do after their first write then cannot
 * take a CPU from the client reading it.
 *
 *   node bench/src/gateway-floor.mjs [iterations] [--pin]   (after `npm run build`)
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { startBackends } from './lib/emulators.mjs';
import { agent, chatBody, post, startProxy } from './lib/gateway-sides.mjs';
import { blocks, interleave } from './lib/stats.mjs';

const { values: options, positionals } = parseArgs({ allowPositionals: true, options: { pin: { type: 'boolean', default: false } } });
const iterations = Number(positionals[0] ?? 600);
// 200 calls a block (fewer in a quick run with fewer iterations than that).
const BLOCK = Math.min(200, iterations);
const SIDES = ['raw', 'minimal', 'minimal-fat', 'core', 'gateway'];
const backends = await startBackends();
const sides = {};
try {
  await backends.setReply('openai', { chunks: Array.from({ length: 50 }, (_, i) => `w${i} `) });
  for (const mode of SIDES) sides[mode] = await startProxy(mode, backends.openai.baseUrl);
  if (options.pin) pin([backends.pid, process.pid], Object.values(sides).map((side) => side.pid));
  const model = { raw: 'gpt-4o-mini', minimal: 'gpt-4o-mini', 'minimal-fat': 'gpt-4o-mini', core: 'bench', gateway: 'bench' };
  const contenders = Object.fromEntries(
    Object.keys(sides).map((mode) => [mode, async () => ({ firstDelta: (await post(`${sides[mode].url}/v1/chat/completions`, chatBody(model[mode], true), { stream: true })).firstDelta })]),
  );
  const cold = await interleave({ subject: 'gateway', contenders, iterations, warmup: Math.ceil(iterations / 10) });
  report(`interleaved call by call (${iterations} calls each)`, cold);
  // As many kept samples per side as interleaved (a fifth of each block is its warm-up).
  const warm = await blocks({ contenders, rounds: Math.max(SIDES.length, Math.ceil(iterations / (BLOCK * 0.8))), size: BLOCK });
  report(`in blocks of ${BLOCK} calls per side (${warm.rounds} rounds)`, warm);
} finally {
  await Promise.all(Object.values(sides).map((side) => side.close()));
  await backends.close();
  agent.destroy();
}

/** The client and the emulator on every CPU but the last, the proxies on the last one (every thread of each process). */
function pin(loadPids, proxyPids) {
  const cpus = availableParallelism();
  if (cpus < 2) throw new Error(`--pin needs 2 CPUs or more; this machine has ${cpus}`);
  const set = (list, pids) => {
    for (const pid of pids) {
      try {
        execFileSync('taskset', ['-a', '-p', '-c', list, String(pid)], { stdio: 'ignore' });
      } catch (error) {
        throw new Error(`--pin: taskset failed (${error.code === 'ENOENT' ? 'not installed: it is in util-linux' : error.message})`);
      }
    }
  };
  set(`0-${cpus - 2}`, loadPids);
  set(String(cpus - 1), proxyPids);
  process.stdout.write(`pinned: the proxies on CPU ${cpus - 1}, the client and the emulator on CPU 0${cpus > 2 ? `-${cpus - 2}` : ''}\n`);
}

function report(how, result) {
  const median = (mode) => result.absolute[mode].firstDelta.median;
  const line = (mode) => `${mode.padEnd(11)} ${(median(mode) * 1000).toFixed(0).padStart(5)} µs  ×${(median(mode) / median('raw')).toFixed(3)} of raw`;
  process.stdout.write(`time to first delta (50 deltas), ${how}; medians\n${SIDES.map(line).join('\n')}\n`);
  process.stdout.write(`gateway's own layer: ×${(median('gateway') / median('core')).toFixed(3)} of core alone (+${((median('gateway') - median('core')) * 1000).toFixed(0)} µs)\n\n`);
}
