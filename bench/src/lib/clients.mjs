/**
 * The two sides of every comparison: AEGIS through a profile, and the same
 * call made directly, with got (same keep-alive agent settings as AEGIS's
 * HttpClient, same eventsource-parser), the official `openai` client and the
 * AI SDK. Every consumer does the same work with what it gets: keeps the text,
 * counts the deltas, notes when the first one arrived.
 */
import http from 'node:http';
import https from 'node:https';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import got from 'got';
import { createParser } from 'eventsource-parser';
import { createAegis } from '@aegis/core';
import { API_KEY } from './emulators.mjs';

export const REPO = fileURLToPath(new URL('../../..', import.meta.url)).replace(/\/$/, '');
export const BENCH_DIR = join(REPO, 'bench');
let runDir;

/** This run's directory for files (backends.yaml and the like), outside the repository; made on first use. */
export function tmpDir() {
  runDir ??= mkdtempSync(join(tmpdir(), 'aegis-bench-'));
  return runDir;
}

export function removeRunDir() {
  if (runDir) rmSync(runDir, { recursive: true, force: true });
  runDir = undefined;
}

/** The agent options of @aegis/core's HttpClient (packages/core/src/http/client.ts). */
export const AGENT_OPTIONS = { keepAlive: true, maxSockets: 64 };
export const USER_AGENT = 'aegis-providers';
export const MODEL = 'gpt-4o-mini';
export const OLLAMA_MODEL = 'llama3.2';
export const MESSAGES = [{ role: 'user', content: 'Say hello to the benchmark.' }];

