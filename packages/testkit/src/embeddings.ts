/** Deterministic unit-length embedding vectors: the same text and dimension always give the same vector. */

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function embedText(text: string, dimension: number): number[] {
  const rand = mulberry32(fnv1a(text) ^ dimension);
  const v = Array.from({ length: dimension }, () => rand() * 2 - 1);
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1;
  return v.map((x) => Number((x / norm).toPrecision(8)));
}

/** `input` as a list of strings (string, string[], or token arrays, which are stringified). */
export function embeddingInputs(input: unknown): string[] | undefined {
  if (typeof input === 'string') return [input];
  if (Array.isArray(input) && input.length > 0) {
    return input.map((x) => (typeof x === 'string' ? x : JSON.stringify(x)));
  }
  return undefined;
}

/** OpenAI `encoding_format: "base64"`: little-endian float32 bytes, base64. */
export function toBase64Floats(v: number[]): string {
  const buf = Buffer.alloc(v.length * 4);
  v.forEach((x, i) => buf.writeFloatLE(x, i * 4));
  return buf.toString('base64');
}
