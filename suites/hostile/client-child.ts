/**
 * Run by hostile-backend.test.ts in a child process of its own (bundled from
 * these sources with esbuild), under a heap limit, so that an attack that
 * exhausts memory kills this process, not the test runner: one request of
 * core's HTTP client with its DEFAULT limits, read the way plugins read it.
 * Prints one JSON line: the outcome and the process's peak RSS.
 *
 *   node --max-old-space-size=N client-child.mjs <scenario> <url>
 */
import { HttpClient } from '../../packages/core/src/http/client.js';
import { readNdjson } from '../../packages/core/src/http/ndjson.js';
import { readSse } from '../../packages/core/src/http/sse.js';
import { ProviderError } from '../../packages/core/src/errors/provider-error.js';

const [scenario, url] = process.argv.slice(2) as [string, string];
const client = new HttpClient();
const SECRET_HEADERS = { authorization: 'Bearer child-secret', 'api-key': 'child-secret' };

async function attack(): Promise<number> {
  switch (scenario) {
    case 'sse': {
      let n = 0;
      for await (const _ of readSse((await client.postStream(url, {})).body)) n++;
      return n;
    }
    case 'ndjson': {
      let n = 0;
      for await (const _ of readNdjson((await client.postStream(url, {})).body, url)) n++;
      return n;
    }
    case 'json':
      await client.postJson(url, {});
      return 1;
    case 'redirect':
      await client.postJson(url, { prompt: 'private' }, { headers: SECRET_HEADERS });
      return 1;
    case 'redirect-cross-origin':
      await client.postJson(url, { prompt: 'private' }, { headers: SECRET_HEADERS, followRedirects: 'cross_origin' });
      return 1;
    default:
      throw new Error(`unknown scenario ${scenario}`);
  }
}

let outcome: Record<string, unknown>;
try {
  outcome = { ok: true, items: await attack() };
} catch (error) {
  outcome = ProviderError.isInstance(error)
    ? { ok: false, reason: error.reason, status: error.status, message: error.message }
    : { ok: false, untyped: String(error) };
}
client.destroy();
process.stdout.write(JSON.stringify({ ...outcome, maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024) }) + '\n');
