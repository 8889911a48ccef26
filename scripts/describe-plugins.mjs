#!/usr/bin/env node
/**
 * After `tsc -b`: writes the description each plugin of this repository
 * ships (dist/aegis-plugin.json: capabilities and config JSON Schema of each
 * type), so `aegis plugins` and `aegis validate --no-import` read it instead
 * of importing plugin code. Third-party plugins run `aegis plugin describe`.
 */
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writePluginDescription } from '@aegis/core';

const plugins = join(dirname(fileURLToPath(import.meta.url)), '..', 'plugins');
for (const name of readdirSync(plugins).sort()) {
  await writePluginDescription(join(plugins, name));
}
