import { afterEach, describe, expect, it } from '@jest/globals';
import { ConfigurationError, FEATURE_CAPABILITIES, OPERATION_CAPABILITIES } from '@aegis/core';
import routerPlugins, { balancePlugin, fallbackPlugin } from './index.js';
import { aegisFor, compositeProfile, exampleProfile, rejection } from './__tests__/helpers.js';

const URL = 'http://127.0.0.1:9';
let dispose: (() => void) | undefined;

afterEach(() => {
  dispose?.();
  dispose = undefined;
});

function setup(lines: string[]) {
  const made = aegisFor(lines);
  dispose = made.dispose;
  return made.aegis;
}

describe('the package', () => {
  it('exports an array of the two plugins, each declaring every capability', () => {
    expect(routerPlugins.map((p) => p.type)).toEqual(['fallback', 'balance']);
    expect(routerPlugins).toEqual([fallbackPlugin, balancePlugin]);
    for (const plugin of routerPlugins) expect([...plugin.capabilities]).toEqual([...OPERATION_CAPABILITIES, ...FEATURE_CAPABILITIES]);
  });
});

describe('configuration', () => {
  it('reports a cycle between composite profiles from validate() and from getProviderForProfile', async () => {
    const aegis = setup([...compositeProfile('a', 'fallback', ['b']), ...compositeProfile('b', 'fallback', ['a'])]);
    const issues = await aegis.validate();
    expect(issues.some((i) => i.message.includes('a → b → a'))).toBe(true);
    const e = await rejection(aegis.getProviderForProfile('a'));
    expect(ConfigurationError.isInstance(e)).toBe(true);
    expect((e as Error).message).toContain('a → b → a');
    expect((e as Error).message).toMatch(/backends\.yaml:1\b/);
  });

  it('reports a cycle when its profiles are built at the same time (rather than waiting forever)', async () => {
    const aegis = setup([
      ...compositeProfile('a', 'fallback', ['b']),
      ...compositeProfile('b', 'balance', ['c']),
      ...compositeProfile('c', 'fallback', ['a']),
    ]);
    const outcomes = await Promise.allSettled(['b', 'c', 'a'].map((name) => aegis.getProviderForProfile(name)));
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      const reason = (outcome as PromiseRejectedResult).reason as Error;
      expect(ConfigurationError.isInstance(reason)).toBe(true);
      expect(reason.message).toMatch(/cycle: (b → c → a → b|c → a → b → c|a → b → c → a)/);
    }
  });

  it('reports a profile listing itself as a cycle', async () => {
    const aegis = setup(compositeProfile('self', 'balance', ['self']));
    const e = await rejection(aegis.getProviderForProfile('self'));
    expect(ConfigurationError.isInstance(e)).toBe(true);
    expect((e as Error).message).toContain('self → self');
  });

  it('reports an unknown member, naming the composite profile and the member', async () => {
    const aegis = setup([...exampleProfile('a', URL), ...compositeProfile('chain', 'fallback', ['a', 'nope', 'gone'])]);
    const e = await rejection(aegis.getProviderForProfile('chain'));
    expect(ConfigurationError.isInstance(e)).toBe(true);
    const error = e as ConfigurationError;
    expect(error.issues).toHaveLength(2);
    expect(error.issues[0]).toMatchObject({ profile: 'chain', field: 'profiles[1]' });
    expect(error.message).toContain('profile "chain", field "profiles[1]": unknown member profile "nope"');
    expect(error.message).toContain('unknown member profile "gone"');
    const issues = await aegis.validate();
    expect(issues.filter((i) => i.profile === 'chain').map((i) => i.field)).toEqual(['profiles[1]', 'profiles[2]']);
    expect(issues.filter((i) => i.profile === 'a')).toEqual([]);
  });

  it('reports a member whose own profile is broken', async () => {
    const aegis = setup([
      '- profile_name: a',
      '  type: example_com',
      '  llm_url: not a url',
      '  api_key: k',
      ...compositeProfile('chain', 'balance', ['a']),
    ]);
    const e = await rejection(aegis.getProviderForProfile('chain'));
    expect(ConfigurationError.isInstance(e)).toBe(true);
    expect((e as ConfigurationError).issues[0]).toMatchObject({ profile: 'a', field: 'llm_url' });
  });

  it('reports a member whose type has no plugin', async () => {
    const aegis = setup(['- profile_name: a', '  type: nowhere', ...compositeProfile('chain', 'fallback', ['a'])]);
    const e = await rejection(aegis.getProviderForProfile('chain'));
    expect(ConfigurationError.isInstance(e)).toBe(true);
    expect((e as ConfigurationError).issues[0]).toMatchObject({ profile: 'chain', field: 'profiles[0]' });
    expect((e as Error).message).toContain('member "a" cannot be used');
  });

  it('validates the composite fields', async () => {
    const aegis = setup([
      ...exampleProfile('a', URL),
      ...compositeProfile('empty', 'fallback', []),
      ...compositeProfile('twice', 'fallback', ['a', 'a']),
      ...compositeProfile('strategy', 'balance', ['a'], 'strategy: random'),
      ...compositeProfile('cooldown', 'balance', ['a'], 'cooldown: -1'),
      '- profile_name: missing',
      '  type: balance',
    ]);
    const issues = await aegis.validate();
    const fieldsOf = (profile: string) => issues.filter((i) => i.profile === profile).map((i) => i.field);
    expect(fieldsOf('empty')).toEqual(['profiles']);
    expect(fieldsOf('twice')).toEqual(['profiles[1]']);
    expect(issues.find((i) => i.profile === 'twice')?.message).toContain('"a" is listed more than once');
    expect(fieldsOf('strategy')).toEqual(['strategy']);
    expect(fieldsOf('cooldown')).toEqual(['cooldown']);
    expect(fieldsOf('missing')).toEqual(['profiles']);
    expect(fieldsOf('a')).toEqual([]);
  });

  it('accepts an idle_timeout on a composite profile and defaults it to unset', async () => {
    const aegis = setup([
      ...exampleProfile('a', URL),
      ...compositeProfile('set', 'fallback', ['a'], 'idle_timeout: 5'),
      ...compositeProfile('unset', 'fallback', ['a']),
    ]);
    expect(await aegis.validate()).toEqual([]);
    expect((await aegis.getBackendConfig('set')).idle_timeout).toBe(5);
    expect((await aegis.getBackendConfig('unset')).idle_timeout).toBeUndefined();
  });
});
