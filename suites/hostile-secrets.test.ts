/**
 * Secrets and terminal safety under attack (issue "Security hardening", items
 * 5, 6, 7 and 9, and the streaming hold-back of the CLI): a hostile backend on
 * loopback that echoes the key back in every way it can (in a log line via a
 * retry, cut by an excerpt, JSON-escaped, with its whitespace collapsed,
 * streamed in pieces), hostile backends.yaml values (mistyped and nested
 * credential fields, URLs with credentials, from .env too, terminal escape
 * sequences in names), all driven through the real CLI run in-process or the
 * library, and checked byte for byte: no secret, no piece of one, no raw
 * control character.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { createAegis, ProviderError } from '@aegis/core';
import { main } from '@aegis/cli';
import {
  Capture,
  CANARY,
  closedPort,
  eventually,
  expectNoCanary,
  expectNoCanaryInCliOutputs,
  MemoryLogger,
  PLUGINS,
  removeTempProjects,
  runCli,
  tempProject,
} from './helpers.js';

// ---- a hostile OpenAI-style backend -------------------------------------------------------

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void | Promise<void>;

interface Hostile {
  url: string;
  requests: { path: string; authorization?: string }[];
  close(): Promise<void>;
}

const servers: Server[] = [];

async function hostile(handler: Handler): Promise<Hostile> {
  const requests: Hostile['requests'] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({ path: req.url ?? '', authorization: req.headers.authorization });
      Promise.resolve(handler(req, res, Buffer.concat(chunks).toString('utf8'))).catch((error) => res.destroy(error as Error));
    });
  });
  servers.push(server);
  // Idle kept-alive connections stay open (a request reusing one as Node's 5 s keep-alive timeout closes it meets a reset: suites/README.md, "Timing").
  server.keepAliveTimeout = 0;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function completion(text: string): string {
  return JSON.stringify({
    id: 'chatcmpl-1',
    object: 'chat.completion',
    model: 'gpt-4o-mini',
    choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  });
}

function chunk(content: string, finish: string | null = null): string {
  const frame = { id: 'chatcmpl-1', object: 'chat.completion.chunk', model: 'gpt-4o-mini', choices: [{ index: 0, delta: { content }, finish_reason: finish }] };
  return `data: ${JSON.stringify(frame)}\n\n`;
}

/** Streams `deltas` as SSE, awaiting `before(i)` ahead of each one. */
async function streamDeltas(res: ServerResponse, deltas: string[], before: (i: number) => Promise<void> = async () => {}): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (let i = 0; i < deltas.length; i++) {
    await before(i);
    res.write(chunk(deltas[i]!));
  }
  res.write(chunk('', 'stop'));
  res.end('data: [DONE]\n\n');
}

function openaiProfile(name: string, urlVariable: string, keyVariable: string, maxRetries = 0): string {
  const lines = [`- profile_name: ${name}`, '  type: openai', `  base_url: \${${urlVariable}}`, '  model: gpt-4o-mini', `  api_key: \${${keyVariable}}`];
  return [...lines, `  max_retries: ${maxRetries}`].join('\n') + '\n';
}

/** No raw control character a terminal would act on (newline and tab aside). */
function expectTerminalSafe(text: string, where: string): void {
  const raw = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.exec(text);
  if (raw) throw new Error(`raw control character U+${raw[0].charCodeAt(0).toString(16).padStart(4, '0')} in ${where}:\n${JSON.stringify(text)}`);
}

