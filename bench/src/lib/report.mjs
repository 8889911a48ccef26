/** Turns the results into table rows, the stdout table and bench/RESULTS.md. */
import os from 'node:os';

const ms = (x) => (x === undefined || !Number.isFinite(x) ? '—' : x >= 100 ? `${x.toFixed(0)} ms` : x >= 1 ? `${x.toFixed(2)} ms` : `${(x * 1000).toFixed(0)} µs`);
const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const x = (r) => `×${r.median.toFixed(3)} (p10 ${r.p10.toFixed(3)}, p90 ${r.p90.toFixed(3)})`;
const plusMs = (d) => `${d.median >= 0 ? '+' : ''}${d.median.toFixed(0)} ms (p10 ${d.p10.toFixed(0)}, p90 ${d.p90.toFixed(0)})`;
const verdict = (ok) => (ok ? 'PASS' : 'MISS');

/** @returns {{ id: string, measure: string, aegis: string, baseline: string, comparison: string, target: string, result: string }[]} */
export function rows(results, targets, { judge = true } = {}) {
  const out = [];
  // A quick run (the smoke test) has too few iterations to judge a target by.
  const add = (id, measure, aegis, baseline, comparison, target = '—', result = 'info') =>
    out.push({ id, measure, aegis, baseline, comparison, target, result: judge || result === 'info' ? result : 'not judged' });

  const c = results.completion;
  if (c) {
    const r = c.vsGot.ratios.got.total;
    add('1', 'completion: AEGIS vs bare got POST', ms(c.vsGot.absolute.aegis.total.median), ms(c.vsGot.absolute.got.total.median), x(r), `≤ ${targets.completion}`, verdict(r.median <= targets.completion));
    const o = c.vsClients.ratios.openai.total;
    add('2a', 'completion: AEGIS vs `openai` client', ms(c.vsClients.absolute.aegis.total.median), ms(c.vsClients.absolute.openai.total.median), x(o), '≤ 1 (no slower)', verdict(o.median <= 1));
    const a = c.vsClients.ratios.aiSdk.total;
    add('2b', 'completion: AEGIS vs AI SDK (`ai` + `@ai-sdk/openai`)', ms(c.vsClients.absolute.aegis.total.median), ms(c.vsClients.absolute.aiSdk.total.median), x(a), '≤ 1 (no slower)', verdict(a.median <= 1));
  }
  const s = results.streaming;
  if (s) {
    const n = s.deltas.toLocaleString('en-US');
    const { sse, ndjson } = s;
    const t = sse.ratios.got.total;
    add('3', `SSE stream (${n} deltas), total: AEGIS vs raw got + eventsource-parser`, ms(sse.absolute.aegis.total.median), ms(sse.absolute.got.total.median), x(t), `≤ ${targets.stream}`, verdict(t.median <= targets.stream));
    add('3', 'SSE stream, time to first delta: AEGIS vs raw got', ms(sse.absolute.aegis.ttfd.median), ms(sse.absolute.got.ttfd.median), x(sse.ratios.got.ttfd));
    add('3', 'SSE stream, total: AEGIS vs raw got + eventsource-parser handing deltas out as an async iterable', ms(sse.absolute.aegis.total.median), ms(sse.absolute.gotIterable.total.median), x(sse.ratios.gotIterable.total));
    add('3', 'SSE stream, total: AEGIS vs `openai` client stream', ms(sse.absolute.aegis.total.median), ms(sse.absolute.openai.total.median), x(sse.ratios.openai.total));
    add('3', 'SSE stream, time to first delta: AEGIS vs `openai` client', ms(sse.absolute.aegis.ttfd.median), ms(sse.absolute.openai.ttfd.median), x(sse.ratios.openai.ttfd));
    if (s.events) {
      const e = s.events;
      add('3', 'SSE stream, total: AEGIS read as typed events (`stream.events()`) vs AEGIS iterated for its text', ms(e.absolute.events.total.median), ms(e.absolute.aegis.total.median), x(e.ratios.aegis.total));
    }
    const u = ndjson.ratios.got.total;
    add('4', `Ollama NDJSON stream (${n} deltas), total: AEGIS vs raw got + line splitter`, ms(ndjson.absolute.aegis.total.median), ms(ndjson.absolute.got.total.median), x(u), `≤ ${targets.stream}`, verdict(u.median <= targets.stream));
    add('4', 'Ollama NDJSON stream, time to first delta: AEGIS vs raw got', ms(ndjson.absolute.aegis.ttfd.median), ms(ndjson.absolute.got.ttfd.median), x(ndjson.ratios.got.ttfd));
    add('4', 'Ollama NDJSON stream, total: AEGIS vs raw got + line splitter handing deltas out as an async iterable', ms(ndjson.absolute.aegis.total.median), ms(ndjson.absolute.gotIterable.total.median), x(ndjson.ratios.gotIterable.total));
  }
  const k = results.concurrency;
  if (k) {
    const r = k.ratios.got.throughput;
    const rps = (v) => `${v.median.toFixed(0)} req/s`;
    add('5', `${k.requests.toLocaleString('en-US')} requests, ${k.inFlight} in flight: throughput AEGIS vs raw got (keep-alive)`, rps(k.absolute.aegis.throughput), rps(k.absolute.got.throughput), x(r), `≥ ${targets.throughput}`, verdict(r.median >= targets.throughput));
  }
  const cs = results.coldStart;
  if (cs) {
    add('6', `\`aegis profiles\` (root backends.yaml, ${cs.profilesListed} profiles) vs \`node -e 0\``, ms(cs.cli.profiles.total.median), ms(cs.cli.node.total.median), plusMs(cs.profilesOverNode), `≤ +${targets.coldStartMs} ms`, verdict(cs.profilesOverNode.median <= targets.coldStartMs));
    add('6', '`aegis --version` (CLI without @aegis/core) vs `node -e 0`', ms(cs.cli.version.total.median), ms(cs.cli.node.total.median), plusMs(cs.versionOverNode));
    add('6', 'importing the libraries `aegis profiles` needs (zod, yaml, tsyringe, reflect-metadata, dotenv, fastest-levenshtein, commander) from node_modules, unbundled, vs `node -e 0`', ms(cs.cli.libraries.total.median), ms(cs.cli.node.total.median), plusMs(cs.librariesOverNode));
    add('6', 'importing @aegis/core as it ships (one bundled file, those libraries inside but commander) vs `node -e 0`', ms(cs.cli.core.total.median), ms(cs.cli.node.total.median), plusMs(cs.coreOverNode));
    const f = cs.firstCompletion;
    add('6', 'first completion in a fresh process (wall, spawn to exit) vs `node -e 0`', ms(f.total.median), ms(cs.cli.node.total.median), plusMs(cs.firstOverNode));
    add('6', 'first completion: import @aegis/core / discovery+config+provider / the call', `${ms(f.importCore.median)} / ${ms(f.provider.median)} / ${ms(f.call.median)}`, '—', `done ${ms(f.inProcess.median)} after process start`);
  }
  const d = results.discovery;
  if (d) {
    const base = d.variants[d.base];
    for (const [name, v] of Object.entries(d.variants)) {
      if (name === d.base) {
        add('7', `discovery, ${name.replace('unlisted-', '')} unrelated packages (base)`, `${ms(v.discovery.median)} / ${ms(v.provider.median)}`, '—', `found: ${v.plugins.join(', ')}`);
        continue;
      }
      const [kind, n] = name.split('-');
      const listed = kind === 'listed';
      const label = listed ? `${n} unrelated packages listed as dependencies` : `${n} unrelated packages present, not dependencies`;
      const comparison = `discovery ${x(v.discoveryRatio)}; to provider ${x(v.providerRatio)}`;
      if (listed) {
        const perPkg = ((v.discovery.median - base.discovery.median) / Number(n)) * 1000;
        add('7', `discovery, ${label}`, `${ms(v.discovery.median)} / ${ms(v.provider.median)}`, `${ms(base.discovery.median)} / ${ms(base.provider.median)}`, `${comparison}; ${perPkg.toFixed(1)} µs per listed package`, 'reads their manifests', 'info');
      } else {
        const ok = v.discoveryRatio.median <= targets.discoveryFlat && v.providerRatio.median <= targets.discoveryFlat;
        add('7', `discovery, ${label}`, `${ms(v.discovery.median)} / ${ms(v.provider.median)}`, `${ms(base.discovery.median)} / ${ms(base.provider.median)}`, comparison, `flat (≤ ×${targets.discoveryFlat})`, verdict(ok));
      }
    }
    add('7', 'discovery imports only the plugins in use (an installed, unused plugin is not imported)', d.unusedPluginImported ? 'imported' : 'not imported', '—', '—', 'not imported', verdict(!d.unusedPluginImported));
  }
  const m = results.memory;
  if (m) {
    const { aegis, got } = m;
    add('8', 'RSS: fresh process after importing (AEGIS: @aegis/core; baseline: got)', mb(aegis.imported.rss), mb(got.imported.rss), `+${mb(aegis.imported.rss - got.imported.rss)}`);
    add('8', `RSS after creating ${m.profiles} profiles' providers`, mb(aegis.afterProviders.rss), '—', `+${mb(aegis.afterProviders.rss - aegis.imported.rss)} over import (heap ${mb(aegis.afterProviders.heapUsed)})`);
    add('8', `RSS after ${m.requests.toLocaleString('en-US')} requests, ${m.inFlight} in flight`, mb(aegis.afterRequests.rss), mb(got.afterRequests.rss), `AEGIS +${mb(aegis.afterRequests.rss - aegis.afterProviders.rss)}, got +${mb(got.afterRequests.rss - got.imported.rss)} during the run (heap ${mb(aegis.afterRequests.heapUsed)} vs ${mb(got.afterRequests.heapUsed)})`);
  }
  const p = results.parsing;
  if (p) {
    const r = p.decode.ratios.textDecoder.total;
    add('9', `decoding the ${p.chunks.toLocaleString('en-US')} chunks of an SSE stream: string_decoder (core's readers) vs TextDecoder (stream: true)`, ms(p.decode.absolute.stringDecoder.total.median), ms(p.decode.absolute.textDecoder.total.median), x(r));
    const sizes = Object.keys(p.lines).map(Number);
    const perMb = sizes.map((mb) => p.lines[mb].median / mb);
    const growth = perMb.at(-1) / perMb[0];
    add(
      '9',
      `one NDJSON line of ${sizes.join(' / ')} MB in 64 KiB chunks through readNdjson`,
      sizes.map((mb) => ms(p.lines[mb].median)).join(' / '),
      '—',
      `${perMb.map((v) => ms(v)).join(' / ')} per MB; ×${growth.toFixed(2)} from the shortest to the longest`,
      `linear (per MB ×≤ ${targets.linePerMbGrowth})`,
      verdict(growth <= targets.linePerMbGrowth),
    );
  }
  return out;
}

