import { inspect } from 'node:util';
import { describe, expect, it } from '@jest/globals';
import { excerpt } from '../http/error-mapping.js';
import { SecretScrubber } from './scrubber.js';

const KEY = 'sk-test-0123456789abcdefghijklmnop';

function scrubberWith(...secrets: string[]): SecretScrubber {
  const scrubber = new SecretScrubber();
  for (const secret of secrets) scrubber.add(secret);
  return scrubber;
}

describe('SecretScrubber.scrub', () => {
  it('removes every occurrence of a secret', () => {
    expect(scrubberWith(KEY).scrub(`a ${KEY} b ${KEY}`)).toBe('a *** b ***');
  });

  it('ignores values too short to be secrets, and trims the ones it keeps', () => {
    const scrubber = scrubberWith('abc', `  ${KEY}\n`);
    expect(scrubber.size).toBe(1);
    expect(scrubber.scrub(`abc ${KEY}`)).toBe('abc ***');
  });

  it('finds a secret JSON-escaped, once and twice', () => {
    const secret = 'pa"ss\\word-123456';
    const once = JSON.stringify({ key: secret });
    const twice = JSON.stringify({ body: once });
    const scrubber = scrubberWith(secret);
    expect(scrubber.scrub(once)).toBe('{"key":"***"}');
    expect(scrubber.scrub(twice)).not.toContain('ss\\');
    expect(scrubber.scrub(twice)).toContain('***');
  });

  it('finds a secret percent-encoded in a URL', () => {
    const secret = 'a/b+c=d&e 12345';
    expect(scrubberWith(secret).scrub(`https://h/x?q=${encodeURIComponent(secret)}`)).toBe('https://h/x?q=***');
  });

  it('finds a secret whose runs of whitespace were collapsed or changed', () => {
    const secret = 'correct   horse\tbattery staple';
    const scrubber = scrubberWith(secret);
    expect(scrubber.scrub('pw: correct horse battery staple.')).toBe('pw: ***.');
    expect(scrubber.scrub('pw: correct\nhorse  battery   staple.')).toBe('pw: ***.');
    expect(scrubber.scrub(excerpt(`pw: ${secret}`))).toBe('pw: ***');
  });

  it('removes the piece of a secret an excerpt cut off, before the marker and at the end', () => {
    const body = 'invalid key: ' + 'x'.repeat(170) + ' ' + KEY + ' please check';
    const cut = excerpt(body, 200);
    expect(cut).toContain(KEY.slice(0, 10));
    const scrubbed = scrubberWith(KEY).scrub(`failed: ${cut} (retry)`);
    expect(scrubbed).not.toContain(KEY.slice(0, 8));
    expect(scrubbed).toMatch(/\*\*\*…/);
    expect(scrubberWith(KEY).scrub(`ends with ${KEY.slice(0, 12)}`)).toBe('ends with ***');
  });

  it('keeps a short common start at a cut (sk-) as it is', () => {
    expect(scrubberWith(KEY).scrub('keys start with sk-')).toBe('keys start with sk-');
  });

  it('removes user, password and credential query values of any URL', () => {
    const scrubber = new SecretScrubber();
    expect(scrubber.scrub('GET https://bob:hunter2@example.com/v1/x?model=a&api_key=XYZ&sig=abc#frag failed')).toBe(
      'GET https://***@example.com/v1/x?model=a&api_key=***&sig=***#frag failed',
    );
    expect(scrubber.scrub('see https://h/p?X-Amz-Security-Token=T0K&X-Amz-Signature=s1g&x=1')).toBe(
      'see https://h/p?X-Amz-Security-Token=***&X-Amz-Signature=***&x=1',
    );
  });

  it('learns the secrets among configuration values at any depth', () => {
    const scrubber = new SecretScrubber();
    scrubber.addFromValues({
      api_kei: 'typo-secret-1',
      options: { token: 'nested-secret-2', deeper: [{ bearer: 'nested-secret-3' }] },
      headers: { 'x-custom-auth': 'header-secret-4', 'Content-Type': 'application/json' },
      base_url: 'https://user:url-password-5@h/v1?api_key=url-query-6',
      model: 'llama3.2',
      note: 'Bearer abcdefgh12345',
      description: 'Basic settings',
    });
    const text = scrubber.scrub(
      'typo-secret-1 nested-secret-2 nested-secret-3 header-secret-4 url-password-5 url-query-6 application/json llama3.2 abcdefgh12345',
    );
    // The credential of `Bearer abcdefgh12345` is learnt bare too: a backend may echo it without the scheme.
    expect(text).toBe('*** *** *** *** *** *** application/json llama3.2 ***');
    expect(scrubber.scrub('auth: Bearer abcdefgh12345')).toBe('auth: ***');
    expect(scrubber.scrub('Basic settings')).toBe('Basic settings');
  });

  it('learns the credential of an Authorization-style value bare too: a backend may echo it without its scheme', () => {
    const scrubber = new SecretScrubber();
    scrubber.addFromValues({ headers: { Authorization: 'Bearer tok_9f8e7d6c5b4a39281706ZZ', 'X-Api': 'Token abcd-1234' }, api_key: 'Basic dXNlcjpwYXNz' });
    expect(scrubber.scrub('Incorrect API key provided: tok_9f8e7d6c5b4a39281706ZZ; abcd-1234 dXNlcjpwYXNz')).toBe('Incorrect API key provided: ***; *** ***');
    expect(scrubber.scrub('sent: Bearer tok_9f8e7d6c5b4a39281706ZZ')).toBe('sent: ***');
    // A plain description is not a credential, and is not learnt.
    scrubber.addFromValues({ description: 'Basic settings' });
    expect(scrubber.scrub('Basic settings')).toBe('Basic settings');
  });

  it("learns a URL's user:password@ as the Basic credential it is sent as", () => {
    const scrubber = new SecretScrubber();
    scrubber.addEnvValue('http://admin:Hunter2-S3cret%40Pass@127.0.0.1:1/v1');
    const basic = Buffer.from('admin:Hunter2-S3cret@Pass').toString('base64');
    expect(scrubber.scrub(`invalid credentials: Basic ${basic}`)).toBe('invalid credentials: Basic ***');
  });

  it('takes every .env value as a secret but plain settings, and of a URL its credentials', () => {
    const scrubber = new SecretScrubber();
    for (const value of ['true', '8080', 'debug', 'llama3.2', ' key-with-space ', 'http://u:pw-12345@h:1/v1']) scrubber.addEnvValue(value);
    expect(scrubber.scrub('"usable": true, port 8080, debug, llama3.2, key-with-space, http://h:1/v1 pw-12345')).toBe(
      '"usable": true, port 8080, debug, ***, ***, http://h:1/v1 ***',
    );
  });

  it('takes a long number (a PIN, an account id) from .env as a secret, a short one (a port) as a setting', () => {
    const scrubber = new SecretScrubber();
    scrubber.addEnvValue('12345678');
    scrubber.addEnvValue('8080');
    expect(scrubber.scrub('x 12345678')).toBe('x ***');
    expect(scrubber.scrub('port 8080')).toBe('port 8080');
  });

  it('scrubs a stack already formatted with the secret in it (V8 formats it on first read), and what util.inspect shows', () => {
    const cause = new Error(`inner ${KEY}`);
    const error = new Error(`outer ${KEY}`, { cause });
    // Something (a logger, a debugger) read the stacks before the error reached the scrubber.
    expect(error.stack).toContain(KEY);
    expect(cause.stack).toContain(KEY);
    scrubberWith(KEY).scrubError(error);
    expect(error.stack).not.toContain(KEY);
    expect(cause.stack).not.toContain(KEY);
    expect(error.stack).toContain('outer ***');
    expect(inspect(error)).not.toContain(KEY);
  });

  it('scrubs an error, its cause chain and its excerpt fields', () => {
    const cause = new Error(`inner ${KEY}`);
    const error = Object.assign(new Error(`outer ${KEY}`, { cause }), { bodyExcerpt: `body ${KEY}`, url: `https://h/?key=${KEY}` });
    scrubberWith(KEY).scrubError(error);
    expect(error.message).toBe('outer ***');
    expect(cause.message).toBe('inner ***');
    expect(error.bodyExcerpt).toBe('body ***');
    expect(error.url).toBe('https://h/?key=***');
    expect(error.stack).not.toContain(KEY);
  });
});

