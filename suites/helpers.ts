/**
 * Shared machinery of the reliability suites: temporary projects (backends.yaml
 * plus a .env holding the canary secret), AEGIS instances built from real
 * profiles with the real plugins passed in code, the CLI run in-process, and
 * small assertion helpers.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createAegis, ProviderError, type Aegis, type AegisPlugin, type BackendProvider, type Logger } from '@aegis/core';
import { main } from '@aegis/cli';
import { startEmulator, type Emulator, type EmulatorOptions, drain } from '@aegis/testkit';
import koboldcpp from '@aegis/provider-koboldcpp';
import ollama from '@aegis/provider-ollama';
import openai from '@aegis/provider-openai';
import vllm from '@aegis/provider-vllm';
import exampleCom from 'aegis-provider-example-com';
import routerPlugins from '@aegis/provider-router';
import { Capture } from '../packages/cli/src/__tests__/harness.js';

/** The secret placed in every project's .env. It must never be printed or logged. */
export const CANARY = 'sk-canary-5f0c2e9a7d1b4c38a6e1b2f3';
/** Distinctive pieces of the canary: none may appear either (a partial leak is still a leak). */
const CANARY_PIECES = [CANARY, CANARY.slice(3, 19), CANARY.slice(-14)];

/** Every real plugin of the repository, passed in code. */
export const PLUGINS: AegisPlugin[] = [ollama, openai, vllm, koboldcpp, exampleCom, ...routerPlugins];

// ---- temporary projects ---------------------------------------------------------------

const dirs: string[] = [];

/**
 * A temporary project directory: `backends.yaml` with `yaml`, a `.env` with the
 * canary (and `envLines`), and `files` (name → text) beside it.
 */
export function tempProject(yaml: string, options: { files?: Record<string, string>; envLines?: string[]; copyFrom?: string } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'aegis-suite-'));
  dirs.push(dir);
  if (options.copyFrom) cpSync(options.copyFrom, dir, { recursive: true });
  writeFileSync(join(dir, 'backends.yaml'), yaml);
  writeFileSync(join(dir, '.env'), [`AEGIS_CANARY=${CANARY}`, ...(options.envLines ?? [])].join('\n') + '\n');
  for (const [name, text] of Object.entries(options.files ?? {})) writeFileSync(join(dir, name), text);
  return dir;
}

