import { describe, expect, it } from '@jest/globals';
import { editDistance, isHarmlessHeader, isHeadersMap, looksLikeCredential, nameWords } from './credential-names.js';

describe('looksLikeCredential', () => {
  it.each([
    'api_key',
    'apiKey',
    'API_KEY',
    'apikey',
    'key',
    'x-api-key',
    'X-Api-Key',
    'x-goog-api-key',
    'access-token',
    'accessToken',
    'X-Amz-Security-Token',
    'X-Amz-Signature',
    'sig',
    'bearer',
    'pass',
    'password',
    'passwd',
    'token',
    'secret',
    'client_secret',
    'authorization',
    'Proxy-Authorization',
    'Ocp-Apim-Subscription-Key',
    'credentials',
    'cookie',
    'private_key',
  ])('%s is a credential', (name) => {
    expect(looksLikeCredential(name)).toBe(true);
  });

  it.each(['api_kei', 'apikee', 'pasword', 'passwrod', 'secert', 'acess_token', 'x_api_kee', 'authorisation', 'credentails', 'bearr'])(
    'the typo %s is a credential',
    (name) => {
      expect(looksLikeCredential(name)).toBe(true);
    },
  );

  it.each([
    'max_tokens',
    'maxTokens',
    'tokens',
    'tokenizer',
    'token_limit',
    'key_file',
    'api_key_env',
    'auth_type',
    'model',
    'base_url',
    'path',
    'keep_alive',
    'temperature',
    'description',
    'profile_name',
    'header',
    'monkey',
    'passage',
    'author',
  ])('%s is not a credential', (name) => {
    expect(looksLikeCredential(name)).toBe(false);
  });
});

describe('credential name helpers', () => {
  it('splits names in any spelling into lower-case words', () => {
    expect(nameWords('X-Amz-Security-Token')).toEqual(['x', 'amz', 'security', 'token']);
    expect(nameWords('APIKey')).toEqual(['api', 'key']);
    expect(nameWords('options.access_token')).toEqual(['options', 'access', 'token']);
  });

  it('counts a swap of neighbours as one edit', () => {
    expect(editDistance('secert', 'secret')).toBe(1);
    expect(editDistance('apikei', 'apikey')).toBe(1);
    expect(editDistance('abc', 'xyz')).toBe(3);
  });

  it('knows header maps and harmless headers', () => {
    expect(isHeadersMap('headers')).toBe(true);
    expect(isHeadersMap('extra_headers')).toBe(true);
    expect(isHeadersMap('defaultHeaders')).toBe(true);
    expect(isHeadersMap('header_name')).toBe(false);
    expect(isHarmlessHeader('Content-Type')).toBe(true);
    expect(isHarmlessHeader('X-Custom-Thing')).toBe(false);
  });
});
