/** Loads the recorded protocol files shipped in packages/testkit/fixtures (see fixtures/SOURCES.md). */
import { readFileSync } from 'node:fs';

export type FixtureBackend = 'openai' | 'vllm' | 'ollama' | 'koboldcpp';

const cache = new Map<string, string>();

export function fixtureUrl(backend: FixtureBackend, name: string): URL {
  return new URL(`../fixtures/${backend}/${name}`, import.meta.url);
}

export function fixtureText(backend: FixtureBackend, name: string): string {
  const key = `${backend}/${name}`;
  let text = cache.get(key);
  if (text === undefined) {
    text = readFileSync(fixtureUrl(backend, name), 'utf8');
    cache.set(key, text);
  }
  return text;
}

/** A fresh deep copy of a JSON fixture (safe to mutate). */
export function fixtureJson<T = any>(backend: FixtureBackend, name: string): T {
  return JSON.parse(fixtureText(backend, name)) as T;
}

/** The JSON payloads of the `data:` lines of an SSE fixture, `[DONE]` excluded. */
export function fixtureSse<T = any>(backend: FixtureBackend, name: string): T[] {
  return fixtureText(backend, name)
    .split('\n')
    .filter((l) => l.startsWith('data: ') && l.slice(6).trim() !== '[DONE]')
    .map((l) => JSON.parse(l.slice(6)) as T);
}

/** The objects of an NDJSON fixture. */
export function fixtureNdjson<T = any>(backend: FixtureBackend, name: string): T[] {
  return fixtureText(backend, name)
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);
}