afterEach(async () => {
  for (const server of servers) server.closeAllConnections();
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

afterAll(() => {
  expectNoCanaryInCliOutputs();
  removeTempProjects();
});

// ---- item 5: loggers --------------------------------------------------------------------------

describe('a logger passed to createAegis', () => {
  it('never receives the key a backend echoes in an error that is retried', async () => {
    let calls = 0;
    const backend = await hostile((_req, res) => {
      calls++;
      if (calls === 1) {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `upstream rejected key ${CANARY}, try again` } }));
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(completion('fine'));
      }
    });
    const dir = tempProject(openaiProfile('echo', 'URL', 'AEGIS_CANARY', 2));
    const logger = new MemoryLogger();
    const aegis = createAegis({ configPath: join(dir, 'backends.yaml'), cwd: dir, env: { URL: `${backend.url}/v1` }, plugins: PLUGINS, discover: false, logger, logLevel: 'debug' });
    try {
      expect((await aegis.getCompletion('echo', 'hi')).text).toBe('fine');
      // The retry was logged (with the backend's message), but with the key scrubbed.
      expect(logger.lines.some((line) => line.includes('retry') && line.includes('upstream rejected key ***'))).toBe(true);
      // Anything else handed to the instance's logger is scrubbed too, fields included, at any depth.
      aegis.logger.warn(`plugin says ${CANARY}`, { detail: { text: `x ${CANARY}`, list: [CANARY] }, apiKey: 'named-but-unknown-1234' });
      expect(logger.lines.at(-1)).toBe('warn: plugin says *** {"detail":{"text":"x ***","list":["***"]},"apiKey":"***"}');
      expectNoCanary(logger.lines.join('\n'), 'the log');
    } finally {
      aegis.close();
    }
  });
});

// ---- item 6: credentials in listings and messages ---------------------------------------------

describe('aegis profiles and validate with credentials in odd places', () => {
  const LITERALS = {
    typo: 'lit-typo-secret-aa11',
    bearer: 'lit-bearer-secret-bb22',
    pass: 'lit-pass-secret-cc33',
    nested: 'lit-nested-secret-dd44',
    header1: 'lit-header-secret-ee55',
    header2: 'lit-header-secret-ff66',
    header3: 'lit-header-secret-gg77',
    sig: 'lit-sig-secret-hh88',
    userinfo: 'lit-userinfo-secret-ii99',
    query: 'lit-query-secret-jj00',
    envPassword: 'env-url-password-kk11',
    envQuery: 'env-url-query-ll22',
    envSig: 'env-url-sig-mm33',
  };

  it('prints none of them, in JSON, in the table, in validation problems and in connection errors', async () => {
    const port = await closedPort();
    const yaml = [
      '- profile_name: odd_fields',
      '  type: ollama',
      '  base_url: ${ENV_URL}',
      '  model: llama3.2',
      `  api_kei: ${LITERALS.typo}`,
      `  bearer: ${LITERALS.bearer}`,
      `  pass: ${LITERALS.pass}`,
      '  options:',
      `    token: ${LITERALS.nested}`,
      '    headers:',
      `      x-api-key: ${LITERALS.header1}`,
      `      access-token: ${LITERALS.header2}`,
      `      X-Amz-Security-Token: ${LITERALS.header3}`,
      `  sig: ${LITERALS.sig}`,
      '- profile_name: url_secrets',
      '  type: ollama',
      `  base_url: http://admin:${LITERALS.userinfo}@127.0.0.1:${port}/?api_key=${LITERALS.query}&mode=x`,
      '  model: llama3.2',
      '  max_retries: 0',
      '- profile_name: env_url',
      '  type: ollama',
      '  base_url: ${ENV_URL}',
      '  model: llama3.2',
      '  max_retries: 0',
    ].join('\n');
    const dir = tempProject(yaml + '\n', {
      envLines: [`ENV_URL=http://envuser:${LITERALS.envPassword}@127.0.0.1:${port}/?api_key=${LITERALS.envQuery}&sig=${LITERALS.envSig}`],
    });

    const json = await runCli(['profiles', '--json'], dir);
    const table = await runCli(['profiles'], dir);
    const validate = await runCli(['validate'], dir);
    const refusedInline = await runCli(['complete', '-p', 'url_secrets', 'hi'], dir);
    const refusedEnv = await runCli(['complete', '-p', 'env_url', 'hi'], dir);
    const verbose = await runCli(['--verbose', 'complete', '-p', 'env_url', 'hi'], dir);

    expect(json.code).toBe(0);
    const listed = JSON.parse(json.stdout) as { name: string; values: Record<string, any> }[];
    const odd = listed.find((p) => p.name === 'odd_fields')!.values;
    expect(odd).toMatchObject({ api_kei: '***', bearer: '***', pass: '***', sig: '***', options: { token: '***' } });
    expect(odd.options.headers).toEqual({ 'x-api-key': '***', 'access-token': '***', 'X-Amz-Security-Token': '***' });
    expect(listed.find((p) => p.name === 'url_secrets')!.values.base_url).toBe(`http://***@127.0.0.1:${port}/?api_key=***&mode=x`);
    expect(odd.base_url).toBe(`http://***@127.0.0.1:${port}/?api_key=***&sig=***`);
    // The refused calls name the URL (so the user can fix it), without its credentials.
    expect(refusedInline.code).toBe(2);
    expect(refusedInline.stderr).toContain(`127.0.0.1:${port}`);
    expect(refusedEnv.stderr).toContain(`127.0.0.1:${port}`);

    for (const [name, result] of Object.entries({ json, table, validate, refusedInline, refusedEnv, verbose })) {
      for (const secret of Object.values(LITERALS)) {
        expect(`${name}: ${result.stdout}\n${result.stderr}`).not.toContain(secret);
      }
    }
  });
});

