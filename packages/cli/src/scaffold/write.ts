import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PluginNames } from './names.js';

/** The template folder shipped with the CLI (packages/cli/templates/provider). */
const TEMPLATE_DIR = fileURLToPath(new URL('../../templates/provider', import.meta.url));

export interface ScaffoldValues {
  names: PluginNames;
  coreVersion: string;
  apiVersion: number;
}

/** Template file → target file: drop `.tmpl`; `gitignore` becomes `.gitignore` (npm would drop a real one from the tarball). */
function targetName(templatePath: string): string {
  const name = templatePath.replace(/\.tmpl$/, '');
  return name === 'gitignore' ? '.gitignore' : name;
}

function templateFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? templateFiles(path) : [path];
  });
}

function fill(text: string, values: ScaffoldValues): string {
  const { names } = values;
  const table: Record<string, string> = {
    __PACKAGE__: names.packageName,
    __TYPE__: names.type,
    __CLASS__: names.className,
    __CAMEL__: names.camelName,
    __TITLE__: names.title,
    __ENV__: names.envName,
    __CORE_VERSION__: values.coreVersion,
    __API_VERSION__: String(values.apiVersion),
  };
  return text.replace(/__[A-Z_]+?__/g, (token) => table[token] ?? token);
}

/** Writes the plugin package into `target` (which must not exist or be empty); returns the files written. */
export function writePluginPackage(target: string, values: ScaffoldValues): string[] {
  if (existsSync(target) && readdirSync(target).length > 0) {
    throw new Error(`${target} already exists and is not empty`);
  }
  const written: string[] = [];
  for (const file of templateFiles(TEMPLATE_DIR)) {
    const out = join(target, targetName(relative(TEMPLATE_DIR, file)));
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, fill(readFileSync(file, 'utf8'), values));
    written.push(relative(target, out));
  }
  return written.sort();
}
