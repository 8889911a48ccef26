/**
 * Local plugins named under `plugins:` are untrusted input until loaded: their
 * package.json is read like a shipped description (regular file, size cap, no
 * quoting), and only a regular file is ever imported. Every refusal is an
 * issue at the `plugins:` entry (file:line).
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatIssue } from '../errors/index.js';
import { discoverPlugins } from './discovery.js';
import { MAX_PACKAGE_JSON_BYTES } from './manifest.js';

let dir: string;
const writers: ChildProcess[] = [];
beforeEach(() => {
  dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'aegis-local-plugin-')));
  fs.writeFileSync(path.join(dir, 'package.json'), '{"name":"app","private":true}');
});
afterEach(() => {
  for (const writer of writers.splice(0)) writer.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

const PLUGIN_JSON = JSON.stringify({ name: 'local-pp', version: '1.0.0', aegis: { apiVersion: 1, providers: ['pp'] } });

/** A FIFO a child process writes `text` into: a reader that accepts FIFOs gets the text (and the test fails) instead of hanging. */
function fifoFedWith(file: string, text: string): void {
  execFileSync('mkfifo', [file]);
  writers.push(spawn('sh', ['-c', 'printf %s "$1" > "$2"', 'sh', text, file], { stdio: 'ignore' }));
}

function discover(spec: string) {
  return discoverPlugins({ appRoot: dir, configDir: dir, configPlugins: [{ spec, file: 'backends.yaml', line: 2 }] });
}

describe('a local plugin folder', () => {
  it('loads with a valid package.json', () => {
    fs.mkdirSync(path.join(dir, 'p'));
    fs.writeFileSync(path.join(dir, 'p', 'package.json'), PLUGIN_JSON);
    fs.writeFileSync(path.join(dir, 'p', 'index.js'), 'export default {}');
    const result = discover('./p');
    expect(result.issues).toEqual([]);
    expect(result.sources.map((s) => s.types)).toEqual([['pp']]);
  });

  it('with a package.json that is not JSON: an issue at the entry, without quoting the file', () => {
    fs.mkdirSync(path.join(dir, 'p'));
    fs.writeFileSync(path.join(dir, 'p', 'package.json'), '{"name": sk-secret-in-a-broken-file');
    const result = discover('./p');
    expect(result.sources).toEqual([]);
    expect(result.issues.map(formatIssue)).toEqual([
      'backends.yaml:2: field "plugins": local plugin "./p" is not loaded: unreadable or invalid package.json (package.json is not valid JSON)',
    ]);
  });

  it('with a package.json larger than the limit: not read, an issue at the entry', () => {
    fs.mkdirSync(path.join(dir, 'p'));
    fs.writeFileSync(path.join(dir, 'p', 'package.json'), PLUGIN_JSON.replace('}', `,"pad":"${'x'.repeat(MAX_PACKAGE_JSON_BYTES)}"}`));
    const result = discover('./p');
    expect(result.sources).toEqual([]);
    expect(result.issues.map(formatIssue)).toEqual([
      'backends.yaml:2: field "plugins": local plugin "./p" is not loaded: unreadable or invalid package.json (package.json is larger than 1 MiB, the most AEGIS reads from such a file (limits: docs/security.md))',
    ]);
  });

  it('with a FIFO as package.json: refused at once, never read', () => {
    fs.mkdirSync(path.join(dir, 'p'));
    fifoFedWith(path.join(dir, 'p', 'package.json'), PLUGIN_JSON);
    const result = discover('./p');
    expect(result.sources).toEqual([]);
    expect(result.issues.map(formatIssue)).toEqual([
      'backends.yaml:2: field "plugins": local plugin "./p" is not loaded: unreadable or invalid package.json (package.json is not a regular file (a FIFO, a device or a socket?))',
    ]);
  });

  it('whose entry point leads outside the folder ("main": "../x.js", or a symlink): refused, never imported', () => {
    fs.writeFileSync(path.join(dir, 'evil.js'), 'export default {}');
    fs.mkdirSync(path.join(dir, 'p'));
    fs.writeFileSync(path.join(dir, 'p', 'package.json'), JSON.stringify({ ...JSON.parse(PLUGIN_JSON), main: '../evil.js' }));
    fs.mkdirSync(path.join(dir, 'q'));
    fs.writeFileSync(path.join(dir, 'q', 'package.json'), PLUGIN_JSON);
    fs.symlinkSync(path.join(dir, 'evil.js'), path.join(dir, 'q', 'index.js'));
    for (const spec of ['./p', './q']) {
      const result = discover(spec);
      expect(result.sources).toEqual([]);
      expect(result.issues.map(formatIssue)).toEqual([
        `backends.yaml:2: field "plugins": local plugin "${spec}": its entry point (${path.join(dir, 'evil.js')}) lies outside the plugin's directory (${path.join(dir, spec.slice(2))}); it is not loaded`,
      ]);
    }
  });

  it('whose entry point is a FIFO: refused, never imported', () => {
    fs.mkdirSync(path.join(dir, 'p'));
    fs.writeFileSync(path.join(dir, 'p', 'package.json'), PLUGIN_JSON);
    execFileSync('mkfifo', [path.join(dir, 'p', 'index.js')]);
    const result = discover('./p');
    expect(result.sources).toEqual([]);
    expect(result.issues.map(formatIssue)).toEqual([
      `backends.yaml:2: field "plugins": local plugin "./p": its entry point (${path.join(dir, 'p', 'index.js')}) is not a regular file or directory (a FIFO, a socket or a device?); it is not loaded`,
    ]);
  });
});

