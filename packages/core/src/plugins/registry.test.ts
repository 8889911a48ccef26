/**
 * A plugin written for another plugin API is refused from its package.json
 * alone, on every path that could import it: listings and the editors' JSON
 * Schema as well as a profile's provider.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { createAegis } from '../aegis.js';
import { installPlugin, loads, makeApp, type FakeApp } from '../__tests__/fixtures.js';

let app: FakeApp | undefined;
afterEach(() => app?.cleanup());

describe('a plugin for another plugin API', () => {
  it('is listed by plugins() with the version mismatch, without importing it', async () => {
    app = makeApp({ 'aegis-provider-later': '1', 'aegis-provider-now': '1' });
    installPlugin(app, 'aegis-provider-later', ['later_list_t'], { apiVersion: 2 });
    installPlugin(app, 'aegis-provider-now', ['now_list_t']);
    app.write('backends.yaml', '[]\n');
    const listing = await createAegis({ cwd: app.dir, env: {} }).plugins();
    const later = listing.find((p) => p.name === 'aegis-provider-later');
    expect(later?.error).toContain('plugin API version 2');
    expect(later?.capabilities).toEqual({});
    expect(listing.find((p) => p.name === 'aegis-provider-now')?.capabilities).toEqual({ now_list_t: ['completion'] });
    expect(loads('later_list_t')).toBe(0);
  });

  it("is left out of jsonSchema() without importing it; the other plugins' types are in it", async () => {
    app = makeApp({ 'aegis-provider-later': '1', 'aegis-provider-now': '1' });
    installPlugin(app, 'aegis-provider-later', ['later_schema_t'], { apiVersion: 2 });
    installPlugin(app, 'aegis-provider-now', ['now_schema_t']);
    app.write('backends.yaml', '[]\n');
    const schema = JSON.stringify(await createAegis({ cwd: app.dir, env: {} }).jsonSchema());
    expect(schema).toContain('now_schema_t');
    expect(schema).not.toContain('later_schema_t');
    expect(loads('later_schema_t')).toBe(0);
  });
});
