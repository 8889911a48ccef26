#!/usr/bin/env node
/**
 * Profiles one proxy under the gateway bench's load, alone:
 *   node bench/src/gateway-profile.mjs <gateway|raw> <complete|stream> [calls] [in flight]
 * (DELTAS=<n>: deltas per streamed answer, default 50)
 * Prints the self time per area and per function (as the bench's table), and
 * writes the whole V8 CPU profile to BENCH_CPUPROFILE (default
 * /tmp/aegis-<side>-<kind>.cpuprofile; open it in Chrome's DevTools or speedscope),
 * with the CPU time per call of the proxy process.
 */
import { startBackends } from './lib/emulators.mjs';
import { agent, chatBody, post, startProxy } from './lib/gateway-sides.mjs';
import { pool } from './lib/stats.mjs';

const [side = 'gateway', kind = 'complete', callsArg, inFlightArg] = process.argv.slice(2);
const calls = Number(callsArg ?? 4000);
const inFlight = Number(inFlightArg ?? (kind === 'stream' ? 1 : 256));
process.env.BENCH_CPUPROFILE ??= `/tmp/aegis-${side}-${kind}.cpuprofile`;
const stream = kind === 'stream';
const backends = await startBackends();
const proc = await startProxy(side, backends.openai.baseUrl);
const url = `${proc.url}/v1/chat/completions`;
const model = side === 'gateway' ? 'bench' : 'gpt-4o-mini';
try {
  if (stream) await backends.setReply('openai', { chunks: Array.from({ length: Number(process.env.DELTAS ?? 50) }, (_, i) => `w${i} `) });
  else await backends.setReply('openai', { text: 'Hello! This is a short answer of a few words.', promptTokens: 9, completionTokens: 11 });
  const call = () => post(url, chatBody(model, stream), { stream });
  await pool(Math.min(500, calls), inFlight, call); // warm-up
  const before = (await proc.usage()).cpu;
  await proc.profileStart();
  const elapsed = await pool(calls, inFlight, call);
  const profile = await proc.profileStop();
  const after = (await proc.usage()).cpu;
  const cpu = (after.user + after.system - before.user - before.system) / calls;
  process.stdout.write(`${side} ${kind}: ${calls} calls, ${inFlight} in flight, ${Math.round((calls / elapsed) * 1000)} calls/s, CPU ${Math.round(cpu)} µs a call (profiler on)\n`);
  for (const a of profile.areas) process.stdout.write(`  ${(a.share * 100).toFixed(1).padStart(5)} %  ${a.name}\n`);
  process.stdout.write('\n');
  for (const f of profile.functions) process.stdout.write(`  ${(f.share * 100).toFixed(1).padStart(5)} %  ${f.name}\n`);
  process.stdout.write(`\nprofile: ${process.env.BENCH_CPUPROFILE}\n`);
} finally {
  await proc.close();
  await backends.close();
  agent.destroy();
}
