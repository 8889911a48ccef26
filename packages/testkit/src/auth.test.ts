import { describe, expect, it } from '@jest/globals';
import { authorized, bearerToken, credentialOf, type RecordedRequest } from './index.js';
import type { HandlerCtx } from './backend.js';

const request = (headers: Record<string, string>, url = '/v1/chat'): RecordedRequest => ({
  method: 'POST',
  path: url.split('?')[0]!,
  url,
  headers,
  body: Buffer.alloc(0),
});
const ctx = (req: RecordedRequest, apiKey?: string) => ({ req, reply: {}, options: { apiKey } }) as unknown as HandlerCtx;

describe('auth helpers for emulated backends', () => {
  it('reads a key from Authorization: Bearer (the default), another scheme, a plain header or a query parameter', () => {
    expect(bearerToken(request({ authorization: 'Bearer k-1' }))).toBe('k-1');
    expect(credentialOf(request({ authorization: 'Token k-2' }), { header: 'Authorization', scheme: 'Token' })).toBe('k-2');
    expect(credentialOf(request({ authorization: 'Token k-2' }))).toBeUndefined();
    expect(credentialOf(request({ 'x-api-key': ' k-3 ' }), { header: 'X-Api-Key' })).toBe('k-3');
    expect(credentialOf(request({}, '/v1/chat?key=k-4&x=1'), { query: 'key' })).toBe('k-4');
    expect(credentialOf(request({}), { header: 'x-api-key' })).toBeUndefined();
  });

  it('authorized() checks the key where the backend expects it', () => {
    const viaHeader = request({ 'api-key': 'secret-1' });
    expect(authorized(ctx(viaHeader, 'secret-1'), { header: 'api-key' })).toBe(true);
    expect(authorized(ctx(viaHeader, 'secret-1'))).toBe(false);
    expect(authorized(ctx(viaHeader, 'other'), { header: 'api-key' })).toBe(false);
    expect(authorized(ctx(request({}), undefined), { header: 'api-key' })).toBe(true);
  });
});
