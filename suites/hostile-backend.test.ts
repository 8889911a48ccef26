/**
 * A hostile backend (security hardening items 1, 2, 8 and the base_url query
 * item), through real `backends.yaml` profiles and the real plugins, over
 * loopback: endless lines and events, gzip/deflate/br bombs on every read path
 * (streams, JSON answers, embeddings, audio, error bodies), a line far over
 * the limit that does end, endless streams, redirects that would carry the
 * profile's keys and the prompt to another origin or over cleartext.
 *
 * Sizes are scaled down with per-profile limits; the defaults are attacked in
 * a child process under a heap limit, whose peak RSS is checked (an attack
 * that exhausted memory kills the child, not this runner).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { buildSync } from 'esbuild';
import type { ChatMessage } from '@aegis/core';
import {
  CANARY,
  expectNoCanary,
  expectNoCanaryInCliOutputs,
  instance,
  providerError,
  removeTempProjects,
  runCli,
  streamError,
  type Instance,
} from './helpers.js';

const MiB = 1024 * 1024;
const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = join(HERE, '..');
/** 1 MiB of zeros gzipped (about 1 KiB); gzip members may follow one another, so this repeated is an endless bomb. */
const GZIP_MEMBER = gzipSync(Buffer.alloc(MiB));
const messages: ChatMessage[] = [{ role: 'user', content: 'a private prompt' }];

// ---- a hostile server ----------------------------------------------------------------------

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

interface Hostile {
  url: string;
  seen: Seen[];
  /** What the next requests get (default: a valid OpenAI chat answer). */
  handler?: Handler;
  /** Resolves with the bytes written once the connection of the last endless answer closed. */
  closed?: Promise<number>;
  close(): Promise<void>;
}

function listen(server: http.Server | https.Server, state: Omit<Hostile, 'url' | 'close'>, scheme: string): Promise<Hostile> {
  const sockets = new Set<Socket>();
  // Idle kept-alive connections stay open: a request reusing one just as Node's 5 s
  // keep-alive timeout closed it would meet a reset (suites/README.md, "Timing").
  server.keepAliveTimeout = 0;
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  // Idle kept-alive connections stay open (a request reusing one as Node's 5 s keep-alive timeout closes it meets a reset: suites/README.md, "Timing").
  server.keepAliveTimeout = 0;
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const hostile = state as Hostile;
      hostile.url = `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`;
      hostile.close = async () => {
        for (const s of sockets) s.destroy();
        await new Promise((r) => server.close(r));
      };
      resolve(hostile);
    }),
  );
}

async function startHostile(tls?: { key: Buffer; cert: Buffer }): Promise<Hostile> {
  const state: Omit<Hostile, 'url' | 'close'> = { seen: [] };
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      state.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      (state.handler ?? chatAnswer('from the hostile server'))(req, res);
    });
  };
  return tls ? listen(https.createServer(tls, onRequest), state, 'https') : listen(http.createServer(onRequest), state, 'http');
}

function chatAnswer(text: string): Handler {
  return (_req, res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({ id: 'x', object: 'chat.completion', model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }] }),
    );
}

/** An answer that never ends: `head`, then `piece` again and again as fast as the client reads, until it closes. */
function endless(server: Hostile, headers: http.OutgoingHttpHeaders, piece: Buffer, head?: Buffer, status = 200): void {
  let done!: (written: number) => void;
  server.closed = new Promise((r) => (done = r));
  server.handler = (_req, res) => {
    let written = 0;
    res.on('close', () => done(written));
    res.writeHead(status, headers);
    if (head) res.write(head);
    const pump = (): void => {
      while (!res.destroyed) {
        written += piece.length;
        if (!res.write(piece)) return void res.once('drain', pump);
      }
    };
    pump();
  };
}

/** A gzip bomb of `members` × 1 MiB of zeros (about `members` KiB on the wire), after `head`, then the end. */
function bomb(server: Hostile, headers: http.OutgoingHttpHeaders, members: number, head = '', status = 200): void {
  server.handler = (_req, res) => {
    res.writeHead(status, { ...headers, 'content-encoding': 'gzip' });
    res.write(gzipSync(head));
    let left = members;
    const pump = (): void => {
      while (left-- > 0 && !res.destroyed) if (!res.write(GZIP_MEMBER)) return void res.once('drain', pump);
      if (!res.destroyed) res.end();
    };
    pump();
  };
}

// ---- profiles ------------------------------------------------------------------------------

let evil: Hostile;
let other: Hostile;
let inst: Instance;

