/**
 * Machinery of the hostile-input suites: the real `aegis` CLI in a child
 * process under a memory and time bound (for attacks that used to hang or
 * exhaust memory: a test must never take the test runner down with it), and
 * temporary directories laid out around a project (to put a plugin outside it).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CANARY } from './helpers.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The built CLI (`npm run build`); the child-process tests need it. */
export const CLI_BIN = join(ROOT, 'packages', 'cli', 'dist', 'bundle', 'bin.js');

export interface ChildResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** True when the kill timer ended it: the attack hung the CLI. */
  killed: boolean;
}

export interface ChildLimits {
  /** V8 heap limit of the child (MiB): an attack that builds gigabytes dies of it instead of the machine. */
  maxOldSpaceMb?: number;
  /**
   * When the child is killed. Far above what the fixed code needs (well under a
   * second of work) even on a loaded 2-core machine: the bound only decides
   * between "finished" and "hung for minutes".
   */
  killAfterMs?: number;
}

/** Runs `aegis <args>` from the built bundle in a child process with `cwd`, under a memory and time bound. */
export function runCliChild(args: string[], cwd: string, env: Record<string, string> = {}, limits: ChildLimits = {}): Promise<ChildResult> {
  if (!existsSync(CLI_BIN)) throw new Error(`the built CLI is missing (${CLI_BIN}): run \`npm run build\` first`);
  const { maxOldSpaceMb = 256, killAfterMs = CHILD_KILL_AFTER_MS } = limits;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`--max-old-space-size=${maxOldSpaceMb}`, CLI_BIN, ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? '', HOME: cwd, NO_COLOR: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d.slice(0, 1_000_000)));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d.slice(0, 1_000_000)));
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, killAfterMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, killed });
    });
  });
}

/**
 * When a child CLI is killed: far above the second or two the fixed code needs
 * on a loaded 2-core machine; a test that runs a child gives itself {@link CHILD_TEST_TIMEOUT_MS}.
 */
export const CHILD_KILL_AFTER_MS = 60_000;
/** Jest timeout of a test that runs child CLIs: room for the kill timer of two runs. */
export const CHILD_TEST_TIMEOUT_MS = 150_000;

const dirs: string[] = [];

/**
 * A temporary directory holding `project/` (backends.yaml, a .env with the
 * canary, a package.json) and room beside it for what lies outside the project.
 */
export function hostileLayout(yaml: string, files: Record<string, string> = {}): { root: string; project: string } {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'aegis-hostile-')));
  dirs.push(root);
  const project = join(root, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'hostile-app', private: true }));
  writeFileSync(join(project, 'backends.yaml'), yaml);
  writeFileSync(join(project, '.env'), `AEGIS_CANARY=${CANARY}\n`);
  for (const [name, text] of Object.entries(files)) writeIn(root, name, text);
  return { root, project };
}

/** Writes `text` at `name` (relative to `dir`), making its folders. */
export function writeIn(dir: string, name: string, text: string): string {
  const file = join(dir, name);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  return file;
}

/** A symlink at `link` (relative to `dir`) to `target`. */
export function linkIn(dir: string, link: string, target: string): void {
  const file = join(dir, link);
  mkdirSync(dirname(file), { recursive: true });
  symlinkSync(target, file);
}

/** Makes the repository's @aegis/core importable from `dir` (for local plugins that extend its classes). */
export function linkCore(dir: string): void {
  linkIn(dir, 'node_modules/@aegis/core', join(ROOT, 'packages', 'core'));
}

/** Makes the repository's Ollama plugin an installed dependency of the project (for the child-process CLI). */
export function installOllama(project: string): void {
  linkIn(project, 'node_modules/@aegis/provider-ollama', join(ROOT, 'plugins', 'ollama'));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'hostile-app', private: true, dependencies: { '@aegis/provider-ollama': '*' } }));
}

export function removeHostileLayouts(): void {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}