/** Removes every temporary project made so far. */
export function removeTempProjects(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

// ---- AEGIS instances --------------------------------------------------------------------

/** Log lines an instance wrote (to check that none carries the canary). */
export class MemoryLogger implements Logger {
  readonly lines: string[] = [];
  debug(message: string, fields?: Record<string, unknown>): void {
    this.lines.push(`debug: ${message}${fields ? ' ' + JSON.stringify(fields) : ''}`);
  }
  info(message: string, fields?: Record<string, unknown>): void {
    this.lines.push(`info: ${message}${fields ? ' ' + JSON.stringify(fields) : ''}`);
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.lines.push(`warn: ${message}${fields ? ' ' + JSON.stringify(fields) : ''}`);
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.lines.push(`error: ${message}${fields ? ' ' + JSON.stringify(fields) : ''}`);
  }
}

export interface Instance {
  aegis: Aegis;
  dir: string;
  logger: MemoryLogger;
}

/** An AEGIS instance over a temporary project holding `yaml`, with every real plugin passed in code and discovery off. */
export function instance(yaml: string, env: Record<string, string> = {}): Instance {
  const dir = tempProject(yaml);
  const logger = new MemoryLogger();
  const aegis = createAegis({ configPath: join(dir, 'backends.yaml'), cwd: dir, env, plugins: PLUGINS, discover: false, logger });
  return { aegis, dir, logger };
}

// ---- the CLI, in-process ----------------------------------------------------------------

/** A writable stream that keeps what is written (the CLI's own test helper). */
export { Capture };

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Every CLI output of this test file, for the canary check. */
export const cliOutputs: { args: string[]; result: CliResult }[] = [];

/** Runs `aegis <args>` in-process in `cwd`, with every real plugin passed in code. */
export async function runCli(args: string[], cwd: string, env: Record<string, string> = {}, stdin = ''): Promise<CliResult> {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await main(['node', 'aegis', ...args], { stdout, stderr, stdin: Readable.from(stdin ? [Buffer.from(stdin)] : []) }, {
    plugins: PLUGINS,
    cwd,
    env,
  });
  const result = { code, stdout: stdout.text, stderr: stderr.text };
  cliOutputs.push({ args, result });
  return result;
}

/** Fails when any piece of the canary is in the text. */
export function expectNoCanary(text: string, where = 'output'): void {
  for (const piece of CANARY_PIECES) {
    if (text.includes(piece)) throw new Error(`the canary secret leaked into ${where}:\n${text}`);
  }
}

/** The canary check over every CLI run of the file (call it in afterAll or a last test). */
export function expectNoCanaryInCliOutputs(): void {
  for (const { args, result } of cliOutputs) {
    expectNoCanary(result.stdout, `stdout of aegis ${args.join(' ')}`);
    expectNoCanary(result.stderr, `stderr of aegis ${args.join(' ')}`);
  }
}

// ---- assertions -------------------------------------------------------------------------

/** The ProviderError a promise rejects with (fails when it resolves or rejects with something else). */
export async function providerError(promise: Promise<unknown>): Promise<ProviderError> {
  let outcome: unknown;
  try {
    outcome = await promise;
  } catch (error) {
    if (ProviderError.isInstance(error)) return error;
    throw new Error(`expected a ProviderError, got: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`, { cause: error });
  }
  throw new Error(`expected a ProviderError, but the call succeeded with ${JSON.stringify(outcome)}`);
}

/** Drains a stream: the deltas it yielded, and the error that ended it. */
export const collect = drain;

/** Like collect, but the stream must fail with a ProviderError. */
export async function streamError(stream: AsyncIterable<string>): Promise<{ deltas: string[]; error: ProviderError }> {
  const { deltas, error } = await collect(stream);
  if (error === undefined) throw new Error(`expected the stream to fail, but it ended normally after ${JSON.stringify(deltas.join(''))}`);
  if (!ProviderError.isInstance(error)) throw new Error(`expected a ProviderError, got ${String(error)}`, { cause: error });
  return { deltas, error };
}

/** Milliseconds a promise took to settle, and its outcome. */
export async function timed<T>(promise: Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const start = performance.now();
  try {
    const value = await promise;
    return { ms: performance.now() - start, value };
  } catch (error) {
    return { ms: performance.now() - start, error };
  }
}

/** A loopback port nothing listens on (bound, then closed). */
export async function closedPort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * Connections the emulator's server still has open. The Emulator interface only
 * exposes the total ever accepted (connectionCount), so this reads the node
 * server the emulator object holds.
 */
export function openConnections(emulator: Emulator): Promise<number> {
  const server = (emulator as unknown as { server?: { getConnections(cb: (e: Error | null, n: number) => void): void } }).server;
  if (!server) throw new Error('the emulator does not expose its server: cannot count open connections');
  return new Promise((resolve, reject) => server.getConnections((e, n) => (e ? reject(e) : resolve(n))));
}

/**
 * Waits until `check` holds, polling every 5 ms, for at most `ms`. Returns whether it held.
 * `ms` is a ceiling for a loaded machine, not a measure: a check that holds returns at once,
 * so the default is generous (it only costs time when the test fails anyway).
 */
export async function eventually(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (await check()) return true;
    if (Date.now() > until) return false;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * KoboldCpp keeps generating after its client has gone, so its plugin sends a
 * best-effort `POST /api/extra/abort` in the background after a cancelled call
 * (deadline, idle timeout, abort). Waits until `count` of them have reached the
 * emulator: a scenario that cancels a KoboldCpp call ends only when its abort has
 * landed, or that late request would take the next test's queued fault (under
 * load it can arrive long after the call failed). Nothing to wait for with other kinds.
 */
export async function abortsArrived(kind: Kind, emulator: Emulator, count = 1): Promise<void> {
  if (kind !== 'koboldcpp') return;
  if (!(await eventually(() => requestsTo(emulator, '/api/extra/abort') >= count))) {
    throw new Error(`the KoboldCpp plugin sent ${requestsTo(emulator, '/api/extra/abort')} POST /api/extra/abort after the cancelled call, expected ${count}`);
  }
}

/**
 * Waits until an emulator has received no new request for a moment. A
 * cancelled KoboldCpp call sends its server-side abort in the background;
 * that request must land before the next test queues faults, or it would take one.
 */
async function quiet(emulators: Iterable<Emulator>, stillMs = 30, maxMs = 500): Promise<void> {
  const list = [...emulators];
  const until = Date.now() + maxMs;
  let last = list.map((e) => e.requests.length).join();
  let since = Date.now();
  while (Date.now() < until && Date.now() - since < stillMs) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    const now = list.map((e) => e.requests.length).join();
    if (now !== last) [last, since] = [now, Date.now()];
  }
}

/** Before each test: once the emulators are quiet, clears their recorded requests, faults and replies. */
export async function freshEmulators(emulators: Iterable<Emulator>): Promise<void> {
  const list = [...emulators];
  await quiet(list);
  for (const emulator of list) {
    emulator.reset();
    emulator.setReply({});
  }
}

// ---- the backends under test ------------------------------------------------------------

export type Kind = 'ollama' | 'openai' | 'koboldcpp';

export interface Target {
  kind: Kind;
  /** The emulator's label in its default reply ("Hello! This is a scripted reply from the AEGIS <label> emulator."). */
  label: string;
  /** The profile's base_url for an emulator. */
  baseUrl(emulator: Emulator): string;
  /** The profile's fields besides name, type, base_url and the call settings; the secret comes from .env. */
  fields: string[];
  /** Paths of a completion and of a streamed completion. */
  completionPath: string;
  streamPath: string;
}