describe('StreamScrubber', () => {
  it('holds back only an end that could still become a secret', () => {
    const stream = scrubberWith(KEY).createStreamScrubber();
    expect(stream.write('hello ')).toBe('hello ');
    expect(stream.write('the key is sk-te')).toBe('the key is ');
    expect(stream.held).toBe('sk-te');
    expect(stream.write('st-0123')).toBe('');
    expect(stream.write('456789abcdefghijklmnop and')).toBe('*** and');
    expect(stream.write(' so on')).toBe(' so on');
    expect(stream.end()).toBe('');
  });

  it('lets go of a held end as soon as it stops matching', () => {
    const stream = scrubberWith(KEY).createStreamScrubber();
    expect(stream.write('sk-t')).toBe('');
    expect(stream.write('ea time')).toBe('sk-tea time');
  });

  it('never holds text that cannot start a secret: CJK, long words, URLs', () => {
    const stream = scrubberWith(KEY).createStreamScrubber();
    for (const piece of ['你好', '，世界', '。', 'x'.repeat(1000), 'https://example.com/a/very/long/path']) {
      expect(stream.write(piece)).toBe(piece);
    }
  });

  it('never shows a 600-character secret streamed in 100-character pieces, or any piece of it', () => {
    const token = Array.from({ length: 600 }, (_, i) => 'abcdefghijklmnopqrstuvwxyz0123456789'[(i * 7) % 36]).join('');
    const stream = scrubberWith(token).createStreamScrubber();
    let shown = stream.write('token: ');
    for (let i = 0; i < token.length; i += 100) shown += stream.write(token.slice(i, i + 100));
    shown += stream.write(' done');
    shown += stream.end();
    expect(shown).toBe('token: *** done');
  });

  it('removes a secret written one character at a time, in its JSON-escaped form too', () => {
    const secret = 'se"cret\\value-42';
    const stream = scrubberWith(secret).createStreamScrubber();
    let shown = '';
    for (const char of JSON.stringify({ k: secret })) shown += stream.write(char);
    shown += stream.end();
    expect(shown).toBe('{"k":"***"}');
  });

  it('replaces a piece of a secret the stream broke off in, but shows a short common start', () => {
    const broken = scrubberWith(KEY).createStreamScrubber();
    expect(broken.write(`x ${KEY.slice(0, 20)}`)).toBe('x ');
    expect(broken.end()).toBe('***');
    const short = scrubberWith(KEY).createStreamScrubber();
    expect(short.write('x sk-')).toBe('x ');
    expect(short.end()).toBe('sk-');
  });

  it('waits for the longer of two secrets that start alike', () => {
    const stream = scrubberWith('abcd1234', 'abcd12345678').createStreamScrubber();
    expect(stream.write('v=abcd1234')).toBe('v=');
    expect(stream.write('5678!')).toBe('***!');
  });

  it('uses secrets learnt during the stream', () => {
    const scrubber = new SecretScrubber();
    const stream = scrubber.createStreamScrubber();
    expect(stream.write(`a ${KEY} `)).toBe(`a ${KEY} `);
    scrubber.add(KEY);
    expect(stream.write(`b ${KEY} `)).toBe('b *** ');
  });
});

