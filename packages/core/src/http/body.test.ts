import { describe, expect, it } from '@jest/globals';
import { withoutUndefined } from './body.js';

describe('withoutUndefined', () => {
  it('drops the undefined fields only (null, 0, false and "" are values), in order, without touching the input', () => {
    const input = { model: 'm', temperature: undefined, top_p: 0, stop: null, stream: false, user: '', seed: undefined };
    const out = withoutUndefined(input);
    expect(out).toEqual({ model: 'm', top_p: 0, stop: null, stream: false, user: '' });
    expect(Object.keys(out)).toEqual(['model', 'top_p', 'stop', 'stream', 'user']);
    expect(JSON.stringify(out)).toBe('{"model":"m","top_p":0,"stop":null,"stream":false,"user":""}');
    expect(input).toHaveProperty('temperature', undefined);
  });
});
