import { UsageError } from '../errors.js';

/** The names a new plugin package is written with, all derived from the one the author gives. */
export interface PluginNames {
  /** npm package name: `aegis-provider-<name>` (or the scoped / prefixed name given). */
  packageName: string;
  /** Directory name. */
  dirName: string;
  /** Provider `type:` value: the name with `-` as `_`. */
  type: string;
  /** PascalCase, for classes. */
  className: string;
  /** camelCase, for variables. */
  camelName: string;
  /** Human title. */
  title: string;
  /** UPPER_SNAKE, for environment variables. */
  envName: string;
}

const PREFIX = 'aegis-provider-';

export function pluginNames(input: string): PluginNames {
  const raw = input.trim();
  const scoped = /^(@[a-z0-9][a-z0-9._-]*)\/(.+)$/.exec(raw);
  const bare = (scoped ? scoped[2]! : raw).replace(new RegExp(`^${PREFIX}`), '');
  if (!/^[a-z][a-z0-9-]*[a-z0-9]$/.test(bare) || bare.includes('--')) {
    throw new UsageError(
      `invalid plugin name "${input}": start with a lowercase letter, then lowercase letters, digits and single dashes, at least two characters, not ending in a dash, e.g. "acme" or "acme-cloud"`,
    );
  }
  const words = bare.split('-');
  const pascal = words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
  return {
    packageName: scoped ? `${scoped[1]}/${PREFIX}${bare}` : `${PREFIX}${bare}`,
    dirName: `${PREFIX}${bare}`,
    type: words.join('_'),
    className: pascal,
    camelName: pascal[0]!.toLowerCase() + pascal.slice(1),
    title: words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join(' '),
    envName: words.join('_').toUpperCase(),
  };
}
