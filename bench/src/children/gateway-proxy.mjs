/**
 * One proxy under test, in a process of its own (as deployed): `gateway`
 * (aegis serve's createGateway over one openai profile), `raw` (a minimal
 * node:http reverse proxy piping bytes, the floor), `minimal` (the least a
 * proxy that speaks the protocol does for a streamed chat: parse the request,
 * send a new upstream body, parse the answer's SSE events and write each
 * delta as a chunk of its own; no AEGIS code, validation, contract,
 * limits or scrubbing), `minimal-fat` (the same handler in a process that has
 * also loaded core, the plugin and the gateway and started a gateway, which
 * serves nothing: whether a large process alone is slower), or `core` (a bare
 * node:http server that streams a chat through @aegis/core and the openai
 * plugin with no gateway code: no validation, keys, limits, metrics, logs,
 * scrubbing or OpenAI chunk encoding; what the gateway's layer is measured on). Driven over IPC: its URL,
 * CPU and memory use, and a CPU profile of a phase (node:inspector).
 */
import http from 'node:http';
import { Session } from 'node:inspector/promises';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [mode, upstream] = process.argv.slice(2);
const upstreamUrl = new URL(upstream);
let server;

/** An AEGIS instance with one openai profile, `bench`, over the upstream (the `core` and `gateway` sides). */
async function benchAegis() {
  const { createAegis } = await import('@aegis/core');
  const openai = (await import('@aegis/provider-openai')).default;
  const dir = mkdtempSync(join(tmpdir(), 'aegis-bench-proxy-'));
  writeFileSync(
    join(dir, 'backends.yaml'),
    `profiles:\n  - profile_name: bench\n    type: openai\n    base_url: ${upstream}\n    api_key: \${BENCH_API_KEY}\n    model: gpt-4o-mini\n`,
  );
  // As `aegis serve` makes it: no bound on connections to the backend (backends.yaml's http.max_sockets may set one).
  return createAegis({ configPath: join(dir, 'backends.yaml'), plugins: [openai], discover: false, env: process.env, logLevel: 'error', httpDefaults: { maxSockets: Infinity } });
}

/** Listens on a free loopback port, keeping idle connections as long as the gateway does. */
function listenOnLoopback(httpServer) {
  httpServer.keepAliveTimeout = 65_000;
  return new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
}

if (mode === 'raw') {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });
  server = http.createServer((req, res) => {
    // The (small) request body is kept so a call whose reused upstream socket was just closed by
    // the backend can be sent again once, as any reverse proxy does (and as the gateway's retry does).
    const body = [];
    req.on('data', (chunk) => body.push(chunk));
    req.on('end', () => send(1));
    const send = (attempt) => {
      const proxied = http.request(
        { host: upstreamUrl.hostname, port: upstreamUrl.port, method: req.method, path: `/v1${req.url.replace(/^\/v1/, '')}`, headers: { ...req.headers, host: upstreamUrl.host, authorization: `Bearer ${process.env.BENCH_API_KEY}` }, agent },
        (upstreamRes) => {
          res.writeHead(upstreamRes.statusCode, upstreamRes.headers);
          upstreamRes.pipe(res);
        },
      );
      proxied.on('error', () => (attempt === 1 && !res.headersSent ? send(2) : res.destroy()));
      res.on('close', () => proxied.destroy());
      proxied.end(Buffer.concat(body));
    };
  });
  await listenOnLoopback(server);
} else if (mode === 'minimal' || mode === 'minimal-fat') {
  if (mode === 'minimal-fat') {
    // Loaded, configured and listening, as in the `gateway` side; never called.
    const { createGateway } = await import('@aegis/gateway');
    const idle = await createGateway(await benchAegis());
    await idle.listen({ port: 0, host: '127.0.0.1' });
  }
  // Streamed chats only (what gateway-floor.mjs sends). Like the gateway, the first delta is
  // written (and uncorked) on its own, the rest of an upstream read's deltas in one write.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1024 });
  server = http.createServer((req, res) => {
    const body = [];
    req.on('data', (chunk) => body.push(chunk));
    req.on('end', () => {
      const { messages } = JSON.parse(Buffer.concat(body).toString('utf8'));
      const out = JSON.stringify({ model: 'gpt-4o-mini', messages, stream: true, stream_options: { include_usage: true } });
      const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(out), authorization: `Bearer ${process.env.BENCH_API_KEY}` };
      const proxied = http.request({ host: upstreamUrl.hostname, port: upstreamUrl.port, method: 'POST', path: '/v1/chat/completions', headers, agent }, (upstream) => {
        upstream.setEncoding('utf8');
        let pending = '';
        upstream.on('data', (text) => {
          pending += text;
          let rest = '';
          for (let at = pending.indexOf('\n\n'); at >= 0; at = pending.indexOf('\n\n')) {
            const data = pending.slice(6, at);
            pending = pending.slice(at + 2);
            if (data === '[DONE]') continue;
            const content = JSON.parse(data).choices?.[0]?.delta?.content;
            if (!content) continue;
            const event = `data: {"choices":[{"delta":{"content":${JSON.stringify(content)}}}]}\n\n`;
            if (res.headersSent) rest += event;
            else {
              res.writeHead(200, { 'content-type': 'text/event-stream' });
              res.write(event);
              res.uncork();
            }
          }
          if (rest) res.write(rest);
        });
        upstream.on('end', () => res.end('data: [DONE]\n\n'));
      });
      proxied.on('error', () => res.destroy());
      res.on('close', () => proxied.destroy());
      proxied.end(out);
    });
  });
  await listenOnLoopback(server);
} else if (mode === 'core') {
  const provider = await (await benchAegis()).getProviderForProfile('bench');
  server = http.createServer((req, res) => {
    const body = [];
    req.on('data', (chunk) => body.push(chunk));
    req.on('end', async () => {
      const { messages } = JSON.parse(Buffer.concat(body).toString('utf8'));
      const controller = new AbortController();
      res.on('close', () => controller.abort());
      const events = provider.streamCompletion(messages, { signal: controller.signal }).events();
      try {
        let step = await events.next();
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        let first = true;
        for (; !step.done; step = await events.next()) {
          if (step.value.type !== 'text-delta') continue;
          res.write(`data: {"choices":[{"delta":{"content":${JSON.stringify(step.value.text)}}}]}\n\n`);
          if (first) res.uncork(); // as the gateway's first write
          first = false;
        }
        res.end('data: [DONE]\n\n');
      } catch {
        if (!res.headersSent) res.writeHead(502);
        res.end();
      }
    });
  });
  await listenOnLoopback(server);
} else {
  const { createGateway } = await import('@aegis/gateway');
  const aegis = await benchAegis();
  // As served: access log lines on stdout (discarded by the parent), metrics on.
  const gateway = await createGateway(aegis);
  await gateway.listen({ port: 0, host: '127.0.0.1' });
  server = gateway.server;
}