/** The package directory a module specifier resolves to, from a given file. */
function packageDirOf(specifier, fromFile) {
  let dir = dirname(createRequire(fromFile).resolve(specifier));
  while (!dir.endsWith(`node_modules/${specifier}`) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

/** The version of a package the bench resolves. */
export function versionOf(name) {
  let dir = dirname(fileURLToPath(import.meta.resolve(name)));
  while (!dir.endsWith(`node_modules/${name}`) && dirname(dir) !== dir) dir = dirname(dir);
  return JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
}

/** Fails unless the baseline's got and eventsource-parser are the copies @aegis/core depends on (and bundles). */
export function checkSameLibraries() {
  const core = fileURLToPath(import.meta.resolve('@aegis/core'));
  const here = fileURLToPath(import.meta.url);
  const out = {};
  for (const lib of ['got', 'eventsource-parser']) {
    const a = packageDirOf(lib, core);
    const b = packageDirOf(lib, here);
    if (a !== b) throw new Error(`unfair baseline: ${lib} of @aegis/core is ${a}, the bench's is ${b}`);
    out[lib] = JSON.parse(readFileSync(join(a, 'package.json'), 'utf8')).version;
  }
  return out;
}

/** A backends.yaml for the emulators, in a temp directory; returns its path. */
export function writeBackendsYaml(name, backends) {
  const dir = join(tmpDir(), name);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'backends.yaml');
  writeFileSync(
    file,
    [
      'profiles:',
      '  - profile_name: openai',
      '    type: openai',
      `    base_url: ${backends.openai.baseUrl}`,
      `    model: ${MODEL}`,
      `    api_key: ${API_KEY}`,
      '  - profile_name: ollama',
      '    type: ollama',
      `    base_url: ${backends.ollama.baseUrl}`,
      `    model: ${OLLAMA_MODEL}`,
      '',
    ].join('\n'),
  );
  return file;
}

/** An AEGIS instance on that backends.yaml, discovering the plugins of the repository's package.json. */
export function makeAegis(configPath) {
  return createAegis({ configPath, cwd: REPO, env: {} });
}

// ---- AEGIS ----------------------------------------------------------------------------

export async function aegisComplete(provider) {
  const { text } = await provider.getCompletion(MESSAGES);
  if (!text) throw new Error('AEGIS: empty completion');
}

/** Reads an AEGIS stream; `start` is the performance.now() the call started at. */
export function aegisStream(provider, start, expectDeltas) {
  return consume('AEGIS', provider.streamCompletion(MESSAGES), start, expectDeltas);
}

/** Reads an AEGIS stream through `events()`, the typed view (text deltas counted, the finish event awaited). */
export async function aegisEvents(provider, start, expectDeltas) {
  let ttfd;
  let deltas = 0;
  let finished = false;
  for await (const event of provider.streamCompletion(MESSAGES).events()) {
    if (event.type === 'text-delta') {
      ttfd ??= performance.now() - start;
      deltas++;
    } else if (event.type === 'finish') finished = true;
  }
  if (!finished) throw new Error('AEGIS events(): no finish event');
  checkDeltas('AEGIS events()', deltas, expectDeltas);
  return { ttfd, total: performance.now() - start };
}

// ---- raw got ---------------------------------------------------------------------------

/** got with a keep-alive agent of the same settings as AEGIS's, the same headers, no retries. */
export function rawGot() {
  const agent = { http: new http.Agent(AGENT_OPTIONS), https: new https.Agent(AGENT_OPTIONS) };
  const headers = { 'user-agent': USER_AGENT, authorization: `Bearer ${API_KEY}` };
  const options = { agent, headers, retry: { limit: 0 } };
  return {
    agent,
    destroy() {
      agent.http.destroy();
      agent.https.destroy();
    },
    /** POST JSON, parse the JSON answer, read the text. */
    async complete(url, body) {
      const answer = await got.post(url, { ...options, json: body }).json();
      const text = answer.choices?.[0]?.message?.content ?? answer.message?.content;
      if (!text) throw new Error('raw got: empty completion');
    },
    /** POST JSON, read the SSE answer with eventsource-parser (as @aegis/core does). */
    async sse(url, body, start, expectDeltas) {
      let ttfd;
      let text = '';
      let deltas = 0;
      let done = false;
      const parser = createParser({
        onEvent(event) {
          if (event.data === '[DONE]') {
            done = true;
            return;
          }
          const chunk = JSON.parse(event.data);
          const content = chunk.choices?.[0]?.delta?.content;
          if (content) {
            ttfd ??= performance.now() - start;
            text += content;
            deltas++;
          }
        },
      });
      const decoder = new TextDecoder();
      for await (const chunk of got.stream.post(url, { ...options, json: body })) parser.feed(decoder.decode(chunk, { stream: true }));
      if (!done) throw new Error('raw SSE: no [DONE]');
      checkDeltas('raw SSE', deltas, expectDeltas);
      return { ttfd, total: performance.now() - start };
    },
    /** POST JSON, read the NDJSON answer with a simple line splitter. */
    async ndjson(url, body, start, expectDeltas) {
      let ttfd;
      let text = '';
      let deltas = 0;
      let done = false;
      let rest = '';
      const decoder = new TextDecoder();
      for await (const chunk of got.stream.post(url, { ...options, json: body })) {
        const lines = (rest + decoder.decode(chunk, { stream: true })).split('\n');
        rest = lines.pop();
        for (const line of lines) {
          if (!line) continue;
          const object = JSON.parse(line);
          const content = object.message?.content;
          if (content) {
            ttfd ??= performance.now() - start;
            text += content;
            deltas++;
          }
          if (object.done) done = true;
        }
      }
      if (!done) throw new Error('raw NDJSON: no final line');
      checkDeltas('raw NDJSON', deltas, expectDeltas);
      return { ttfd, total: performance.now() - start };
    },
    /**
     * The same reads, handing the deltas out through an async generator (as any API that
     * returns a stream of deltas to its caller does): the floor of what a provider layer whose
     * streams are async iterables can cost.
     */
    async sseIterable(url, body, start, expectDeltas) {
      async function* deltas() {
        const events = [];
        const parser = createParser({ onEvent: (event) => events.push(event) });
        const decoder = new TextDecoder();
        for await (const chunk of got.stream.post(url, { ...options, json: body })) {
          parser.feed(decoder.decode(chunk, { stream: true }));
          for (const event of events.splice(0)) {
            if (event.data === '[DONE]') return;
            const content = JSON.parse(event.data).choices?.[0]?.delta?.content;
            if (content) yield content;
          }
        }
        throw new Error('raw SSE: no [DONE]');
      }
      return consume('raw SSE iterable', deltas(), start, expectDeltas);
    },
    async ndjsonIterable(url, body, start, expectDeltas) {
      async function* deltas() {
        let rest = '';
        const decoder = new TextDecoder();
        for await (const chunk of got.stream.post(url, { ...options, json: body })) {
          const lines = (rest + decoder.decode(chunk, { stream: true })).split('\n');
          rest = lines.pop();
          for (const line of lines) {
            if (!line) continue;
            const object = JSON.parse(line);
            const content = object.message?.content;
            if (content) yield content;
            if (object.done) return;
          }
        }
        throw new Error('raw NDJSON: no final line');
      }
      return consume('raw NDJSON iterable', deltas(), start, expectDeltas);
    },
  };
}

/** What every consumer of an async iterable of deltas does with it. */
async function consume(who, iterable, start, expectDeltas) {
  let ttfd;
  let text = '';
  let deltas = 0;
  for await (const delta of iterable) {
    ttfd ??= performance.now() - start;
    text += delta;
    deltas++;
  }
  checkDeltas(who, deltas, expectDeltas);
  return { ttfd, total: performance.now() - start };
}

// ---- official clients ------------------------------------------------------------------

export async function openaiClient(baseURL) {
  const { default: OpenAI } = await import('openai');
  return new OpenAI({ apiKey: API_KEY, baseURL, maxRetries: 0 });
}

export async function openaiComplete(client, body) {
  const answer = await client.chat.completions.create(body);
  if (!answer.choices[0]?.message?.content) throw new Error('openai: empty completion');
}

export async function openaiStream(client, body, start, expectDeltas) {
  let ttfd;
  let text = '';
  let deltas = 0;
  for await (const chunk of await client.chat.completions.create(body)) {
    const content = chunk.choices[0]?.delta?.content;
    if (content) {
      ttfd ??= performance.now() - start;
      text += content;
      deltas++;
    }
  }
  checkDeltas('openai', deltas, expectDeltas);
  return { ttfd, total: performance.now() - start };
}

export async function aiSdkModel(baseURL) {
  const [{ generateText }, { createOpenAI }] = await Promise.all([import('ai'), import('@ai-sdk/openai')]);
  // `.chat()`: the Chat Completions API (the SDK's default is the Responses API).
  const model = createOpenAI({ apiKey: API_KEY, baseURL }).chat(MODEL);
  return async () => {
    const { text } = await generateText({ model, messages: MESSAGES, maxRetries: 0 });
    if (!text) throw new Error('AI SDK: empty completion');
  };
}

function checkDeltas(who, deltas, expected) {
  if (expected !== undefined && deltas !== expected) throw new Error(`${who}: ${deltas} deltas, expected ${expected}`);
}
