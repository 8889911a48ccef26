/**
 * The messages a provider receives, in the form its declared capabilities
 * say it understands. A provider written for the first plugin API (text only)
 * receives exactly what it did before: string contents, `tool` messages as
 * text, no `toolCalls`.
 */
import type { Capability } from './capabilities.js';
import { textOf } from './content.js';
import type { ChatMessage } from './messages.js';

/**
 * The messages for a provider: unchanged (the same array) when it can take
 * them as they are, else a copy in which user content parts are joined to
 * text (providers without `vision`; images were refused before) and, for
 * providers without `tools`, an assistant message's calls are written into its
 * text and a tool message loses the fields it did not have before.
 */
export function messagesFor(messages: ChatMessage[], supports: (capability: Capability) => boolean): ChatMessage[] {
  const vision = supports('vision');
  const tools = supports('tools');
  let out: ChatMessage[] | undefined;
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i]!;
    const adapted = adapt(message, vision, tools);
    if (adapted !== message) {
      out ??= messages.slice();
      out[i] = adapted;
    }
  }
  return out ?? messages;
}

function adapt(message: ChatMessage, vision: boolean, tools: boolean): ChatMessage {
  if (message.role === 'user' && !vision && typeof message.content !== 'string') {
    return { ...message, content: textOf(message.content) };
  }
  if (tools) return message;
  if (message.role === 'assistant' && message.toolCalls && message.toolCalls.length > 0) {
    const { toolCalls, ...rest } = message;
    const calls = toolCalls.map((c) => `[called tool ${c.name} (id ${c.id}) with ${JSON.stringify(c.arguments)}]`).join('\n');
    return { ...rest, content: rest.content ? `${rest.content}\n${calls}` : calls };
  }
  if (message.role === 'tool' && message.toolCallId !== undefined) {
    const { toolCallId: _id, ...rest } = message;
    return rest;
  }
  return message;
}