const SMALL = ['  max_retries: 0', '  max_line_bytes: 65536', '  max_response_bytes: 1048576', '  max_stream_bytes: 4194304'];
const KEYS = ['  headers:', '    api-key: ${AEGIS_CANARY}', '    x-api-key: ${AEGIS_CANARY}'];

function yaml(): string {
  const profile = (name: string, type: string, baseUrl: string, fields: string[]) =>
    [`- profile_name: ${name}`, `  type: ${type}`, `  base_url: ${baseUrl}`, ...fields].join('\n');
  return [
    profile('oa', 'openai', '${EVIL}/v1', ['  model: gpt-4o-mini', '  api_key: ${AEGIS_CANARY}', ...KEYS, ...SMALL]),
    // No field of the new policy: the default redirect policy applies.
    profile('oa_plain', 'openai', '${EVIL}/v1', ['  model: gpt-4o-mini', '  api_key: ${AEGIS_CANARY}', ...KEYS, '  max_retries: 0']),
    profile('ol', 'ollama', '${EVIL}', ['  model: llama3.2', '  api_key: ${AEGIS_CANARY}', ...SMALL]),
    profile('kc', 'koboldcpp', '${EVIL}', ['  password: ${AEGIS_CANARY}', ...SMALL]),
    profile('oa_cross', 'openai', '${EVIL}/v1', ['  model: gpt-4o-mini', '  api_key: ${AEGIS_CANARY}', ...KEYS, '  max_retries: 0', '  follow_redirects: cross_origin']),
    profile('azure', 'openai', '"${EVIL}/openai/deployments/gpt?api-version=2024-10-21"', ['  model: gpt-4o-mini', '  api_key: ${AEGIS_CANARY}', '  max_retries: 0']),
  ].join('\n') + '\n';
}

const provider = (name: string) => inst.aegis.getProviderForProfile(name);

beforeAll(async () => {
  evil = await startHostile();
  other = await startHostile();
  inst = instance(yaml(), { EVIL: evil.url });
});

afterAll(async () => {
  inst.aegis.close();
  await evil.close();
  await other.close();
  removeTempProjects();
});

beforeEach(() => {
  for (const s of [evil, other]) {
    s.seen.length = 0;
    s.handler = undefined;
    s.closed = undefined;
  }
});

// ---- item 1: unbounded reads ---------------------------------------------------------------