const COLUMNS = [
  ['id', '#'],
  ['measure', 'Measure'],
  ['aegis', 'AEGIS (median)'],
  ['baseline', 'Baseline (median)'],
  ['comparison', 'Per-pair ratio / difference'],
  ['target', 'Target'],
  ['result', 'Result'],
];

/** A Markdown table, padded so it also reads well in a terminal. */
export function table(list) {
  const cells = [COLUMNS.map(([, title]) => title), ...list.map((r) => COLUMNS.map(([key]) => String(r[key]).replace(/\|/g, '\\|')))];
  const widths = COLUMNS.map((_, i) => Math.max(...cells.map((row) => row[i].length)));
  const line = (row) => `| ${row.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(cells[0]), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}

export function machine() {
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    node: process.version,
    v8: process.versions.v8,
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    memory: `${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB`,
  };
}

export function resultsMarkdown({ env, list, settings, libraries, versions, findings, quick }) {
  const misses = list.filter((r) => r.result === 'MISS');
  return [
    '# AEGIS benchmark results',
    '',
    `Generated by \`npm run bench\`${quick ? ' in **quick mode** (too few iterations to mean anything)' : ''} on ${env.date}.`,
    '',
    `- Node ${env.node} (V8 ${env.v8}), ${env.platform}`,
    `- CPU: ${env.cpu}, ${env.cores} cores, ${env.memory} RAM`,
    `- Compared with: got ${libraries.got} and eventsource-parser ${libraries['eventsource-parser']} (the copies @aegis/core depends on and bundles), openai ${versions.openai}, ai ${versions.ai} with @ai-sdk/openai ${versions['@ai-sdk/openai']}`,
    `- Iterations (after warm-up): completion ${settings.completion.iterations} (${settings.completion.warmup} warm-up), clients ${settings.clients.iterations}, streams ${settings.streaming.iterations}, concurrency ${settings.concurrency.rounds} rounds, cold start ${settings.coldStart.runs} spawns each, discovery ${settings.discovery.iterations}`,
    '',
    'Every comparison runs all its sides in the same process, against the same loopback emulator (@aegis/testkit,',
    'in a child process of its own, as a real backend would be), interleaved: each iteration runs every side once,',
    'cycling through all their orders (A B, B A, ...), after a warm-up. A ratio is AEGIS / baseline computed per',
    'iteration, then the median (p10, p90) of those per-pair ratios; times are the medians of each side. Below 1',
    'means AEGIS was faster (for throughput: above 1). The other clients send exactly the request body AEGIS sent;',
    'the raw baselines use the same keep-alive agent settings, and the same copies of got and eventsource-parser',
    '(checked at start). Cold start spawns fresh processes, alternating the same way.',
    '',
    table(list),
    '',
    quick ? 'Quick run: targets not judged.' : misses.length === 0 ? 'All targets met.' : `Targets missed: ${misses.map((r) => `${r.id} (${r.measure})`).join('; ')}.`,
    '',
    '## Findings',
    '',
    findings.trim(),
    '',
  ].join('\n');
}
