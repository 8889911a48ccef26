/** One chat message, the unit every provider maps onto its backend's request. */
export type ChatRole = 'system' | 'user' | 'assistant' | 'tool';

export interface ChatMessage {
  role: ChatRole;
  content: string;
  /** Optional author name, for backends that take one. */
  name?: string;
}