// ---- item 7: echoed keys, cut, escaped, collapsed, streamed ------------------------------------

describe('a backend that echoes the key back', () => {
  it('cannot leak a piece of it through the 200-character excerpt of an error body', async () => {
    // The excerpt cuts the body at 200 characters, in the middle of the key.
    const body = `bad credentials: ${'x'.repeat(160)} ${CANARY} (request id 42)`;
    const backend = await hostile((_req, res) => {
      res.writeHead(401, { 'content-type': 'text/plain' });
      res.end(body);
    });
    const dir = tempProject(openaiProfile('cut', 'URL', 'AEGIS_CANARY'));
    const result = await runCli(['complete', '-p', 'cut', 'hi'], dir, { URL: `${backend.url}/v1` });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('HTTP 401');
    expect(result.stderr).toContain('***…');
    expectNoCanary(result.stderr, 'stderr');
    expect(result.stderr).not.toContain(CANARY.slice(0, 10));

    // The library's error too: message and excerpt.
    const aegis = createAegis({ configPath: join(dir, 'backends.yaml'), cwd: dir, env: { URL: `${backend.url}/v1` }, plugins: PLUGINS, discover: false, logger: new MemoryLogger() });
    try {
      const error = await aegis.getCompletion('cut', 'hi').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(ProviderError.isInstance(error)).toBe(true);
      const shown = [(error as ProviderError).message, (error as ProviderError).bodyExcerpt, (error as ProviderError).stack].join('\n');
      expectNoCanary(shown, 'the error');
      expect(shown).not.toContain(CANARY.slice(0, 10));
    } finally {
      aegis.close();
    }
  });

  it('cannot leak a key containing " and \\ through its JSON-escaped form', async () => {
    const quoted = 'qk-"quoted\\secret-0123456789';
    const backend = await hostile((req, res) => {
      // A 200 answer of the wrong shape: the error quotes the body as JSON.
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ note: `you sent ${req.headers.authorization}` }));
    });
    const dir = tempProject(openaiProfile('escaped', 'URL', 'QUOTED_KEY'), { envLines: [`QUOTED_KEY='${quoted}'`] });
    const result = await runCli(['complete', '-p', 'escaped', 'hi'], dir, { URL: `${backend.url}/v1` });
    expect(backend.requests[0]?.authorization).toBe(`Bearer ${quoted}`);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('you sent Bearer ***');
    for (const form of [quoted, JSON.stringify(quoted).slice(1, -1), 'quoted\\secret', 'quoted\\\\secret']) expect(result.stderr).not.toContain(form);
  });

  it('cannot leak a key with runs of spaces once an excerpt collapsed them', async () => {
    const spaced = 'sp-key   with   runs   of   spaces-0123456789';
    const backend = await hostile((req, res) => {
      res.writeHead(403, { 'content-type': 'text/plain' });
      res.end(`forbidden for ${String(req.headers.authorization)}\n\n\tsee docs`);
    });
    const dir = tempProject(openaiProfile('spaced', 'URL', 'SPACED_KEY'), { envLines: [`SPACED_KEY=${spaced}`] });
    const result = await runCli(['complete', '-p', 'spaced', 'hi'], dir, { URL: `${backend.url}/v1` });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('forbidden for Bearer *** see docs');
    expect(result.stderr).not.toContain('with runs of spaces');
    expect(result.stderr).not.toContain('spaces-0123456789');
  });

  it('cannot leak a 600-character token streamed in 100-character deltas to `aegis complete --stream`', async () => {
    const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
    const token = 'tk-' + Array.from({ length: 597 }, (_, i) => alphabet[(i * 17 + 5) % alphabet.length]).join('');
    const backend = await hostile((_req, res) => {
      const deltas = ['Your token is '];
      for (let i = 0; i < token.length; i += 100) deltas.push(token.slice(i, i + 100));
      deltas.push(' — keep it safe.');
      return streamDeltas(res, deltas);
    });
    const dir = tempProject(openaiProfile('long', 'URL', 'LONG_TOKEN'), { envLines: [`LONG_TOKEN=${token}`] });
    const result = await runCli(['complete', '-p', 'long', '--stream', 'hi'], dir, { URL: `${backend.url}/v1` });
    expect(result).toEqual({ code: 0, stdout: 'Your token is *** — keep it safe.\n', stderr: '' });
    for (let i = 0; i + 16 <= token.length; i += 8) expect(result.stdout).not.toContain(token.slice(i, i + 16));
  });
});

