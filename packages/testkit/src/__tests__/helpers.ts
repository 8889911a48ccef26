/** Test helpers (not part of the published build). */
import { readFileSync } from 'node:fs';

export function fixture(path: string): string {
  return readFileSync(new URL(`../../fixtures/${path}`, import.meta.url), 'utf8');
}

export function fixtureJson(path: string): any {
  return JSON.parse(fixture(path));
}

export function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

/** Split an SSE body into its events (the text between blank lines). */
export function sseEvents(text: string): string[] {
  return text.split('\n\n').filter((e) => e !== '');
}

/** The JSON payloads of `data:` events, `[DONE]` excluded. */
export function sseData(text: string): any[] {
  return sseEvents(text)
    .map((e) => e.split('\n').find((l) => l.startsWith('data: '))!.slice(6))
    .filter((d) => d !== '[DONE]')
    .map((d) => JSON.parse(d));
}

/** Keys of an object, recursively, as dotted paths (arrays use their first element). */
export function shape(v: unknown, prefix = ''): string[] {
  if (Array.isArray(v)) return v.length ? shape(v[0], `${prefix}[]`) : [`${prefix}[]`];
  if (v && typeof v === 'object') {
    return Object.entries(v).flatMap(([k, x]) => [`${prefix}${prefix ? '.' : ''}${k}`, ...shape(x, `${prefix}${prefix ? '.' : ''}${k}`)]);
  }
  return [];
}

/** Read a response body fully, resolving to an error if the connection breaks. */
export async function readAll(res: Response): Promise<{ text: string; error?: unknown }> {
  const chunks: Uint8Array[] = [];
  const reader = res.body!.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
    }
  } catch (error) {
    return { text: Buffer.concat(chunks).toString('utf8'), error };
  }
  return { text: Buffer.concat(chunks).toString('utf8') };
}
