/** `aegis serve` in a child process: the built CLI, as a user runs it. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
export const CLI = join(REPO, 'packages/cli/dist/bundle/bin.js');

export interface ServeProcess {
  child: ChildProcess;
  /** The base URL it listens on (from its start-up line). */
  url: string;
  stdout: () => string;
  stderr: () => string;
  /** Resolves when stderr matches (the jest timeout bounds the wait). */
  waitForStderr(pattern: RegExp, from?: number): Promise<string>;
  signal(name: NodeJS.Signals): void;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

export async function startServe(args: string[], env: Record<string, string | undefined>, cwd = REPO): Promise<ServeProcess> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
  const child = spawn(process.execPath, [CLI, ...args, 'serve', '--port', '0'], { cwd, env: { ...process.env, AEGIS_BACKENDS: undefined, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    for (const listener of listeners) listener();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitForStderr = (pattern: RegExp, from = 0) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const match = pattern.exec(err.slice(from));
        if (match) {
          listeners.delete(check);
          resolve(match[0]);
        }
      };
      listeners.add(check);
      void exited.then((code) => {
        if (listeners.has(check)) reject(new Error(`aegis serve exited (${code}) before printing ${pattern}:\n${err}`));
      });
      check();
    });
  const started = await waitForStderr(/on (http:\/\/[^\s]+)\/v1/);
  const url = /on (http:\/\/[^\s]+)\/v1/.exec(started)![1]!;
  return {
    child,
    url,
    stdout: () => out,
    stderr: () => err,
    waitForStderr,
    signal: (name) => child.kill(name),
    exited,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
