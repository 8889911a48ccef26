import { describe, expect, it } from '@jest/globals';
import { isUrl, redactUrlText, redactUrlsIn, urlCredentials } from './url-credentials.js';

/** The credential of `Authorization: Basic` for `userPass` (http/targets.ts sends a URL's userinfo so). */
const basic = (userPass: string): string => Buffer.from(userPass, 'utf8').toString('base64');

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
    expect(urlCredentials('https://user:pa%24s@h/?key=a%2Bb&model=m').sort()).toEqual(['a%2Bb', 'a+b', 'pa$s', 'pa%24s', 'user', basic('user:pa$s')].sort());
    expect(urlCredentials('https://h/v1')).toEqual([]);
  });

  it('tells a URL from other text', () => {
    expect(isUrl('https://h/v1')).toBe(true);
    expect(isUrl('sk-123')).toBe(false);
  });
});

describe('URL credentials: a password with an unencoded "@"', () => {
  // WHATWG URL (fetch, got, new URL) takes the userinfo up to the LAST "@" before the first "/", "?" or "#".
  const URL_TEXT = 'http://admin:hunter2@secretpart@localhost:1/v1?x=1';

  it('is redacted whole, as the URL parser reads it', () => {
    expect(new URL(URL_TEXT).password).toBe('hunter2%40secretpart');
    expect(redactUrlText(URL_TEXT)).toBe('http://***@localhost:1/v1?x=1');
    expect(redactUrlsIn(`POST ${URL_TEXT} failed`)).toBe('POST http://***@localhost:1/v1?x=1 failed');
    // An "@" after the path is not userinfo.
    expect(redactUrlText('http://h/a@b')).toBe('http://h/a@b');
  });

  it('is learnt whole: the user name up to the first ":", the password all the rest', () => {
    expect(urlCredentials(URL_TEXT).sort()).toEqual(['admin', 'hunter2@secretpart', basic('admin:hunter2@secretpart')].sort());
    const padded = basic('u:pa:ss');
    expect(padded.endsWith('=')).toBe(true);
    expect(urlCredentials('https://u:pa:ss@h/').sort()).toEqual(['pa:ss', 'u', padded, padded.replace(/=+$/, '')].sort());
  });
});

describe('URL credentials: the Authorization: Basic header they are sent as', () => {
  it('is base64(decoded user ":" decoded password), UTF-8, as node:http sends it', () => {
    expect(urlCredentials('http://b%C3%B6b:p%20w%2Bx@h:1/v1')).toContain(basic('böb:p w+x'));
    // A user name alone is sent with an empty password.
    expect(urlCredentials('http://someuser@h/')).toContain(basic('someuser:'));
    expect(urlCredentials('http://@h/')).toEqual([]);
  });
});

describe('URL credentials: punctuation after a URL in a sentence', () => {
  it('is kept: the ":" after a redacted query value is not swallowed', () => {
    expect(redactUrlsIn('POST http://localhost:1/?foo=1&api_key=ZZZZsecretZZZZ: connection refused')).toBe(
      'POST http://localhost:1/?foo=1&api_key=***: connection refused',
    );
    expect(redactUrlsIn('see http://u:p@h/x?token=t1, then http://h/?sig=s2.')).toBe('see http://***@h/x?token=***, then http://h/?sig=***.');
  });
});
