/** 5: 1,000 requests with 100 in flight, through a profile vs raw got with a keep-alive agent. */
import { aegisComplete, makeAegis, rawGot, writeBackendsYaml } from '../lib/clients.mjs';
import { interleave, pool } from '../lib/stats.mjs';

export async function concurrencyBench({ backends, settings }) {
  const { requests, inFlight, rounds, warmup } = settings.concurrency;
  await backends.setReply('openai', {});
  const aegis = makeAegis(writeBackendsYaml('concurrency', backends));
  const provider = await aegis.getProviderForProfile('openai');
  await aegisComplete(provider);
  const body = await backends.lastRequest('openai');
  const url = `${backends.openai.baseUrl}/chat/completions`;
  const raw = rawGot();
  // Throughput in requests per second; the runner's per-pair ratios are then AEGIS / raw throughput.
  const run = async (call) => ({ throughput: (requests / (await pool(requests, inFlight, call))) * 1000 });
  try {
    const result = await interleave({
      subject: 'aegis',
      contenders: { aegis: () => run(() => aegisComplete(provider)), got: () => run(() => raw.complete(url, body)) },
      iterations: rounds,
      warmup,
    });
    return { requests, inFlight, ...result };
  } finally {
    raw.destroy();
    aegis.close();
  }
}