describe('isPlainSubstitution', () => {
  it('a host substituted into a credential-named field is a secret; into another field, a setting', async () => {
    const { isPlainSubstitution } = await import('./secret-fields.js');
    expect(isPlainSubstitution('DB_HOST', 'db.example.com', 'password')).toBe(false);
    expect(isPlainSubstitution('DB_HOST', 'db.example.com', 'Authorization')).toBe(false);
    expect(isPlainSubstitution('DB_HOST', 'db.example.com', 'base_url')).toBe(true);
  });
});

describe('redactValues', () => {
  it('redacts credential fields at any depth, header maps, key-shaped values and URL credentials', async () => {
    const { redactValues } = await import('./secret-fields.js');
    const shown = redactValues(
      {
        profile_name: 'p',
        api_key: 'k1-abcdef',
        api_kei: 'k2-abcdef',
        max_tokens: 100,
        stream: true,
        options: { token: 'k3', temperature: 0.2, list: [{ password: 'k4' }] },
        extra_headers: { 'X-Portkey-Virtual-Key': 'k5', 'Content-Type': 'application/json' },
        anything: 'Bearer abc.def.ghi-123',
        base_url: 'https://u:p@h/v1?key=k6&model=m',
        description: 'Basic settings, see https://h/docs?sig=k7',
        custom: 'marked',
        empty_secret: '',
      },
      new Set(['custom']),
    );
    expect(shown).toEqual({
      profile_name: 'p',
      api_key: '***',
      api_kei: '***',
      max_tokens: 100,
      stream: true,
      options: { token: '***', temperature: 0.2, list: [{ password: '***' }] },
      extra_headers: { 'X-Portkey-Virtual-Key': '***', 'Content-Type': 'application/json' },
      anything: '***',
      base_url: 'https://***@h/v1?key=***&model=m',
      description: 'Basic settings, see https://h/docs?sig=***',
      custom: '***',
      empty_secret: '',
    });
  });
});