describe('a stream that breaks off in the middle of the key', () => {
  it('shows none of the piece it sent', async () => {
    const backend = await hostile((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunk('Here it is: '));
      res.write(chunk(CANARY.slice(0, 12)));
      // Then, once that is sent, the connection dies, mid-key.
      res.write(chunk(CANARY.slice(12, 24)), () => res.destroy());
    });
    const dir = tempProject(openaiProfile('broken', 'URL', 'AEGIS_CANARY'));
    const result = await runCli(['complete', '-p', 'broken', '--stream', 'hi'], dir, { URL: `${backend.url}/v1` });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('Here it is: ***\n');
    expectNoCanary(result.stdout + result.stderr, 'the output');
    expect(result.stdout + result.stderr).not.toContain(CANARY.slice(0, 10));
  });
});

// ---- issue 10 item 4: streamed text is shown as it arrives ---------------------------------

describe('aegis complete --stream', () => {
  it('shows each delta of a CJK answer before the backend sends the next one', async () => {
    const deltas = ['北京', '是中华人民共和国', '的首都', '，', '也是', '全国的政治', '和文化中心', '。'];
    const stdout = new Capture();
    const stderr = new Capture();
    const seen: string[] = [];
    let heldBack = false;
    // The backend sends delta i only once the CLI has printed deltas 0..i-1. A CLI that holds
    // text back never shows it: after a generous wait that is recorded, and the rest is sent at once.
    const backend = await hostile((_req, res) =>
      streamDeltas(res, deltas, async (i) => {
        const expected = deltas.slice(0, i).join('');
        heldBack ||= !(await eventually(() => stdout.text === expected, heldBack ? 0 : 10_000));
        seen.push(heldBack ? `NOT SHOWN before delta ${i} (stdout: ${JSON.stringify(stdout.text)})` : stdout.text);
      }),
    );
    const dir = tempProject(openaiProfile('cjk', 'URL', 'AEGIS_CANARY'));
    const code = await main(['node', 'aegis', 'complete', '-p', 'cjk', '--stream', 'hi'], { stdout, stderr, stdin: Readable.from([]) }, {
      plugins: PLUGINS,
      cwd: dir,
      env: { URL: `${backend.url}/v1` },
    });
    expect(seen).toEqual(deltas.map((_, i) => deltas.slice(0, i).join('')));
    expect({ code, stdout: stdout.text, stderr: stderr.text }).toEqual({ code: 0, stdout: deltas.join('') + '\n', stderr: '' });
  }, 30_000);
});