export const TARGETS: Record<Kind, Target> = {
  ollama: {
    kind: 'ollama',
    label: 'Ollama',
    baseUrl: (e) => e.url,
    fields: ['model: llama3.2', 'api_key: ${AEGIS_CANARY}'],
    completionPath: '/api/chat',
    streamPath: '/api/chat',
  },
  openai: {
    kind: 'openai',
    label: 'OpenAI',
    baseUrl: (e) => `${e.url}/v1`,
    fields: ['model: gpt-4o-mini', 'api_key: ${AEGIS_CANARY}'],
    completionPath: '/v1/chat/completions',
    streamPath: '/v1/chat/completions',
  },
  koboldcpp: {
    kind: 'koboldcpp',
    label: 'KoboldCpp',
    baseUrl: (e) => e.url,
    fields: ['password: ${AEGIS_CANARY}', 'max_length: 200'],
    completionPath: '/api/v1/generate',
    streamPath: '/api/extra/generate/stream',
  },
};

/** Call settings of a profile: `timeout` and `idle_timeout` in seconds. */
export interface ProfileSettings {
  timeout?: number;
  idle_timeout?: number;
  max_retries?: number;
  max_response_bytes?: number;
  max_stream_bytes?: number;
  max_line_bytes?: number;
  follow_redirects?: 'same_origin' | 'never' | 'cross_origin';
}

/** One profile of `target`'s type whose base_url is `${urlVariable}`. */
export function profileYaml(target: Target, name: string, urlVariable: string, settings: ProfileSettings = {}): string {
  const lines = [`- profile_name: ${name}`, `  type: ${target.kind}`, `  base_url: \${${urlVariable}}`, ...target.fields.map((f) => `  ${f}`)];
  for (const [key, value] of Object.entries(settings)) lines.push(`  ${key}: ${value}`);
  return lines.join('\n') + '\n';
}

/** Requests the emulator received on a path. */
export function requestsTo(emulator: Emulator, path: string): number {
  return emulator.requests.filter((r) => r.path === path).length;
}

// ---- one emulator per backend, one instance over them all ----------------------------------

export const KINDS: Kind[] = ['ollama', 'openai', 'koboldcpp'];

export interface Fleet {
  emulators: Record<Kind, Emulator>;
  inst: Instance;
  /** The variables the profiles' base_url come from (to pass to the CLI, whose cwd is `inst.dir`). */
  env: Record<string, string>;
  /** The provider of `<kind>_<variant>`. */
  provider(kind: Kind, variant: string): Promise<BackendProvider>;
  close(): Promise<void>;
}

/**
 * Starts an emulator per kind (requiring the canary as key) and one AEGIS
 * instance with, for each kind, a profile `<kind>_<variant>` per entry of `variants`
 * (variants whose name starts with `refused` point at a closed port).
 */
export async function startFleet(variants: Record<string, ProfileSettings>, options: EmulatorOptions = {}, kinds: Kind[] = KINDS): Promise<Fleet> {
  const emulators = {} as Record<Kind, Emulator>;
  const env: Record<string, string> = {};
  const refusedPort = await closedPort();
  let yaml = '';
  for (const kind of kinds) {
    const target = TARGETS[kind];
    const emulator = await startEmulator(kind, { apiKey: CANARY, ...options });
    emulators[kind] = emulator;
    env[`URL_${kind.toUpperCase()}`] = target.baseUrl(emulator);
    env[`REFUSED_${kind.toUpperCase()}`] = `http://127.0.0.1:${refusedPort}${kind === 'openai' ? '/v1' : ''}`;
    for (const [variant, settings] of Object.entries(variants)) {
      const urlVariable = `${variant.startsWith('refused') ? 'REFUSED' : 'URL'}_${kind.toUpperCase()}`;
      yaml += profileYaml(target, `${kind}_${variant}`, urlVariable, settings);
    }
  }
  const inst = instance(yaml, env);
  return {
    emulators,
    inst,
    env,
    provider: (kind, variant) => inst.aegis.getProviderForProfile(`${kind}_${variant}`),
    async close() {
      inst.aegis.close();
      await Promise.all(Object.values(emulators).map((e) => e.close()));
    },
  };
}

/**
 * Runs a scenario for every kind at once (each kind has its own emulator, so
 * they do not interfere) and reports every kind that failed, by name.
 */
export async function forEachKind(kinds: Kind[], scenario: (kind: Kind) => Promise<void>): Promise<void> {
  const outcomes = await Promise.allSettled(kinds.map((kind) => scenario(kind)));
  const failures = outcomes
    .map((o, i) => (o.status === 'rejected' ? `${kinds[i]}: ${o.reason instanceof Error ? o.reason.message : String(o.reason)}` : undefined))
    .filter((f): f is string => f !== undefined);
  if (failures.length > 0) throw new Error(failures.join('\n\n'));
}
