/**
 * The `http:` section of backends.yaml: the connection pool every profile
 * shares, for those who run AEGIS without code (`aegis serve`). Checked on a
 * real loopback server that holds every stream open and counts the requests
 * that reach it: what a pool bound does is make a call wait for a connection.
 */
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { createAegis, type Aegis } from '../aegis.js';
import { BaseBackendConfig } from '../contract/base-config.js';
import { BackendProvider } from '../contract/provider.js';
import { definePlugin } from '../plugins/define-plugin.js';
import { ConfigurationError } from '../errors/configuration-error.js';
import type { HttpResponse } from '../http/client.js';
import { listenOnLoopback, type Loopback } from '../__tests__/loopback.js';
import { readHttpSection } from './http-section.js';
import { readSection } from './sections.js';
import { parseYamlSource, readStructure } from './yaml-source.js';

const ProbeConfig = BaseBackendConfig.extend({ type: z.literal('pool-probe'), base_url: z.string() });

/** A provider that opens a stream on its backend and leaves it open: what a long answer does to its connection. */
class PoolProbe extends BackendProvider<z.output<typeof ProbeConfig>> {
  protected override async doCompletion(): Promise<{ text: string; finishReason: 'stop' }> {
    return { text: '', finishReason: 'stop' };
  }
  open(): Promise<HttpResponse<AsyncIterable<Buffer>>> {
    return this.context.http.postStream(`${this.config.base_url}/hold`, {});
  }
}

const probe = definePlugin({
  apiVersion: 1,
  type: 'pool-probe',
  configSchema: ProbeConfig,
  capabilities: ['completion'],
  create: (config, context) => new PoolProbe(config, context),
});

let loopback: Loopback;
const held: http.ServerResponse[] = [];
let arrived = 0;
let onArrival: (() => void) | undefined;
const dir = mkdtempSync(join(tmpdir(), 'aegis-http-section-'));
let aegis: Aegis | undefined;

beforeAll(async () => {
  const server = http.createServer((req, res) => {
    req.resume();
    arrived++;
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: {}\n\n');
    held.push(res);
    onArrival?.();
  });
  loopback = await listenOnLoopback(server);
});
afterEach(() => {
  for (const res of held.splice(0)) res.end();
  aegis?.close();
  aegis = undefined;
  arrived = 0;
});
afterAll(async () => {
  await loopback.close();
  rmSync(dir, { recursive: true, force: true });
});

function instance(httpSection: string, options: Parameters<typeof createAegis>[0] = {}): Aegis {
  const file = join(dir, 'backends.yaml');
  writeFileSync(file, `${httpSection}profiles:\n  - profile_name: probe\n    type: pool-probe\n    base_url: ${loopback.base}\n`);
  aegis = createAegis({ configPath: file, plugins: [probe], discover: false, env: {}, ...options });
  return aegis;
}

/** Resolves once `n` requests in all have reached the server. */
function arrivals(n: number): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (arrived < n) return;
      onArrival = undefined;
      resolve();
    };
    onArrival = check;
    check();
  });
}

/** Ends the first held answer and reads its stream to the end: its connection goes back to the pool. */
async function finish(stream: Promise<HttpResponse<AsyncIterable<Buffer>>>): Promise<void> {
  const { body } = await stream;
  held[0]!.end();
  for await (const _chunk of body);
}

/** Opens one stream more than `bound`: it reaches the backend only once one of the others ended. */
async function expectBound(aegis: Aegis, bound: number): Promise<void> {
  const provider = (await aegis.getProviderForProfile('probe')) as PoolProbe;
  const streams = Array.from({ length: bound + 1 }, () => provider.open());
  await arrivals(bound);
  expect(arrived).toBe(bound); // the last one has no connection to go on
  await finish(streams[0]!);
  await arrivals(bound + 1);
  await Promise.all(streams);
}

describe('backends.yaml http:', () => {
  it('max_sockets: unlimited lets 70 streams to one backend run at once (the default pool of 64 would hold 6 back)', async () => {
    const provider = (await instance('http:\n  max_sockets: unlimited\n').getProviderForProfile('probe')) as PoolProbe;
    const streams = Array.from({ length: 70 }, () => provider.open());
    await arrivals(70);
    await Promise.all(streams);
  });

  it('max_sockets: 2 makes a third call wait for a connection, until a stream ends', async () => {
    await expectBound(instance('http:\n  max_sockets: 2\n'), 2);
  });

  it('options given in code come first', async () => {
    await expectBound(instance('http:\n  max_sockets: unlimited\n', { http: { maxSockets: 1 } }), 1);
  });

  it("an application's defaults (aegis serve: no bound) give way to the file's section", async () => {
    await expectBound(instance('http:\n  max_sockets: 1\n', { httpDefaults: { maxSockets: Number.POSITIVE_INFINITY } }), 1);
  });

  it('reads seconds as the idle timeout, unlimited as no bound', () => {
    const text = 'http:\n  max_sockets: unlimited\n  idle_socket_timeout: 2.5\nprofiles: []\n';
    const source = parseYamlSource(text, 'backends.yaml');
    const [entry] = readStructure(source).sections;
    expect(readHttpSection(readSection(source, entry!, { env: {}, envFileLabel: '.env' }))).toEqual({
      options: { maxSockets: Number.POSITIVE_INFINITY, freeSocketTimeoutMs: 2500 },
      issues: [],
    });
  });

  it('a bad value or an unknown field is reported once, with file:line, and no provider is built', async () => {
    const aegis = instance('http:\n  max_sockets: lots\n  idle_socket_timout: 3\n');
    const issues = await aegis.validate();
    expect(issues.map((i) => `${i.line} ${i.field}: ${i.message}`)).toEqual([
      '2 http.max_sockets: expected a number or "unlimited", got a string "lots"',
      '3 http.idle_socket_timout: unknown field "idle_socket_timout"; did you mean "idle_socket_timeout"?',
    ]);
    const error = await aegis.getProviderForProfile('probe').catch((e: unknown) => e);
    expect(ConfigurationError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/backends\.yaml:2:\d+: field "http\.max_sockets"/);
    expect(arrived).toBe(0);
  });
});