describe('a local plugin file', () => {
  it('that is a FIFO is an issue, not a source whose import would wait for ever', () => {
    execFileSync('mkfifo', [path.join(dir, 'p.js')]);
    const result = discover('./p.js');
    expect(result.sources).toEqual([]);
    expect(result.issues.map(formatIssue)).toEqual([
      'backends.yaml:2: field "plugins": local plugin "./p.js" is not a regular file or directory (a FIFO, a socket or a device?); it is not loaded',
    ]);
  });

  it('that is a regular file is a source', () => {
    fs.writeFileSync(path.join(dir, 'p.js'), 'export default {}');
    const result = discover('./p.js');
    expect(result.issues).toEqual([]);
    expect(result.sources.map((s) => s.location)).toEqual([path.join(dir, 'p.js')]);
  });
});

describe("a local plugin folder's shipped description", () => {
  const DESCRIPTION = (text: string) =>
    JSON.stringify({ apiVersion: 1, providers: { pp: { description: text, capabilities: ['completion'], configSchema: { type: 'object', properties: {} } } } });

  /** A plugin folder `p` whose manifest names `./desc.json` as its description. */
  function pluginWithDescription(): string {
    const plugin = path.join(dir, 'p');
    fs.mkdirSync(plugin);
    fs.writeFileSync(path.join(plugin, 'package.json'), JSON.stringify({ ...JSON.parse(PLUGIN_JSON), aegis: { apiVersion: 1, providers: ['pp'], description: './desc.json' } }));
    fs.writeFileSync(path.join(plugin, 'index.js'), 'throw new Error("imported")');
    return plugin;
  }

  it('is read when it is inside the folder, through a symlink that stays inside too', () => {
    const plugin = pluginWithDescription();
    fs.mkdirSync(path.join(plugin, 'dist'));
    fs.writeFileSync(path.join(plugin, 'dist', 'aegis-plugin.json'), DESCRIPTION('shipped inside'));
    fs.symlinkSync('dist/aegis-plugin.json', path.join(plugin, 'desc.json'));
    const [source] = discover('./p').sources;
    expect(source!.description()?.providers.pp?.description).toBe('shipped inside');
  });

  it('that is a symlink to a file outside the folder is refused on its real path, never read', () => {
    const plugin = pluginWithDescription();
    const outside = path.join(dir, 'outside');
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, 'secret-desc.json'), DESCRIPTION('READ FROM OUTSIDE'));
    // The path as written (./desc.json) is inside: only its real path says where it leads.
    fs.symlinkSync('../outside/secret-desc.json', path.join(plugin, 'desc.json'));
    const result = discover('./p');
    expect(result.issues).toEqual([]);
    expect(() => result.sources[0]!.description()).toThrow(
      `the plugin description ${path.join(plugin, 'desc.json')} leads outside the plugin's directory (to ${path.join(outside, 'secret-desc.json')}); it is not read`,
    );
  });
});
