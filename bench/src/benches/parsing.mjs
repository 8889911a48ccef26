/**
 * 9: stream parsing in core, without the network.
 * - Decoding a stream's chunks to text: node's string_decoder (what core's
 *   stream readers use) vs TextDecoder with `stream: true`, on the 2,000
 *   chunks of the OpenAI SSE stream of measure 3 (one event a chunk, as got
 *   hands them over), interleaved in one process.
 * - One long NDJSON line (10, 20, 50 MB, in 64 KiB chunks) through
 *   readNdjson: the time per MB must not grow with the line (it did, when
 *   each chunk re-split the whole unfinished line: 7 / 24 / 100 s).
 */
import { performance } from 'node:perf_hooks';
import { StringDecoder } from 'node:string_decoder';
import { readNdjson } from '@aegis/core';
import { interleave, summarize } from '../lib/stats.mjs';
import { deltas } from './streaming.mjs';

const MB = 1000 * 1000;
const CHUNK = 64 * 1024;

function sseChunks(count) {
  return deltas(count).map((content, i) =>
    Buffer.from(
      `data: ${JSON.stringify({
        id: 'chatcmpl-bench',
        object: 'chat.completion.chunk',
        created: 1764460800,
        model: 'gpt-4o-mini',
        choices: [{ index: 0, delta: i === 0 ? { role: 'assistant', content } : { content }, logprobs: null, finish_reason: null }],
      })}\n\n`,
    ),
  );
}

async function* chunksOf(buffer) {
  for (let i = 0; i < buffer.length; i += CHUNK) yield buffer.subarray(i, i + CHUNK);
}

export async function parsingBench({ settings, quick }) {
  const chunks = sseChunks(settings.deltas);
  let sink = 0;
  const decode = await interleave({
    subject: 'stringDecoder',
    contenders: {
      stringDecoder: async () => {
        const decoder = new StringDecoder('utf8');
        for (const chunk of chunks) sink += decoder.write(chunk).length;
        sink += decoder.end().length;
      },
      textDecoder: async () => {
        const decoder = new TextDecoder();
        for (const chunk of chunks) sink += decoder.decode(chunk, { stream: true }).length;
        sink += decoder.decode().length;
      },
    },
    ...settings.parsing.decode,
  });

  const lines = {};
  for (const mb of quick ? [1, 2, 5] : [10, 20, 50]) {
    const line = Buffer.from(`{"message":{"content":"${'x'.repeat(mb * MB)}"},"done":true}\n`);
    const times = [];
    for (let i = 0; i < settings.parsing.lineRuns; i++) {
      const start = performance.now();
      for await (const value of readNdjson(chunksOf(line), 'http://bench/api/chat', { maxLineBytes: 64 * 1024 * 1024 })) sink += value.message.content.length;
      times.push(performance.now() - start);
    }
    lines[mb] = summarize(times);
  }
  if (sink === 0) throw new Error('nothing was parsed');
  return { chunks: chunks.length, decode, lines };
}
