/**
 * Every plugin is checked against this core before it is used, as
 * definePlugin checks: one passed in code that was not made with it, and one
 * marked by another (newer) copy of core that declares what this one does not
 * know, are a PluginError naming the problems, never a TypeError from deep inside.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeApp } from '../__tests__/fixtures.js';
import { createAegis } from '../aegis.js';
import { PluginError } from '../errors/plugin-error.js';
import { importPlugins } from './source.js';

// Inside the repository, so the plugin module below finds zod.
const app = makeApp();
const dir = app.dir;
afterAll(() => app.cleanup());

async function pluginError(promise: Promise<unknown>): Promise<PluginError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!PluginError.isInstance(error)) throw new Error(`expected a PluginError, got ${String(error)}`);
  return error;
}

describe('plugins are checked before use', () => {
  it('an object passed in code that is not a plugin: a PluginError naming what is missing, at the profile and in validate()', async () => {
    writeFileSync(join(dir, 'backends.yaml'), 'profiles:\n  - profile_name: p\n    type: fake\n');
    const aegis = createAegis({ configPath: join(dir, 'backends.yaml'), plugins: [{ type: 'fake' } as never], discover: false, env: {} });
    const atProfile = await pluginError(aegis.getProviderForProfile('p'));
    expect(atProfile.message).toMatch(/backends\.yaml:3: profile "p": a plugin passed in code for type "fake" is not one \(make it with definePlugin from @aegis\/core\): "apiVersion" must be a number; "configSchema" must be a zod object schema/);
    await pluginError(aegis.validate());
    aegis.close();
  });

  it('a plugin of the first API, whose config schema has only the base fields of that time, is accepted by this core', async () => {
    const entry = join(dir, 'api1.mjs');
    writeFileSync(
      entry,
      `import { z } from 'zod';
const base = {
  profile_name: z.string(), type: z.string(), description: z.string().optional(), timeout: z.number(), idle_timeout: z.number(), max_retries: z.number(),
  temperature: z.number().optional(), max_tokens: z.number().optional(), top_p: z.number().optional(), stop: z.array(z.string()).optional(), seed: z.number().optional(),
};
export default { [Symbol.for('aegis.plugin')]: true, apiVersion: 1, type: 'api1', configSchema: z.object(base), capabilities: ['completion'], create: () => ({}) };
`,
    );
    const plugins = await importPlugins(entry, 'plugin package "aegis-provider-api1"');
    expect(plugins.map((p) => [p.type, p.apiVersion])).toEqual([['api1', 1]]);
  });

  it('a plugin marked by another copy of core that declares a capability this one does not know', async () => {
    const entry = join(dir, 'newer.mjs');
    writeFileSync(
      entry,
      `import { z } from 'zod';
const base = { profile_name: z.string(), type: z.string(), description: z.string().optional(), timeout: z.number(), idle_timeout: z.number(), max_retries: z.number() };
export default { [Symbol.for('aegis.plugin')]: true, apiVersion: 1, type: 'newer', configSchema: z.object(base), capabilities: ['completion', 'video'], create: () => ({}) };
`,
    );
    const error = await pluginError(importPlugins(entry, 'plugin package "aegis-provider-newer"'));
    expect(error.message).toMatch(/plugin package "aegis-provider-newer" exports a plugin this @aegis\/core cannot use \(made for a newer one\?\): .*unknown capabilities: video/);
  });
});
