/**
 * A loopback server that answers with recorded bodies verbatim (a fixture's
 * exact bytes and framing), for plugin tests that map a backend's real answer.
 */
import type { BackendDef } from './backend.js';
import { bodyPlan, jsonPlan } from './plan.js';
import { startServer } from './server.js';
import type { Emulator } from './types.js';

/** One recorded answer: the body as recorded and its content type (default: SSE for `.sse.txt`-like text, else JSON). */
export interface RecordedAnswer {
  body: string;
  contentType?: string;
  status?: number;
}

/**
 * Starts a server whose every `POST <path>` (default `/v1/chat/completions`)
 * answers the next recorded answer (the last one repeats). Requests are
 * recorded as by the emulators; faults apply to it too.
 */
export function startReplayServer(answers: RecordedAnswer[], path = '/v1/chat/completions'): Promise<Emulator> {
  if (answers.length === 0) return Promise.reject(new Error('startReplayServer needs at least one answer'));
  const queue = [...answers];
  const def: BackendDef = {
    kind: 'replay',
    baseSuffix: path.startsWith('/v1/') ? '/v1' : '',
    routes: [
      {
        method: 'POST',
        path,
        body: 'any',
        handler: () => {
          const answer = queue.length > 1 ? queue.shift()! : queue[0]!;
          const type = answer.contentType ?? (answer.body.trimStart().startsWith('data:') ? 'text/event-stream' : 'application/json');
          return bodyPlan(answer.status ?? 200, type, answer.body);
        },
      },
    ],
    authorize: () => undefined,
    errorPlan: (status, _ctx, message) => jsonPlan(status, JSON.stringify({ error: { message: message ?? `HTTP ${status}` } })),
    notFound: () => jsonPlan(404, JSON.stringify({ error: { message: 'not found' } })),
    invalidBody: () => jsonPlan(400, JSON.stringify({ error: { message: 'invalid body' } })),
  };
  return startServer(def, {});
}
