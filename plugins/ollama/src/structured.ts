/** Structured output (`format`) and images (`images` on a message) in Ollama's /api/chat form. */
import { imageBase64, textOf, type ImagePart, type ResponseFormatSpec, type UserContent } from '@aegis/core';

/**
 * The call's response format as Ollama's `format`: the JSON Schema object, or
 * `"json"` for any JSON. Undefined for text (the profile's own `format` then applies).
 */
export function ollamaFormat(format: ResponseFormatSpec | undefined): Record<string, unknown> | 'json' | undefined {
  if (!format || format.type !== 'json') return undefined;
  return format.schema ?? 'json';
}

/**
 * A user message's content as Ollama takes it: the text, and the images as
 * bare base64 (no `data:` prefix) in `images`. Ollama takes no image URL: a URL
 * image is refused before any request (`owner` names the profile in the error).
 */
export function ollamaUserContent(content: UserContent, owner: { type: string; profile_name: string }): { content: string; images?: string[] } {
  if (typeof content === 'string') return { content };
  const images = content
    .filter((part): part is ImagePart => part.type === 'image')
    .map((part) => imageBase64(part, owner.type, owner.profile_name).base64);
  return images.length > 0 ? { content: textOf(content), images } : { content: textOf(content) };
}
