/**
 * The parts a user message's content may be made of, when it is more than
 * plain text. A plain string stays valid everywhere a content is expected.
 */
export interface TextPart {
  type: 'text';
  text: string;
}

/**
 * An image: its bytes, base64 text (no `data:` prefix), or a URL (`https:`,
 * or a `data:` URL). `mimeType` is required for bytes and base64 unless the
 * provider can tell (a `data:` URL carries its own).
 */
export interface ImagePart {
  type: 'image';
  image: Uint8Array | string | URL;
  mimeType?: string;
}

export type ContentPart = TextPart | ImagePart;

/** A user message's content: plain text, or parts. */
export type UserContent = string | ContentPart[];

/** The text of a content: the string itself, or its text parts joined by newlines. */
export function textOf(content: UserContent): string {
  if (typeof content === 'string') return content;
  return content
    .filter((part): part is TextPart => part.type === 'text')
    .map((part) => part.text)
    .join('\n');
}

/** Whether a content carries anything besides text (so a text-only provider cannot take it). */
export function hasImages(content: UserContent): boolean {
  return typeof content !== 'string' && content.some((part) => part.type === 'image');
}
