#!/usr/bin/env node
/**
 * `npm run bench:gateway`: the gateway (`aegis serve`) side by side with its
 * floors, in one run: the client calling the emulator directly, and a minimal
 * node:http reverse proxy piping bytes. Each proxy runs in a process of its
 * own; the emulator in another; the client here. Prints the figures and
 * writes them into bench/RESULTS.md, in the section between the gateway
 * markers. BENCH_QUICK=1: a few iterations, nothing written, targets not judged.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBackends } from './lib/emulators.mjs';
import { agent, chatBody, post, startProxy } from './lib/gateway-sides.mjs';
import { BENCH_DIR } from './lib/clients.mjs';
import { machine } from './lib/report.mjs';
import { interleave, median, pool, round } from './lib/stats.mjs';

const quick = process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true';
const S = quick
  ? { latency: { iterations: 10, warmup: 3 }, ttfd: { iterations: 6, warmup: 2 }, throughput: { requests: 300, rounds: 1 }, streams: 100, deltas: 20 }
  : { latency: { iterations: 1500, warmup: 150 }, ttfd: { iterations: 1500, warmup: 150 }, throughput: { requests: 2000, rounds: 4 }, streams: 1000, deltas: 50 };
export const GATEWAY_TARGETS = { addedLatency: 2, firstDelta: 1.2, throughput: 0.5 };
const START = '<!-- gateway-bench:start -->';
const END = '<!-- gateway-bench:end -->';

async function main() {
  const env = machine();
  process.stderr.write(`AEGIS gateway bench${quick ? ' (quick)' : ''}: Node ${env.node}, ${env.cpu} × ${env.cores}\n`);
  const backends = await startBackends();
  const [raw, gateway] = await Promise.all([startProxy('raw', backends.openai.baseUrl), startProxy('gateway', backends.openai.baseUrl)]);
  const targets = {
    direct: { url: `${backends.openai.url}/v1/chat/completions`, model: 'gpt-4o-mini' },
    proxy: { url: `${raw.url}/v1/chat/completions`, model: 'gpt-4o-mini' },
    gateway: { url: `${gateway.url}/v1/chat/completions`, model: 'bench' },
  };
  const rows = [];
  try {
    // 1. Non-streamed latency, interleaved.
    process.stderr.write('  latency ...\n');
    await backends.setReply('openai', { text: 'Hello! This is a short answer of a few words.', promptTokens: 9, completionTokens: 11 });
    const contenders = (stream) =>
      Object.fromEntries(
        Object.entries(targets).map(([name, t]) => [
          name,
          async () => {
            const r = await post(t.url, chatBody(t.model, stream), { stream });
            return stream ? { firstDelta: r.firstDelta, total: r.total } : { total: r.total };
          },
        ]),
      );
    const latency = await interleave({ subject: 'gateway', contenders: contenders(false), ...S.latency });
    const med = (side, m = 'total') => latency.absolute[side][m].median;
    const addedProxy = med('proxy') - med('direct');
    const addedGateway = med('gateway') - med('direct');
    rows.push({
      measure: 'non-streamed call: added median latency, gateway vs raw proxy (over the client → emulator floor)',
      gateway: ms(addedGateway),
      baseline: ms(addedProxy),
      comparison: `×${round(addedGateway / addedProxy, 3)} (medians: direct ${ms(med('direct'))}, proxy ${ms(med('proxy'))}, gateway ${ms(med('gateway'))})`,
      target: `≤ ${GATEWAY_TARGETS.addedLatency}`,
      ok: addedGateway / addedProxy <= GATEWAY_TARGETS.addedLatency,
    });

    // 2. Streamed time to first delta.
    process.stderr.write('  first delta ...\n');
    await backends.setReply('openai', { chunks: Array.from({ length: S.deltas }, (_, i) => `w${i} `) });
    const ttfd = await interleave({ subject: 'gateway', contenders: contenders(true), ...S.ttfd });
    const first = (side) => ttfd.absolute[side].firstDelta.median;
    rows.push({
      measure: `stream (${S.deltas} deltas): time to first delta, gateway vs raw proxy`,
      gateway: ms(first('gateway')),
      baseline: ms(first('proxy')),
      comparison: `×${round(first('gateway') / first('proxy'), 3)} (per-pair ×${round(ttfd.ratios.proxy.firstDelta.median, 3)}; direct ${ms(first('direct'))})`,
      target: `≤ ${GATEWAY_TARGETS.firstDelta}`,
      ok: first('gateway') / first('proxy') <= GATEWAY_TARGETS.firstDelta,
    });
    rows.push({
      measure: `stream (${S.deltas} deltas): whole stream, gateway vs raw proxy`,
      gateway: ms(ttfd.absolute.gateway.total.median),
      baseline: ms(ttfd.absolute.proxy.total.median),
      comparison: `×${round(ttfd.ratios.proxy.total.median, 3)} per pair (direct ${ms(ttfd.absolute.direct.total.median)})`,
      target: '—',
    });

    // 3. Throughput at 256 in flight, and CPU per call in each proxy.
    process.stderr.write('  throughput ...\n');
    await backends.setReply('openai', { text: 'Hello! This is a short answer of a few words.', promptTokens: 9, completionTokens: 11 });
    const rates = { proxy: [], gateway: [] };
    const cpu = { proxy: 0, gateway: 0 };
    let calls = 0;
    for (let round_ = 0; round_ < S.throughput.rounds; round_++) {
      for (const side of round_ % 2 ? ['gateway', 'proxy'] : ['proxy', 'gateway']) {
        const proc = side === 'proxy' ? raw : gateway;
        const before = (await proc.usage()).cpu;
        const elapsed = await pool(S.throughput.requests, 256, () => post(targets[side].url, chatBody(targets[side].model, false)));
        const after = (await proc.usage()).cpu;
        cpu[side] += after.user + after.system - before.user - before.system;
        rates[side].push((S.throughput.requests / elapsed) * 1000);
      }
      calls += S.throughput.requests;
    }
    const rate = (side) => median(rates[side]);
    rows.push({
      measure: 'throughput, 256 concurrent non-streamed calls: gateway vs raw proxy',
      gateway: `${Math.round(rate('gateway'))} req/s`,
      baseline: `${Math.round(rate('proxy'))} req/s`,
      comparison: `×${round(rate('gateway') / rate('proxy'), 3)} (${S.throughput.rounds} rounds of ${S.throughput.requests})`,
      target: `≥ ${GATEWAY_TARGETS.throughput}`,
      ok: rate('gateway') / rate('proxy') >= GATEWAY_TARGETS.throughput,
    });
    rows.push({
      measure: 'CPU per non-streamed call in the proxy process (user + system)',
      gateway: `${Math.round(cpu.gateway / calls)} µs`,
      baseline: `${Math.round(cpu.proxy / calls)} µs`,
      comparison: `×${round(cpu.gateway / cpu.proxy, 2)}`,
      target: '—',
    });

    // 4. Where the gateway's CPU goes, on the same load.
    process.stderr.write('  profile ...\n');
    await gateway.profileStart();
    await pool(S.throughput.requests, 256, () => post(targets.gateway.url, chatBody('bench', false)));
    const profile = await gateway.profileStop();

    // 5. Concurrent streams: memory bounded, nothing lost.
    process.stderr.write(`  ${S.streams} concurrent streams ...\n`);
    await backends.setReply('openai', { chunks: Array.from({ length: S.deltas }, (_, i) => `w${i} `) });
    const expected = Array.from({ length: S.deltas }, (_, i) => `w${i} `).join('');
    const memory = {};
    for (const side of ['proxy', 'gateway']) {
      const proc = side === 'proxy' ? raw : gateway;
      const base = await proc.gc();
      let peak = base.rss;
      const sampler = setInterval(() => proc.usage().then((u) => (peak = Math.max(peak, u.memory.rss))), 20);
      const started = performance.now();
      let results;
      try {
        results = await Promise.all(Array.from({ length: S.streams }, () => post(targets[side].url, chatBody(targets[side].model, true), { stream: true })));
      } finally {
        clearInterval(sampler);
      }
      const elapsed = performance.now() - started;
      const after = await proc.gc();
      const complete = results.filter((r) => textOf(r.text) === expected && r.text.trimEnd().endsWith('data: [DONE]')).length;
      memory[side] = { base: base.rss, peak, after: after.rss, complete, elapsed };
    }
    const mb = (b) => `${(b / 1024 / 1024).toFixed(1)} MB`;
    rows.push({
      measure: `${S.streams} concurrent streams (${S.deltas} deltas each): complete and intact`,
      gateway: `${memory.gateway.complete} / ${S.streams}`,
      baseline: `${memory.proxy.complete} / ${S.streams}`,
      comparison: `gateway ${ms(memory.gateway.elapsed)}, proxy ${ms(memory.proxy.elapsed)} for all`,
      target: 'all',
      ok: memory.gateway.complete === S.streams,
    });
    const perStream = (memory.gateway.peak - memory.gateway.base) / S.streams;
    rows.push({
      measure: `${S.streams} concurrent streams: gateway process RSS before / peak / after (GC)`,
      gateway: `${mb(memory.gateway.base)} / ${mb(memory.gateway.peak)} / ${mb(memory.gateway.after)}`,
      baseline: `${mb(memory.proxy.base)} / ${mb(memory.proxy.peak)} / ${mb(memory.proxy.after)}`,
      comparison: `peak +${(perStream / 1024).toFixed(1)} KB per open stream; after −peak ${mb(memory.gateway.peak - memory.gateway.after)}`,
      target: '≤ 256 KB per stream',
      ok: perStream <= 256 * 1024,
    });

    report({ env, rows, profile });
  } finally {
    await Promise.all([raw.close(), gateway.close()]);
    await backends.close();
    agent.destroy();
  }
}

function textOf(sse) {
  let out = '';
  for (const line of sse.split('\n')) {
    if (!line.startsWith('data: {')) continue;
    const delta = JSON.parse(line.slice(6)).choices?.[0]?.delta?.content;
    if (delta) out += delta;
  }
  return out;
}

function ms(x) {
  return x >= 1 ? `${x.toFixed(2)} ms` : `${Math.round(x * 1000)} µs`;
}

function report({ env, rows, profile }) {
  const judged = rows.map((r) => ({ ...r, result: r.ok === undefined || quick ? 'info' : r.ok ? 'PASS' : 'MISS' }));
  const header = ['Measure', 'Gateway', 'Floor / raw proxy', 'Comparison', 'Target', 'Result'];
  const lines = [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...judged.map((r) => `| ${[r.measure, r.gateway, r.baseline, r.comparison, r.target, r.result].join(' | ')} |`),
  ];
  const profileLines = [
    `Where the gateway process's CPU goes on the throughput load (${profile.busyMs.toFixed(0)} ms busy, sampled every 100 µs; self time):`,
    '',
    '| Area | Share |',
    '|---|---|',
    ...profile.areas.map((a) => `| ${a.name} | ${(a.share * 100).toFixed(1)} % |`),
    '',
    '| Function (self time) | Share |',
    '|---|---|',
    ...profile.functions.map((f) => `| \`${f.name.replace(/\|/g, '\\|')}\` | ${(f.share * 100).toFixed(1)} % |`),
  ];
  const misses = judged.filter((r) => r.result === 'MISS');
  const verdict = quick ? 'Quick run: targets not judged.' : misses.length === 0 ? 'All gateway targets met.' : `Gateway targets missed: ${misses.map((r) => r.measure).join('; ')}`;
  process.stdout.write(`\n${lines.join('\n')}\n\n${profileLines.join('\n')}\n\n${verdict}\n`);
  const out = process.env.BENCH_OUT ?? (quick ? '-' : join(BENCH_DIR, 'RESULTS.md'));
  if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, JSON.stringify({ quick, env, rows: judged, profile }, null, 2));
  if (out === '-') return;
  const section = [
    START,
    '## Gateway (`aegis serve`)',
    '',
    `Generated by \`npm run bench:gateway\` on ${new Date().toISOString()} (Node ${env.node}, ${env.cpu} × ${env.cores}).`,
    '',
    'One run, side by side: the client (node:http, keep-alive) calling the OpenAI emulator directly, through a minimal',
    'node:http reverse proxy piping bytes, and through the gateway (one `openai` profile, access log and metrics on), each',
    'proxy in a process of its own and the emulator in another. Latencies are interleaved per iteration (every order in',
    `turn); ${S.latency.iterations} non-streamed calls, ${S.ttfd.iterations} streams, throughput ${S.throughput.rounds} rounds of ${S.throughput.requests} calls per side.`,
    '',
    ...lines,
    '',
    ...profileLines,
    '',
    verdict,
    '',
    readFileSync(new URL('./gateway-findings.md', import.meta.url), 'utf8').trim(),
    END,
  ].join('\n');
  let current = '';
  try {
    current = readFileSync(out, 'utf8');
  } catch {
    /* a new file */
  }
  const start = current.indexOf(START);
  const end = current.indexOf(END);
  const next = start >= 0 && end > start ? current.slice(0, start) + section + current.slice(end + END.length) : `${current.trimEnd()}\n\n${section}\n`;
  writeFileSync(out, next);
  process.stderr.write(`wrote the gateway section of ${out}\n`);
}

main().catch((error) => {
  process.stderr.write(`\ngateway bench failed: ${error?.stack ?? error}\n`);
  process.exitCode = 1;
});
