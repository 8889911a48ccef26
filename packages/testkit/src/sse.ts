/** Server-sent-event framings used by the emulated backends. */
import type { StreamFormat } from './plan.js';

/** OpenAI / vLLM / Example.com: `data: {json}\n\n`, ending `data: [DONE]\n\n`. */
export function dataSse(contentType = 'text/event-stream; charset=utf-8', done = 'data: [DONE]\n\n'): StreamFormat {
  return { contentType, frame: (p) => `data: ${p}\n\n`, done };
}

/** KoboldCpp native stream: `event: message\ndata: {json}\n\n`; no end marker, the server closes the connection. */
export const koboldSse: StreamFormat = {
  contentType: 'text/event-stream',
  frame: (p) => `event: message\ndata: ${p}\n\n`,
  done: '',
  closeDelimited: true,
};
