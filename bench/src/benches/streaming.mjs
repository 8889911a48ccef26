/** 3 and 4: a 2,000-delta stream (OpenAI SSE, Ollama NDJSON) through a profile vs read directly. */
import { aegisEvents, aegisStream, makeAegis, openaiClient, openaiStream, rawGot, writeBackendsYaml } from '../lib/clients.mjs';
import { interleave } from '../lib/stats.mjs';

/** 2,000 distinct deltas (a word each, like a model's tokens). */
export function deltas(count) {
  return Array.from({ length: count }, (_, i) => (i === 0 ? 'Once' : ` w${i}`));
}

export async function streamingBench({ backends, settings }) {
  const count = settings.deltas;
  const chunks = deltas(count);
  await backends.setReply('openai', { chunks });
  await backends.setReply('ollama', { chunks });
  const aegis = makeAegis(writeBackendsYaml('streaming', backends));
  const raw = rawGot();
  try {
    const openaiProvider = await aegis.getProviderForProfile('openai');
    await aegisStream(openaiProvider, performance.now(), count);
    const sseBody = await backends.lastRequest('openai');
    const sseUrl = `${backends.openai.baseUrl}/chat/completions`;
    const openai = await openaiClient(backends.openai.baseUrl);
    const sse = await interleave({
      subject: 'aegis',
      contenders: {
        aegis: (start) => aegisStream(openaiProvider, start, count),
        got: (start) => raw.sse(sseUrl, sseBody, start, count),
        gotIterable: (start) => raw.sseIterable(sseUrl, sseBody, start, count),
        openai: (start) => openaiStream(openai, sseBody, start, count),
      },
      ...settings.streaming,
    });

    // The typed view of the same stream (stream.events()) against iterating its text.
    const events = await interleave({
      subject: 'events',
      contenders: {
        events: (start) => aegisEvents(openaiProvider, start, count),
        aegis: (start) => aegisStream(openaiProvider, start, count),
      },
      ...settings.streaming,
    });

    const ollamaProvider = await aegis.getProviderForProfile('ollama');
    await aegisStream(ollamaProvider, performance.now(), count);
    const ndjsonBody = await backends.lastRequest('ollama');
    const ndjsonUrl = `${backends.ollama.baseUrl}/api/chat`;
    const ndjson = await interleave({
      subject: 'aegis',
      contenders: {
        aegis: (start) => aegisStream(ollamaProvider, start, count),
        got: (start) => raw.ndjson(ndjsonUrl, ndjsonBody, start, count),
        gotIterable: (start) => raw.ndjsonIterable(ndjsonUrl, ndjsonBody, start, count),
      },
      ...settings.streaming,
    });
    return { deltas: count, sse, events, ndjson };
  } finally {
    raw.destroy();
    aegis.close();
    await backends.setReply('openai', {});
    await backends.setReply('ollama', {});
  }
}