describe('unbounded reads end in response_too_large, the socket closed', () => {
  it('an SSE line that never ends: endless gzip members of zeros into an OpenAI stream', async () => {
    endless(evil, { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' }, GZIP_MEMBER, gzipSync('data: '));
    const { error } = await streamError((await provider('oa')).streamCompletion(messages));
    expect(error).toMatchObject({ reason: 'response_too_large', retryable: false, profile: 'oa' });
    expect(error.message).toContain('max_line_bytes');
    expect(await evil.closed).toBeGreaterThan(0);
    expectNoCanary(error.message);
  });

  it('a KoboldCpp SSE event of data lines that never gets its blank line', async () => {
    endless(evil, { 'content-type': 'text/event-stream' }, Buffer.from('data: {"token":"a"}\n'.repeat(50)));
    const { error } = await streamError((await provider('kc')).streamCompletion(messages));
    expect(error.reason).toBe('response_too_large');
    await evil.closed;
  });

  it('an Ollama NDJSON line far over the limit that does end (the 700 MB line, scaled: 16 MiB over 64 KiB) is typed, not "Invalid string length"', async () => {
    evil.handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.end(`{"message":{"role":"assistant","content":"${'x'.repeat(16 * MiB)}"},"done":false}\n`);
    };
    const { error } = await streamError((await provider('ol')).streamCompletion(messages));
    expect(error).toMatchObject({ reason: 'response_too_large', profile: 'ol' });
  });

  it('five gzip members of 1 GiB-equivalent (scaled: 64 × 1 MiB) into an Ollama stream of zeros', async () => {
    bomb(evil, { 'content-type': 'application/x-ndjson' }, 64, '{"message":{"content":"a"},"done":false}\n');
    const { error } = await streamError((await provider('ol')).streamCompletion(messages));
    expect(error.reason).toBe('response_too_large');
  });

  it('a stream of valid, empty events that never ends is stopped by max_stream_bytes', async () => {
    const event = 'data: {"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{}}]}\n\n';
    endless(evil, { 'content-type': 'text/event-stream' }, Buffer.from(event.repeat(100)));
    const { error } = await streamError((await provider('oa')).streamCompletion(messages));
    expect(error.reason).toBe('response_too_large');
    expect(error.message).toContain('max_stream_bytes');
    await evil.closed;
  });

  it.each([
    ['a chat answer', (p: Awaited<ReturnType<typeof provider>>) => p.getCompletion(messages)],
    ['an embeddings batch', (p: Awaited<ReturnType<typeof provider>>) => p.getEmbeddings(['a', 'b'])],
    ['speech audio', (p: Awaited<ReturnType<typeof provider>>) => p.getSpeech('hello')],
  ])('%s as an endless gzip bomb is stopped at max_response_bytes (decoded)', async (_what, call) => {
    endless(evil, { 'content-type': 'application/json', 'content-encoding': 'gzip' }, GZIP_MEMBER, gzipSync('{"data":"'));
    const e = await providerError(call(await provider('oa')));
    expect(e).toMatchObject({ reason: 'response_too_large', retryable: false, status: 200 });
    expect(e.message).toContain('max_response_bytes');
    expect(await evil.closed).toBeGreaterThan(0);
  });

  it('an error body as an endless gzip bomb gives the HTTP error from its first 64 KiB', async () => {
    endless(evil, { 'content-type': 'application/json', 'content-encoding': 'gzip' }, GZIP_MEMBER, gzipSync('{"error":{"message":"overloaded"'), 500);
    const e = await providerError((await provider('oa')).getCompletion(messages));
    expect(e).toMatchObject({ reason: 'http', status: 500 });
    await evil.closed;
  });
});

// ---- item 1: the DEFAULT limits, in a child process under a heap limit ---------------------

describe('the default limits hold against decoded bombs, RSS bounded (child process)', () => {
  let childJs: string;
  let tlsServer: Hostile;
  const certFile = join(HERE, 'hostile', 'loopback-test-cert.pem');

  beforeAll(async () => {
    // The child runs core's HTTP client from these sources, bundled (a stale dist/ cannot fool it).
    const dir = join(ROOT, 'node_modules', '.cache', 'aegis-suites');
    mkdirSync(dir, { recursive: true });
    childJs = join(dir, 'hostile-client-child.mjs');
    buildSync({
      entryPoints: [join(HERE, 'hostile', 'client-child.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      outfile: childJs,
      logLevel: 'error',
    });
    tlsServer = await startHostile({ key: readFileSync(join(HERE, 'hostile', 'loopback-test-key.pem')), cert: readFileSync(certFile) });
  });
  afterAll(() => tlsServer.close());

  /** Runs one attack in the child: its outcome and peak RSS. Killed (and so failed) if it outlives a generous bound. */
  function child(scenario: string, url: string, heapMiB: number): Promise<{ code: number | null; out: Record<string, unknown>; stderr: string }> {
    return new Promise((resolve, reject) => {
      const proc = spawn(process.execPath, [`--max-old-space-size=${heapMiB}`, childJs, scenario, url], {
        env: { ...process.env, NODE_OPTIONS: '', NODE_EXTRA_CA_CERTS: certFile },
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 120_000,
        killSignal: 'SIGKILL',
      });
      let stdout = '';
      let stderr = '';
      proc.stdout.on('data', (c) => (stdout += c));
      proc.stderr.on('data', (c) => (stderr += c));
      proc.on('error', reject);
      proc.on('close', (code) => {
        let out: Record<string, unknown> = {};
        try {
          out = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
        } catch {
          out = { unparsable: stdout.slice(0, 500) };
        }
        resolve({ code, out, stderr: stderr.slice(-2000) });
      });
    });
  }

  it('an SSE stream of endless gzip members of zeros (a line that never ends): 8 MiB line limit, RSS < 200 MiB', async () => {
    endless(evil, { 'content-type': 'text/event-stream', 'content-encoding': 'gzip' }, GZIP_MEMBER, gzipSync('data: '));
    const { code, out, stderr } = await child('sse', `${evil.url}/v1/chat/completions`, 128);
    expect({ code, stderr: code === 0 ? '' : stderr }).toEqual({ code: 0, stderr: '' });
    expect(out).toMatchObject({ ok: false, reason: 'response_too_large' });
    expect(out.message).toContain('8 MiB');
    expect(out.maxRssMiB).toBeLessThan(200);
    await evil.closed;
  });

  it('an NDJSON line that never ends (plain): 8 MiB line limit, RSS < 200 MiB', async () => {
    endless(evil, { 'content-type': 'application/x-ndjson' }, Buffer.alloc(64 * 1024, 0x78), Buffer.from('{"a":"'));
    const { code, out } = await child('ndjson', `${evil.url}/api/chat`, 128);
    expect(code).toBe(0);
    expect(out).toMatchObject({ ok: false, reason: 'response_too_large' });
    expect(out.maxRssMiB).toBeLessThan(200);
  });

  it('a JSON answer as an endless gzip bomb: 256 MiB body limit, RSS < 512 MiB', async () => {
    endless(evil, { 'content-type': 'application/json', 'content-encoding': 'gzip' }, GZIP_MEMBER, gzipSync('{"a":"'));
    const { code, out } = await child('json', `${evil.url}/v1/chat/completions`, 128);
    expect(code).toBe(0);
    expect(out).toMatchObject({ ok: false, reason: 'response_too_large' });
    expect(out.message).toContain('256 MiB');
    expect(out.maxRssMiB).toBeLessThan(512);
  });

  it('https → http on the same host is refused even with follow_redirects: cross_origin (the key would go in cleartext)', async () => {
    for (const scenario of ['redirect', 'redirect-cross-origin']) {
      tlsServer.handler = (_req, res) => res.writeHead(307, { location: `${evil.url}/v1/chat/completions` }).end();
      const { code, out } = await child(scenario, `${tlsServer.url}/v1/chat/completions`, 128);
      expect(code).toBe(0);
      expect(out).toMatchObject({ ok: false, reason: 'redirect', status: 307 });
      expect(out.message).toContain('downgrades https to http');
      expect(out.message).toContain(`${evil.url}/v1/chat/completions`);
    }
    expect(tlsServer.seen).toHaveLength(2);
    expect(tlsServer.seen[0]!.headers['api-key']).toBe('child-secret'); // it did reach the https server, encrypted
    expect(evil.seen).toHaveLength(0);
  });
});

// ---- item 2: redirects ---------------------------------------------------------------------

describe('redirects never carry the keys or the prompt to another origin', () => {
  it.each([302, 307])('a %i to another port: typed error naming the Location, nothing sent there, the CLI exits non-zero', async (status) => {
    evil.handler = (_req, res) => res.writeHead(status, { location: `${other.url}/collect?api_key=${CANARY}` }).end();
    const e = await providerError((await provider('oa_plain')).getCompletion(messages));
    expect(e).toMatchObject({ reason: 'redirect', retryable: false, status, profile: 'oa_plain' });
    expect(e.message).toContain(`${other.url}/collect`);
    expectNoCanary(e.message);
    expect(other.seen).toHaveLength(0);

    const run = await runCli(['complete', '-p', 'oa_plain', 'hello'], inst.dir, { EVIL: evil.url });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('redirect');
    expect(other.seen).toHaveLength(0);
  });

  it('follow_redirects: cross_origin follows a 302 as a GET with no configured header (api-key, x-api-key, authorization) and no body', async () => {
    evil.handler = (_req, res) => res.writeHead(302, { location: `${other.url}/elsewhere` }).end();
    other.handler = chatAnswer('from the other origin');
    const result = await (await provider('oa_cross')).getCompletion(messages);
    expect(result.text).toBe('from the other origin');
    const hop = other.seen[0]!;
    expect(hop).toMatchObject({ method: 'GET', body: '' });
    for (const name of ['authorization', 'api-key', 'x-api-key', 'content-type']) expect(hop.headers[name]).toBeUndefined();
    expectNoCanary(JSON.stringify(hop.headers), 'the headers sent to the other origin');
  });

  it('follow_redirects: cross_origin refuses a cross-origin 307 (it would re-send the prompt)', async () => {
    evil.handler = (_req, res) => res.writeHead(307, { location: `${other.url}/elsewhere` }).end();
    const e = await providerError((await provider('oa_cross')).getCompletion(messages));
    expect(e.reason).toBe('redirect');
    expect(other.seen).toHaveLength(0);
  });
});

// ---- low: base_url with a query string -------------------------------------------------------

it('a base_url with a query string gets the endpoint path in its path, the query kept (Azure api-version)', async () => {
  evil.handler = chatAnswer('azure says hi');
  const result = await (await provider('azure')).getCompletion(messages);
  expect(result.text).toBe('azure says hi');
  expect(evil.seen[0]!.url).toBe('/openai/deployments/gpt/chat/completions?api-version=2024-10-21');
});

it('no CLI output of this file carries the canary', () => {
  expectNoCanaryInCliOutputs();
});
