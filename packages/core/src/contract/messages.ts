/** The messages of a conversation, the unit every provider maps onto its backend's request. */
import type { UserContent } from './content.js';
import type { ToolCall } from './tools.js';

export type ChatRole = 'system' | 'user' | 'assistant' | 'tool';

export interface SystemMessage {
  role: 'system';
  content: string;
  /** Optional author name, for backends that take one. */
  name?: string;
}

export interface UserMessage {
  role: 'user';
  /** Plain text, or text and image parts. */
  content: UserContent;
  name?: string;
}

export interface AssistantMessage {
  role: 'assistant';
  /** The answer's text (`''` when the turn was only tool calls). */
  content: string;
  /** The calls of this turn: `CompletionResult.toolCalls`, appended as they are. */
  toolCalls?: ToolCall[];
  name?: string;
}

export interface ToolMessage {
  role: 'tool';
  /** The tool's result, as text (JSON, usually). */
  content: string;
  /** The id of the call it answers. Optional only for plugins and callers of the first plugin API. */
  toolCallId?: string;
  /** The tool's name (some backends identify a result by the name rather than the call id). */
  name?: string;
}

/** One chat message. A `content` string stays valid for every role. */
export type ChatMessage = SystemMessage | UserMessage | AssistantMessage | ToolMessage;
