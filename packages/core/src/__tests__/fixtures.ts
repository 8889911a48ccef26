import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Temporary applications live inside the repo so `@aegis/core` and `zod` resolve from them. */
const TMP_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../.tmp');

export interface FakeApp {
  dir: string;
  write(path: string, content: string | object): void;
  cleanup(): void;
}

export function makeApp(dependencies: Record<string, string> = {}): FakeApp {
  mkdirSync(TMP_ROOT, { recursive: true });
  const dir = mkdtempSync(join(TMP_ROOT, 'app-'));
  const write = (path: string, content: string | object) => {
    const full = join(dir, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  };
  write('package.json', { name: 'fake-app', version: '1.0.0', type: 'module', dependencies });
  return { dir, write, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Source of a plugin module with one in-memory provider type. */
export function pluginSource(type: string, options: { apiVersion?: number; throwOnImport?: string; capabilities?: string[] } = {}): string {
  return `
import { definePlugin, BaseBackendConfig, BackendProvider, secret, z } from '@aegis/core';
globalThis.__aegisLoads = globalThis.__aegisLoads ?? {};
globalThis.__aegisLoads[${JSON.stringify(type)}] = (globalThis.__aegisLoads[${JSON.stringify(type)}] ?? 0) + 1;
${options.throwOnImport ? `throw new Error(${JSON.stringify(options.throwOnImport)});` : ''}
class Provider extends BackendProvider {
  async doCompletion(messages, settings) {
    return { text: '${type} says: ' + messages[messages.length - 1].content + ' (t=' + settings.temperature + ')', finishReason: 'stop' };
  }
}
export default definePlugin({
  apiVersion: ${options.apiVersion ?? 1},
  type: ${JSON.stringify(type)},
  configSchema: BaseBackendConfig.extend({
    type: z.literal(${JSON.stringify(type)}),
    model: z.string().default('m1'),
    api_key: secret(z.string()).optional(),
    base_url: z.string().default('http://localhost:1'),
  }),
  capabilities: ${JSON.stringify(options.capabilities ?? ['completion'])},
  create: (config, context) => new Provider(config, context),
});
`;
}

/** Writes an installed plugin package into the app's node_modules. */
export function installPlugin(
  app: FakeApp,
  name: string,
  types: string[],
  options: { apiVersion?: number; manifestApiVersion?: number; throwOnImport?: string; source?: string } = {},
): void {
  app.write(`node_modules/${name}/package.json`, {
    name,
    version: '1.2.3',
    type: 'module',
    keywords: ['aegis-provider'],
    aegis: { apiVersion: options.manifestApiVersion ?? options.apiVersion ?? 1, providers: types },
    exports: { '.': { import: './index.js' } },
  });
  app.write(`node_modules/${name}/index.js`, options.source ?? pluginSource(types[0]!, options));
}

export function loads(type: string): number {
  return ((globalThis as Record<string, unknown>).__aegisLoads as Record<string, number> | undefined)?.[type] ?? 0;
}
