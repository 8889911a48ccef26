/** The sides of the gateway bench: a proxy process (raw or gateway) driven over IPC, and the client's calls. */
import { fork } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { API_KEY } from './emulators.mjs';

export async function startProxy(mode, upstream) {
  const child = fork(fileURLToPath(new URL('../children/gateway-proxy.mjs', import.meta.url)), [mode, upstream], {
    env: { ...process.env, BENCH_API_KEY: API_KEY, AEGIS_LOG_LEVEL: 'error' },
    execArgv: ['--expose-gc'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const pending = new Map();
  let nextId = 0;
  const url = await new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${mode} proxy exited with ${code}`)));
    child.on('message', (msg) => {
      if (msg.ready) return resolve(msg.url);
      pending.get(msg.id)?.(msg.value);
      pending.delete(msg.id);
    });
  });
  const call = (op) =>
    new Promise((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      child.send({ id, op });
    });
  return {
    url,
    pid: child.pid,
    usage: () => call('usage'),
    gc: () => call('gc'),
    profileStart: () => call('profileStart'),
    profileStop: () => call('profileStop'),
    close: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.disconnect();
      }),
  };
}

export const agent = new http.Agent({ keepAlive: true, maxSockets: 2048 });

/** One POST; resolves with the body and the time to the first content delta (streams). */
export function post(url, body, { stream = false } = {}) {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` } }, (res) => {
      let text = '';
      let firstDelta;
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        text += chunk;
        if (stream && firstDelta === undefined && /"content":"[^"]/.test(text)) firstDelta = performance.now() - start;
      });
      res.on('end', () => (res.statusCode === 200 ? resolve({ text, firstDelta, total: performance.now() - start }) : reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 300)}`))));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

export function chatBody(model, stream) {
  return JSON.stringify({ model, messages: [{ role: 'user', content: 'Say hello.' }], ...(stream ? { stream: true } : {}) });
}