const session = new Session();
session.connect();

process.on('disconnect', () => process.exit(0));
process.on('message', async (msg) => {
  let value;
  if (msg.op === 'usage') value = { cpu: process.cpuUsage(), memory: process.memoryUsage() };
  else if (msg.op === 'gc') {
    globalThis.gc?.();
    value = process.memoryUsage();
  } else if (msg.op === 'profileStart') {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 100 });
    await session.post('Profiler.start');
  } else if (msg.op === 'profileStop') {
    const { profile } = await session.post('Profiler.stop');
    // BENCH_CPUPROFILE=<file>: the whole profile too (open it in Chrome's DevTools or speedscope).
    if (process.env.BENCH_CPUPROFILE) writeFileSync(process.env.BENCH_CPUPROFILE, JSON.stringify(profile));
    value = summarize(profile);
  }
  process.send({ id: msg.id, value });
});

process.send({ ready: true, url: `http://127.0.0.1:${server.address().port}` });

/** Self time per function and per area (gateway, core, plugin, libraries, Node internals, GC, idle). */
function summarize(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const deltas = profile.timeDeltas;
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (deltas[i] ?? 0)));
  const fns = new Map();
  const areas = new Map();
  let total = 0;
  for (const [id, us] of self) {
    const { callFrame } = byId.get(id);
    const area = areaOf(callFrame);
    if (area === 'idle') continue;
    total += us;
    const name = `${callFrame.functionName || '(anonymous)'} ${shortUrl(callFrame.url)}${callFrame.url ? `:${callFrame.lineNumber + 1}` : ''}`;
    fns.set(name, (fns.get(name) ?? 0) + us);
    areas.set(area, (areas.get(area) ?? 0) + us);
  }
  const top = (map, n) => [...map].sort((a, b) => b[1] - a[1]).slice(0, n).map(([name, us]) => ({ name, share: us / total }));
  return { busyMs: total / 1000, areas: top(areas, 12), functions: top(fns, 12) };
}

function areaOf({ url, functionName }) {
  if (functionName === '(idle)' || functionName === '(program)') return functionName === '(idle)' ? 'idle' : 'V8/native (program)';
  if (functionName === '(garbage collector)') return 'garbage collector';
  if (!url) return 'native';
  if (url.includes('/packages/gateway/')) return '@aegis/gateway';
  if (url.includes('/packages/core/')) return '@aegis/core (incl. bundled libraries)';
  if (url.includes('/plugins/')) return 'provider plugin';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  if (url.startsWith('node:')) return 'Node internals (http, net, streams)';
  return 'other';
}

function shortUrl(url) {
  return url.replace(/^file:\/\/.*?\/(packages|plugins|node_modules)\//, '$1/').replace(/^node:/, 'node:');
}
