/**
 * `aegis complete --stream ... | head -2`: once the reader of stdout has gone
 * away (a write fails with EPIPE), the backend call is stopped at once and the
 * command ends with 141 (128 + SIGPIPE), printing nothing more. Against a
 * backend that streams without end: without the abort, the test never ends.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import openai from '@aegis/provider-openai';
import { main } from '../main.js';
import { EXIT } from '../errors.js';
import { BackendProvider, BaseBackendConfig, definePlugin, PLUGIN_API_VERSION, z, type ProviderStream } from '@aegis/core';

let server: http.Server;
let dir: string;
let deltasSent!: Promise<number>;

beforeAll(async () => {
  let onClosed!: (sent: number) => void;
  deltasSent = new Promise((resolve) => (onClosed = resolve));
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let sent = 0;
      // One delta every few ms, for ever: only the client going away ends it.
      const timer = setInterval(() => {
        const chunk = { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: `w${sent++} ` }, finish_reason: null }] };
        res.write(`data: ${JSON.stringify(chunk)}\n\n`);
      }, 5);
      res.on('close', () => {
        clearInterval(timer);
        onClosed(sent);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  dir = mkdtempSync(join(tmpdir(), 'aegis-reader-gone-'));
  const port = (server.address() as AddressInfo).port;
  writeFileSync(
    join(dir, 'backends.yaml'),
    `profiles:\n  - profile_name: endless\n    type: openai\n    base_url: http://127.0.0.1:${port}/v1\n    api_key: sk-test-0123456789abcdef\n    model: m\n    max_retries: 0\n`,
  );
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

/** A pipe whose reader reads the first write, then goes away: every later write fails with EPIPE. */
class ClosedAfterFirstWrite extends Writable {
  text = '';
  constructor() {
    super({ decodeStrings: false });
    // As bin.ts does for process.stdout: a reader that goes away is no crash.
    this.on('error', () => undefined);
  }
  override _write(chunk: string | Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.text !== '') return callback(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    this.text += String(chunk);
    callback();
  }
}

it('stops the backend call once stdout is closed by its reader, and exits 141 without a word', async () => {
  const stdout = new ClosedAfterFirstWrite();
  let stderr = '';
  const err = new Writable({ write: (chunk, _e, callback) => ((stderr += String(chunk)), callback()) });
  const code = await main(['node', 'aegis', '--config', join(dir, 'backends.yaml'), 'complete', '--stream', '-p', 'endless', 'hi'], {
    stdout,
    stderr: err,
    stdin: new PassThrough(),
  }, { plugins: [openai], cwd: dir, env: {} });
  expect(code).toBe(EXIT.readerGone);
  expect(stdout.text).toMatch(/^w0 /);
  expect(stderr).toBe('');
  // The backend saw the connection close (an endless stream ends no other way).
  expect(await deltasSent).toBeGreaterThan(0);
});

/** A backend that pays no heed to the abort: its stream ends on its own, a turn of the event loop after each delta. */
class Heedless extends BackendProvider {
  protected override async *doStream(): ProviderStream {
    for (const word of ['one', ' two', ' three']) {
      yield word;
      await new Promise((resolve) => setImmediate(resolve));
    }
    return { finishReason: 'stop' };
  }
}
const heedless = definePlugin({
  apiVersion: PLUGIN_API_VERSION,
  type: 'heedless',
  configSchema: BaseBackendConfig.extend({ type: z.string() }),
  capabilities: ['streaming'],
  create: (config, context) => new Heedless(config, context),
});

it('exits 141 also when the backend does not stop and its stream ends normally after the reader went away', async () => {
  const project = mkdtempSync(join(tmpdir(), 'aegis-reader-gone-'));
  writeFileSync(join(project, 'backends.yaml'), '- profile_name: h\n  type: heedless\n');
  try {
    const stdout = new ClosedAfterFirstWrite();
    let stderr = '';
    const err = new Writable({ write: (chunk, _e, callback) => ((stderr += String(chunk)), callback()) });
    const code = await main(['node', 'aegis', 'complete', '--stream', '-p', 'h', 'hi'], { stdout, stderr: err, stdin: new PassThrough() }, {
      plugins: [heedless],
      cwd: project,
      env: {},
    });
    expect({ code, stdout: stdout.text, stderr }).toEqual({ code: EXIT.readerGone, stdout: 'one', stderr: '' });
  } finally {
    rmSync(project, { recursive: true, force: true });
  }
});
