/**
 * Resident memory of a fresh process (run with --expose-gc). BENCH_MODE=aegis:
 * import @aegis/core, build the provider of every profile of BENCH_CONFIG,
 * then BENCH_REQUESTS completions with BENCH_IN_FLIGHT at once, spread over
 * those providers. BENCH_MODE=got: the same requests with got alone.
 * Prints the memory after each step (after a full GC), in bytes.
 */
import http from 'node:http';
import { fileURLToPath } from 'node:url';

const { BENCH_MODE: mode, BENCH_CONFIG: configPath, BENCH_URL: baseUrl, BENCH_API_KEY: apiKey } = process.env;
const requests = Number(process.env.BENCH_REQUESTS);
const inFlight = Number(process.env.BENCH_IN_FLIGHT);
const repo = fileURLToPath(new URL('../../..', import.meta.url));

function snapshot() {
  for (let i = 0; i < 3; i++) globalThis.gc();
  const { rss, heapUsed, external } = process.memoryUsage();
  return { rss, heapUsed, external };
}

async function pool(count, width, fn) {
  let next = 0;
  const worker = async () => {
    while (next < count) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, count) }, worker));
}

const report = { start: snapshot() };
const messages = [{ role: 'user', content: 'Say hello to the benchmark.' }];
if (mode === 'aegis') {
  const { createAegis } = await import('@aegis/core');
  report.imported = snapshot();
  const aegis = createAegis({ configPath, cwd: repo, env: {} });
  const profiles = Array.from({ length: Number(process.env.BENCH_PROFILES) }, (_, i) => `p${i}`);
  const providers = await Promise.all(profiles.map((name) => aegis.getProviderForProfile(name)));
  report.providers = providers.length;
  report.afterProviders = snapshot();
  await pool(requests, inFlight, async (i) => {
    const { text } = await providers[i % providers.length].getCompletion(messages);
    if (!text) throw new Error('empty completion');
  });
  report.afterRequests = snapshot();
  aegis.close();
} else {
  const { default: got } = await import('got');
  report.imported = snapshot();
  report.afterProviders = report.imported;
  const agent = { http: new http.Agent({ keepAlive: true, maxSockets: 64 }) };
  const headers = { 'user-agent': 'aegis-providers', authorization: `Bearer ${apiKey}` };
  await pool(requests, inFlight, async () => {
    const answer = await got.post(`${baseUrl}/chat/completions`, { json: { model: 'gpt-4o-mini', messages }, agent, headers, retry: { limit: 0 } }).json();
    if (!answer.choices[0].message.content) throw new Error('empty completion');
  });
  report.afterRequests = snapshot();
  agent.http.destroy();
}
process.stdout.write(JSON.stringify(report) + '\n');
