/**
 * A handful of the faults again, through the real CLI run in-process
 * (`aegis complete`), in a project whose .env holds the canary secret used as
 * the profiles' key: exit codes (0 ok, 2 backend failure, 130 interrupted),
 * what reaches stdout (never an invented answer; a broken stream's partial
 * text, ended by a newline) and stderr (the typed error, naming profile and
 * URL; stacks, causes and debug logs with --verbose) and, in every byte of
 * it, no piece of the canary.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { defaultReplyText } from '@aegis/testkit';
import {
  CANARY,
  cliOutputs,
  eventually,
  expectNoCanary,
  expectNoCanaryInCliOutputs,
  forEachKind,
  KINDS,
  type Fleet,
  type Kind,
  openConnections,
  removeTempProjects,
  requestsTo,
  runCli,
  startFleet,
  TARGETS,
  timed,
  freshEmulators,
} from './helpers.js';

const REPLY = (kind: Kind) => defaultReplyText(TARGETS[kind].label);

let fleet: Fleet;
const aegis = (...args: string[]) => runCli(args, fleet.inst.dir, fleet.env);
const urlOf = (kind: Kind, stream = false) => `${fleet.emulators[kind].url}${stream ? TARGETS[kind].streamPath : TARGETS[kind].completionPath}`;

beforeAll(async () => {
  fleet = await startFleet({
    plain: { max_retries: 0, timeout: 60, idle_timeout: 60 },
    retrying: { max_retries: 3, timeout: 60, idle_timeout: 60 },
    // Long enough for the request to reach the emulator first, whatever the load; the idle timeout is far beyond it.
    deadline: { max_retries: 2, timeout: 1, idle_timeout: 60 },
    refused: { max_retries: 0 },
  });
});

afterAll(async () => {
  await fleet.close();
  removeTempProjects();
});

beforeEach(() => freshEmulators(Object.values(fleet.emulators)));

describe('aegis complete against healthy backends', () => {
  it('prints the answer, plain and streamed, and exits 0', async () => {
    await forEachKind(KINDS, async (kind) => {
      expect(await aegis('complete', '-p', `${kind}_plain`, 'Why is the sky blue?')).toEqual({ code: 0, stdout: REPLY(kind) + '\n', stderr: '' });
      expect(await aegis('complete', '-p', `${kind}_plain`, '--stream', 'Why is the sky blue?')).toEqual({ code: 0, stdout: REPLY(kind) + '\n', stderr: '' });
    });
  });

  it('prints {text, finishReason, usage, model} with --json', async () => {
    const result = await aegis('complete', '-p', 'ollama_plain', '--json', 'hi');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ text: REPLY('ollama'), finishReason: 'stop', model: 'llama3.2' });
  });
});

describe('aegis complete against failing backends', () => {
  it('connection refused: exit 2, the error names the profile and the URL', async () => {
    await forEachKind(KINDS, async (kind) => {
      const result = await aegis('complete', '-p', `${kind}_refused`, 'hi');
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(new RegExp(`^aegis: profile "${kind}_refused" \\(${kind}\\): POST http://127\\.0\\.0\\.1:\\d+/\\S+: connection refused`));
    });
  });

  it('503 twice then success: exit 0 with the answer; --verbose shows the retries in the log', async () => {
    await forEachKind(KINDS, async (kind) => {
      fleet.emulators[kind].failNext({ kind: 'status', status: 503, retryAfter: '0' }, 2);
      const result = await aegis('--verbose', 'complete', '-p', `${kind}_retrying`, 'hi');
      expect(result.code).toBe(0);
      expect(result.stdout).toBe(REPLY(kind) + '\n');
      expect(result.stderr).toContain(`aegis: info: profile "${kind}_retrying": retry 1 in 0 ms after: POST ${urlOf(kind)} failed with HTTP 503`);
      expect(result.stderr).toContain(`aegis: info: profile "${kind}_retrying": retry 2 in 0 ms`);
      expect(requestsTo(fleet.emulators[kind], TARGETS[kind].completionPath)).toBe(3);
    });
  });

  it("a server that never answers: exit 2 with a timeout, no earlier than the profile's deadline", async () => {
    await forEachKind(KINDS, async (kind) => {
      fleet.emulators[kind].failNext({ kind: 'hang' });
      const { ms, value } = await timed(aegis('complete', '-p', `${kind}_deadline`, 'hi'));
      expect(value!.code).toBe(2);
      expect(value!.stdout).toBe('');
      // The message says the deadline ended it (the idle timeout is 60 s away).
      expect(value!.stderr).toContain(`aegis: profile "${kind}_deadline" (${kind}): POST ${urlOf(kind)}: no complete answer before the call's deadline (timeout)`);
      expect(ms).toBeGreaterThanOrEqual(1000 - 20);
      // (KoboldCpp's background abort request, if any, was written before the CLI closed its
      // instance: it lands before the next test's freshEmulators is quiet.)
    });
  });

  it('malformed JSON: exit 2, bad response named, nothing on stdout', async () => {
    await forEachKind(KINDS, async (kind) => {
      fleet.emulators[kind].failNext({ kind: 'malformed-json' });
      const result = await aegis('complete', '-p', `${kind}_retrying`, 'hi');
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain(`profile "${kind}_retrying"`);
      expect(result.stderr).toContain(urlOf(kind));
    });
  });

  it('a truncated stream: the partial text on stdout (ended by a newline), exit 2, and stderr says the answer is incomplete', async () => {
    await forEachKind(KINDS, async (kind) => {
      fleet.emulators[kind].failNext({ kind: 'truncate' });
      const result = await aegis('complete', '-p', `${kind}_retrying`, '--stream', 'hi');
      expect(result.code).toBe(2);
      expect(result.stdout).toBe(REPLY(kind) + '\n');
      expect(result.stderr).toContain(`stream from ${urlOf(kind, true)} ended before`);
      expect(result.stderr).toContain(`the answer is incomplete (after ${REPLY(kind).length} characters of the answer)`);
      expect(requestsTo(fleet.emulators[kind], TARGETS[kind].streamPath)).toBe(1);
    });
  });

  it('a stream reset mid-way with --verbose: exit 2, the partial text, the stack and its causes on stderr', async () => {
    // The backends whose streams are framed (chunked), where a reset is always a connection error; KoboldCpp's
    // close-delimited stream may read a reset as its end (faults-stream.test.ts, RESET_REASONS).
    await forEachKind(['ollama', 'openai'], async (kind) => {
      fleet.emulators[kind].failNext({ kind: 'reset-mid-stream', afterChunks: 3 });
      const result = await aegis('--verbose', 'complete', '-p', `${kind}_retrying`, '--stream', 'hi');
      expect(result.code).toBe(2);
      expect(REPLY(kind).startsWith(result.stdout.replace(/\n$/, ''))).toBe(true);
      expect(result.stdout.length).toBeGreaterThan(1);
      expect(result.stderr).toContain(`aegis: profile "${kind}_retrying" (${kind}): POST ${urlOf(kind, true)}: connection failed`);
      expect(result.stderr).toMatch(/\n\s+at /);
      expect(result.stderr).toContain('caused by:');
    });
  });
});

describe('the canary secret', () => {
  it('a backend error body quoting the key: scrubbed from stderr, with and without --verbose', async () => {
    await forEachKind(KINDS, async (kind) => {
      for (const verbose of [[], ['--verbose']]) {
        fleet.emulators[kind].failNext({
          kind: 'status',
          status: 401,
          body: { error: { message: `Incorrect API key provided: ${CANARY}.` }, detail: { msg: `Incorrect API key provided: ${CANARY}.` } },
        });
        const result = await aegis(...verbose, 'complete', '-p', `${kind}_plain`, 'hi');
        expect(result.code).toBe(2);
        expect(result.stderr).toContain('HTTP 401');
        expect(result.stderr).toContain('Incorrect API key provided: ***');
        expectNoCanary(result.stderr, `stderr (${kind} ${verbose.join(' ')})`);
      }
    });
  });

  it('an answer that contains the key, plain or streamed in pieces: scrubbed from stdout', async () => {
    await forEachKind(KINDS, async (kind) => {
      fleet.emulators[kind].setReply({ text: `Your key is ${CANARY} and nothing else.` });
      for (const args of [[], ['--stream'], ['--json']]) {
        const result = await aegis('complete', '-p', `${kind}_plain`, ...args, 'What is my key?');
        expect(result.code).toBe(0);
        expect(result.stdout).toContain('Your key is ***');
        expectNoCanary(result.stdout, `stdout (${kind} ${args.join(' ')})`);
      }
    });
  });

  it('no CLI run of this file printed any piece of it', () => {
    expect(cliOutputs.length).toBeGreaterThan(20);
    expectNoCanaryInCliOutputs();
  });
});

describe('Ctrl-C', () => {
  it('aborts a call to a server that never answers: exit 130 at once, the socket freed', async () => {
    const emu = fleet.emulators.ollama;
    fleet.inst.aegis.close(); // the test's own instance keeps no socket to this emulator open
    await eventually(async () => (await openConnections(emu)) === 0);
    emu.failNext({ kind: 'hang' });
    const listeners = process.listenerCount('SIGINT');
    const running = aegis('complete', '-p', 'ollama_plain', 'hi');
    await eventually(() => requestsTo(emu, '/api/chat') === 1);
    const start = performance.now();
    process.emit('SIGINT');
    const result = await running;
    // At once: nothing else would end this call before the profile's 60 s deadline.
    expect(performance.now() - start).toBeLessThan(5000);
    expect(result.code).toBe(130);
    expect(result.stderr).toContain('interrupted');
    expect(process.listenerCount('SIGINT')).toBe(listeners);
    expect(await eventually(async () => (await openConnections(emu)) === 0)).toBe(true);
  });
});
