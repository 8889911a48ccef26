import { urlToHttpOptions } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { parseTarget, targetOptions } from './targets.js';

describe('request targets', () => {
  it('gives node:http the options its own urlToHttpOptions gives, for every kind of URL', () => {
    for (const text of [
      'http://127.0.0.1:8080/v1/chat/completions',
      'https://api.example.test/v1/embeddings?api-version=2024-10-21',
      'http://[::1]:11434/api/chat',
      'https://user:p%40ss@host.test/v1/x',
      'http://host.test/',
    ]) {
      const url = new URL(text);
      const theirs = urlToHttpOptions(url);
      const ours = targetOptions(url);
      expect({ text, ...ours }).toEqual({
        text,
        protocol: theirs.protocol,
        hostname: theirs.hostname,
        path: theirs.path,
        ...(theirs.port !== undefined ? { port: theirs.port } : {}),
        ...(theirs.auth !== undefined ? { auth: theirs.auth } : {}),
      });
    }
  });

  it('parses a URL once, and hands out options node:http may write into without touching the kept ones', () => {
    const text = 'http://127.0.0.1:9/v1/models';
    const url = parseTarget(text);
    expect(parseTarget(text)).toBe(url);
    Object.assign(targetOptions(url), { method: 'POST', path: '/elsewhere' }); // as node:http does
    expect(targetOptions(url)).toEqual({ protocol: 'http:', hostname: '127.0.0.1', port: 9, path: '/v1/models' });
  });

  it('refuses an invalid URL as new URL does', () => {
    expect(() => parseTarget('not a url')).toThrow(/Invalid URL/);
  });
});
