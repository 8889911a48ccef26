import { describe, expect, it } from '@jest/globals';
import { imageBase64, imageUrl, inlineImage, sniffImageType } from './images.js';
import { CapabilityNotSupportedError } from '../errors/capability-error.js';

/** The first bytes of each format (enough for sniffing), padded. */
const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d]);
const JPEG = Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1]);
const GIF = Uint8Array.from([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 1, 0, 1, 0, 0, 0]);
const WEBP = Uint8Array.from([0x52, 0x49, 0x46, 0x46, 0x24, 0, 0, 0, 0x57, 0x45, 0x42, 0x50]);
const WAV = Uint8Array.from([0x52, 0x49, 0x46, 0x46, 0x24, 0, 0, 0, 0x57, 0x41, 0x56, 0x45]);
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');

describe('sniffImageType', () => {
  it('names PNG, JPEG, GIF and WebP by their first bytes, and nothing else (a RIFF that is not WebP)', () => {
    expect([PNG, JPEG, GIF, WEBP].map(sniffImageType)).toEqual(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);
    expect(sniffImageType(WAV)).toBeUndefined();
    expect(sniffImageType(new Uint8Array(0))).toBeUndefined();
  });
});

describe('inlineImage', () => {
  it('bytes: base64 of exactly the view given, the type sniffed, or the caller\'s own type when given', () => {
    const view = new Uint8Array([9, 9, ...JPEG]).subarray(2);
    expect(inlineImage({ type: 'image', image: view })).toEqual({ base64: b64(JPEG), mimeType: 'image/jpeg' });
    // An animated PNG starts as any PNG does: the caller's type is kept, not replaced by a guess.
    expect(inlineImage({ type: 'image', image: PNG, mimeType: 'image/apng' })).toEqual({ base64: b64(PNG), mimeType: 'image/apng' });
    expect(inlineImage({ type: 'image', image: Uint8Array.from([1, 2, 3]) })!.mimeType).toBe('application/octet-stream');
  });

  it('a data: URL: its type and its base64 (whitespace removed); the caller\'s type wins', () => {
    expect(inlineImage({ type: 'image', image: `data:image/gif;base64,${b64(GIF)}` })).toEqual({ base64: b64(GIF), mimeType: 'image/gif' });
    expect(inlineImage({ type: 'image', image: `data:image/png;name=x.png;base64,${b64(PNG).slice(0, 8)}\n${b64(PNG).slice(8)}` })).toEqual({
      base64: b64(PNG),
      mimeType: 'image/png',
    });
    expect(inlineImage({ type: 'image', image: `data:image/gif;base64,${b64(GIF)}`, mimeType: 'image/x-gif' })!.mimeType).toBe('image/x-gif');
  });

  it('bare base64 text: its type sniffed from the decoded bytes', () => {
    expect(inlineImage({ type: 'image', image: b64(WEBP) })).toEqual({ base64: b64(WEBP), mimeType: 'image/webp' });
  });

  it('an http(s) URL is remote (undefined); another scheme or text that is not base64 is a TypeError', () => {
    expect(inlineImage({ type: 'image', image: 'https://example.com/cat.png' })).toBeUndefined();
    expect(inlineImage({ type: 'image', image: new URL('http://example.com/cat.png') })).toBeUndefined();
    expect(() => inlineImage({ type: 'image', image: 'file:///etc/passwd' })).toThrow(TypeError);
    expect(() => inlineImage({ type: 'image', image: 'not base64!' })).toThrow(TypeError);
    expect(() => inlineImage({ type: 'image', image: '' })).toThrow(TypeError);
  });
});

describe('imageUrl and imageBase64', () => {
  it('imageUrl: a remote URL as given, anything inline as a data: URL of its type', () => {
    expect(imageUrl({ type: 'image', image: 'https://example.com/cat.png' })).toBe('https://example.com/cat.png');
    expect(imageUrl({ type: 'image', image: JPEG })).toBe(`data:image/jpeg;base64,${b64(JPEG)}`);
  });

  it('imageBase64 refuses a remote URL naming the provider (core never fetches it), and passes inline images', () => {
    expect(imageBase64({ type: 'image', image: GIF }, 'ollama', 'local')).toEqual({ base64: b64(GIF), mimeType: 'image/gif' });
    let error: unknown;
    try {
      imageBase64({ type: 'image', image: 'https://example.com/cat.png' }, 'ollama', 'local');
    } catch (e) {
      error = e;
    }
    expect(CapabilityNotSupportedError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain('"ollama"');
    expect((error as Error).message).toContain('does not fetch URLs');
  });
});
