/** Starts the loopback backends in a child process and drives them. */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const API_KEY = 'sk-bench-0123456789abcdef';

/**
 * @returns {Promise<{ openai: {url: string, baseUrl: string}, ollama: {url: string, baseUrl: string}, pid: number,
 *   setReply(kind: string, reply: object): Promise<void>, lastRequest(kind: string): Promise<any>,
 *   connections(kind: string): Promise<number>, close(): Promise<void> }>}
 */
export async function startBackends() {
  const child = fork(fileURLToPath(new URL('./emulator-process.mjs', import.meta.url)), [], {
    env: { ...process.env, BENCH_API_KEY: API_KEY },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map();
  let nextId = 0;
  const ready = new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`emulator process exited with ${code}`)));
    child.on('message', (msg) => {
      if (msg.ready) return resolve(msg.urls);
      const p = pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.value);
      else p.reject(new Error(msg.error));
    });
  });
  const urls = await ready;
  const call = (op, kind, extra = {}) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      child.send({ id, op, kind, ...extra });
    });
  return {
    ...urls,
    pid: child.pid,
    setReply: (kind, reply) => call('setReply', kind, { reply }),
    lastRequest: (kind) => call('lastRequest', kind),
    connections: (kind) => call('connections', kind),
    async close() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      await call('close').catch(() => undefined);
      await exited;
    },
  };
}
