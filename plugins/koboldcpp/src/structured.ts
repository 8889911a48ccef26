/** Structured output (`grammar`) and images (`images`) on KoboldCpp's native generate API. */
import { CapabilityNotSupportedError, imageBase64, type ChatMessage, type ImagePart, type ResponseFormatSpec } from '@aegis/core';

/** KoboldCpp reads at most this many images per generation. */
export const MAX_IMAGES = 8;

/**
 * The call's response format as `grammar`: KoboldCpp turns a grammar string
 * that parses as JSON into GBNF from it as a JSON Schema, so the schema is sent
 * as its JSON text (any JSON object when the call gave no schema). Undefined
 * for text (the profile's own `grammar` then applies).
 */
export function koboldGrammar(format: ResponseFormatSpec | undefined): string | undefined {
  if (!format || format.type !== 'json') return undefined;
  return JSON.stringify(format.schema ?? { type: 'object' });
}

/**
 * The images of the conversation's user messages, in order, as bare base64
 * (the native API's `images`); undefined when there are none. A URL image is
 * refused (the server takes bytes only), and so are more than MAX_IMAGES.
 */
export function koboldImages(messages: readonly ChatMessage[], owner: { type: string; profile_name: string }): string[] | undefined {
  const parts = messages.flatMap((m) => (m.role === 'user' && typeof m.content !== 'string' ? m.content.filter((p): p is ImagePart => p.type === 'image') : []));
  if (parts.length === 0) return undefined;
  if (parts.length > MAX_IMAGES) {
    throw new CapabilityNotSupportedError(owner.type, owner.profile_name, `more than ${MAX_IMAGES} images in one request (got ${parts.length})`);
  }
  return parts.map((part) => imageBase64(part, owner.type, owner.profile_name).base64);
}