// ---- item 9: terminal escape injection --------------------------------------------------------

describe('terminal escape sequences from outside', () => {
  const OSC52 = '\u001b]52;c;cm0gLXJmIH4=\u0007';
  const CLEAR = '\u001b[2J\u001b[H';
  const TITLE = '\u001b]0;pwned\u0007';
  const CSI8 = '\u009b31m';

  it('are escaped in profile names, types, descriptions, problems and JSON', async () => {
    const yaml = [
      `- profile_name: "evil${'\\e'}]52;c;cm0gLXJmIH4=${'\\a'}"`,
      '  type: ollama',
      '  base_url: http://127.0.0.1:1',
      '  model: llama3.2',
      `  description: "${'\\e'}[2J${'\\e'}[Hlooks fine ${'\\x9b'}31m 你好 👋"`,
      '- profile_name: bad_type',
      `  type: "ollama${'\\e'}]0;pwned${'\\a'}"`,
      '  base_url: http://127.0.0.1:1',
    ].join('\n');
    const dir = tempProject(yaml + '\n');
    const runs = {
      table: await runCli(['profiles'], dir),
      json: await runCli(['profiles', '--json'], dir),
      validate: await runCli(['validate'], dir),
      complete: await runCli(['complete', '-p', 'bad_type', 'hi'], dir),
    };
    for (const [name, result] of Object.entries(runs)) {
      expectTerminalSafe(result.stdout, `stdout of ${name}`);
      expectTerminalSafe(result.stderr, `stderr of ${name}`);
    }
    // Escaped visibly, the rest of the text intact.
    expect(runs.table.stdout).toContain('evil\\u001b]52;c;cm0gLXJmIH4=\\u0007');
    expect(runs.table.stdout).toContain('\\u001b[2J\\u001b[Hlooks fine \\u009b31m 你好 👋');
    expect(runs.validate.stdout + runs.validate.stderr).toContain('\\u001b]0;pwned\\u0007');
    // JSON stays valid JSON with the same strings.
    const listed = JSON.parse(runs.json.stdout) as { name: string; description?: string }[];
    expect(listed[0]!.name).toBe(`evil${OSC52}`);
    expect(listed[0]!.description).toBe(`${CLEAR}looks fine ${CSI8} 你好 👋`);
  });

  it('are escaped in a backend error message and in streamed text, which keeps its Unicode', async () => {
    const failing = await hostile((_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `bad request${OSC52}${CLEAR}${TITLE}${CSI8}` } }));
    });
    const streaming = await hostile((_req, res) => streamDeltas(res, ['héllo ', '世界 🎉', OSC52.slice(0, 4), OSC52.slice(4), ' ok\r\n', TITLE, 'end']));
    const dir = tempProject(openaiProfile('failing', 'FAIL_URL', 'AEGIS_CANARY') + openaiProfile('streaming', 'STREAM_URL', 'AEGIS_CANARY'));
    const env = { FAIL_URL: `${failing.url}/v1`, STREAM_URL: `${streaming.url}/v1` };
    const error = await runCli(['complete', '-p', 'failing', 'hi'], dir, env);
    const stream = await runCli(['complete', '-p', 'streaming', '--stream', 'hi'], dir, env);
    for (const [name, result] of Object.entries({ error, stream })) {
      expectTerminalSafe(result.stdout, `stdout of ${name}`);
      expectTerminalSafe(result.stderr, `stderr of ${name}`);
    }
    expect(error.code).toBe(2);
    expect(error.stderr).toContain('bad request\\u001b]52;c;cm0gLXJmIH4=\\u0007\\u001b[2J\\u001b[H\\u001b]0;pwned\\u0007\\u009b31m');
    expect(stream).toEqual({ code: 0, stdout: 'héllo 世界 🎉\\u001b]52;c;cm0gLXJmIH4=\\u0007 ok\n\\u001b]0;pwned\\u0007end\n', stderr: '' });
  });
});
