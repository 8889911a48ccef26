/** Newline-delimited JSON framing (Ollama). */
import type { StreamFormat } from './plan.js';

export const ndjson: StreamFormat = {
  contentType: 'application/x-ndjson',
  frame: (p) => p + '\n',
  done: '',
};
