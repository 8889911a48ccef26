/**
 * Image parts as each kind of backend takes them: a URL (`https:` or a
 * `data:` URL) for chat APIs that accept one, bare base64 for backends that
 * take only the bytes. Core never fetches an image URL on a caller's behalf:
 * a gateway in front of AEGIS would otherwise fetch whatever URL a client
 * names (server-side request forgery), so a URL image for a bytes-only backend
 * is refused with a CapabilityNotSupportedError before any request.
 */
import { CapabilityNotSupportedError } from '../errors/capability-error.js';
import type { ImagePart } from './content.js';

/** An image as base64 and its MIME type. */
export interface InlineImage {
  base64: string;
  mimeType: string;
}

const DATA_URL = /^data:([^;,]+)?((?:;[^;,]*)*?);base64,(.*)$/is;

/** The MIME type of image bytes, from their first bytes (PNG, JPEG, GIF, WebP, BMP), or undefined. */
export function sniffImageType(bytes: Uint8Array): string | undefined {
  const starts = (...sig: number[]) => sig.every((b, i) => bytes[i] === b);
  if (starts(0x89, 0x50, 0x4e, 0x47)) return 'image/png';
  if (starts(0xff, 0xd8, 0xff)) return 'image/jpeg';
  if (starts(0x47, 0x49, 0x46, 0x38)) return 'image/gif';
  if (starts(0x52, 0x49, 0x46, 0x46) && bytes[8] === 0x57 && bytes[9] === 0x45 && bytes[10] === 0x42 && bytes[11] === 0x50) return 'image/webp';
  if (starts(0x42, 0x4d)) return 'image/bmp';
  return undefined;
}

/** The image inline (base64 + MIME type), or undefined when it is a remote URL. A malformed value is a TypeError. */
export function inlineImage(part: ImagePart): InlineImage | undefined {
  const { image } = part;
  if (image instanceof Uint8Array) {
    const base64 = Buffer.from(image.buffer, image.byteOffset, image.byteLength).toString('base64');
    return { base64, mimeType: part.mimeType ?? sniffImageType(image) ?? 'application/octet-stream' };
  }
  const text = image instanceof URL ? image.href : image;
  if (typeof text !== 'string' || text === '') throw new TypeError('an image part needs image: bytes (Uint8Array), base64 text or a URL');
  const data = DATA_URL.exec(text);
  if (data) return { base64: data[3]!.replace(/\s+/g, ''), mimeType: part.mimeType ?? data[1] ?? 'application/octet-stream' };
  if (/^https?:\/\//i.test(text)) return undefined;
  // Base64 has no colon: anything with a scheme here is a URL of a kind no backend takes.
  if (/^[a-z][a-z0-9+.-]*:/i.test(text)) throw new TypeError(`an image URL must be https:, http: or data: (got ${JSON.stringify(text.slice(0, 40))})`);
  const base64 = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64)) throw new TypeError('an image given as text must be base64, or an https:, http: or data: URL');
  return { base64, mimeType: part.mimeType ?? sniffImageType(Buffer.from(base64.slice(0, 24), 'base64')) ?? 'application/octet-stream' };
}

/** The image as a URL: the remote URL as given, or a `data:` URL of its bytes. */
export function imageUrl(part: ImagePart): string {
  const inline = inlineImage(part);
  if (!inline) return part.image instanceof URL ? part.image.href : (part.image as string);
  return `data:${inline.mimeType};base64,${inline.base64}`;
}

/**
 * The image's bare base64, for backends that take only the bytes; a remote
 * URL is refused (core does not fetch it: see above), naming the provider.
 */
export function imageBase64(part: ImagePart, providerType: string, profileName: string): InlineImage {
  const inline = inlineImage(part);
  if (inline) return inline;
  throw new CapabilityNotSupportedError(
    providerType,
    profileName,
    'images given as URLs (this backend takes image bytes: pass a Uint8Array, base64 or a data: URL; AEGIS does not fetch URLs)',
  );
}
