import { describe, expect, it } from '@jest/globals';
import { pluginNames } from './names.js';

describe('pluginNames', () => {
  it('derives every name from "acme-cloud", scoped or not, with or without the prefix', () => {
    expect(pluginNames('acme-cloud')).toMatchObject({ packageName: 'aegis-provider-acme-cloud', type: 'acme_cloud', className: 'AcmeCloud', envName: 'ACME_CLOUD' });
    expect(pluginNames('@corp/aegis-provider-acme').packageName).toBe('@corp/aegis-provider-acme');
  });

  it('says the whole rule when a name breaks it (a leading digit too)', () => {
    for (const bad of ['2fast', 'Acme', 'a', 'acme-', 'ac--me', 'ac_me']) {
      expect(() => pluginNames(bad)).toThrow(/start with a lowercase letter, then lowercase letters, digits and single dashes/);
    }
  });
});
