/**
 * The capabilities a completion call needs besides its operation: a member
 * that lacks one of them cannot answer this call, so a composite skips it (it
 * would only fail with CapabilityNotSupportedError, or, for a text-only
 * plugin, drop the tools or images silently).
 */
import { hasImages, type CallSettings, type Capability, type ChatMessage } from '@aegis/core';

export function featuresOf(messages: readonly ChatMessage[], settings: CallSettings): Capability[] {
  const needs: Capability[] = [];
  if ((settings.tools?.length ?? 0) > 0) needs.push('tools');
  if (settings.responseFormat?.type === 'json') needs.push('structured_output');
  if (messages.some((m) => m.role === 'user' && hasImages(m.content))) needs.push('vision');
  // `reasoning` is a request a backend may ignore: it never rules a member out.
  return needs;
}