describe('secrets nested deep', () => {
  /** `{ l0: { l1: ... { [leaf]: value } } }`, `levels` mappings deep. */
  function nested(levels: number, leaf: Record<string, unknown>): Record<string, unknown> {
    let value: Record<string, unknown> = leaf;
    for (let i = levels - 1; i >= 0; i--) value = { [`l${i}`]: value };
    return value;
  }
  const SECRET = 'hunter2-very-secret-value';

  it('a credential at any depth the loader accepts (64) is learnt and redacted (it stopped at 32)', async () => {
    const { redactValues } = await import('./secret-fields.js');
    for (const levels of [10, 40, 62]) {
      const values = nested(levels, { password: SECRET, url: `http://u:${SECRET}@h/` });
      const scrubber = new SecretScrubber();
      scrubber.addFromValues(values);
      expect([levels, scrubber.scrub(`x ${SECRET} y`)]).toEqual([levels, 'x *** y']);
      const shown = JSON.stringify(redactValues(values));
      expect([levels, shown.includes(SECRET)]).toEqual([levels, false]);
    }
  });

  it('past that depth (values given in code), the whole subtree is hidden and every string of it learnt', async () => {
    const { redactValues } = await import('./secret-fields.js');
    const values = nested(100, { note: 'not-a-credential-name', password: SECRET });
    const shown = JSON.stringify(redactValues(values));
    expect(shown).not.toContain(SECRET);
    expect(shown).not.toContain('not-a-credential-name');
    expect(shown).toContain('"***"');
    const scrubber = new SecretScrubber();
    scrubber.addFromValues(values);
    expect(scrubber.scrub(`${SECRET} not-a-credential-name`)).toBe('*** ***');
  });

  it('a secret field holding a deep value has every string of it learnt (add stopped at 8 levels), once for a cycle', () => {
    const deep = nested(30, { v: SECRET });
    const cyclic: Record<string, unknown> = { k: 'cyclic-secret-1234' };
    cyclic.self = cyclic;
    const scrubber = new SecretScrubber();
    scrubber.addFromValues({ api_key: deep, token: cyclic });
    expect(scrubber.scrub(`${SECRET} cyclic-secret-1234`)).toBe('*** ***');
  });
});
