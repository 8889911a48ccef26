import { describe, expect, it } from '@jest/globals';
import { isUrl, redactUrlText, redactUrlsIn, urlCredentials } from './url-credentials.js';

describe('URL credentials', () => {
  it('redacts userinfo and credential parameters, and leaves the rest as written', () => {
    expect(redactUrlText('https://u:p@h:8080/v1?model=x&api_key=k1&access-token=k2&sig=k3#id_token=k4')).toBe(
      'https://***@h:8080/v1?model=x&api_key=***&access-token=***&sig=***#id_token=***',
    );
    expect(redactUrlText('http://h/v1?q=hello%20world')).toBe('http://h/v1?q=hello%20world');
    expect(redactUrlText('http://h/v1?api%5Fkey=k')).toBe('http://h/v1?api%5Fkey=***');
  });

  it('redacts every URL in a text', () => {
    expect(redactUrlsIn('from http://a:b@x/ to "https://y/?token=t" ok')).toBe('from http://***@x/ to "https://y/?token=***" ok');
    expect(redactUrlsIn('no url here')).toBe('no url here');
  });

  it('names the secret parts of a URL, decoded and as written', () => {
    expect(urlCredentials('https://user:pa%24s@h/?key=a%2Bb&model=m').sort()).toEqual(['a%2Bb', 'a+b', 'pa$s', 'pa%24s', 'user'].sort());
    expect(urlCredentials('https://h/v1')).toEqual([]);
  });

  it('tells a URL from other text', () => {
    expect(isUrl('https://h/v1')).toBe(true);
    expect(isUrl('sk-123')).toBe(false);
  });
});
