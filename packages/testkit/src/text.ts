/** Turns a ScriptedReply plus request limits (max tokens, stop sequences) into stream deltas. */
import { randomBytes } from 'node:crypto';
import type { ScriptedReply } from './types.js';

export interface RenderedText {
  /** Deltas in order; joined they equal `text`. */
  chunks: string[];
  text: string;
  /** 'stop' | 'length' | the scripted finishReason. */
  finishReason: string;
  /** The stop sequence that cut the reply, or null. */
  stopSequence: string | null;
  completionTokens: number;
}

export interface TextLimits {
  maxTokens?: unknown;
  stop?: unknown;
}

export function defaultReplyText(label: string): string {
  return `Hello! This is a scripted reply from the AEGIS ${label} emulator.`;
}

/** Word-ish chunks: a word with its leading spaces, or one punctuation mark. Joined they give `text` back. */
export function splitIntoChunks(text: string): string[] {
  return text.match(/\s*(?:[\p{L}\p{N}_']+|[^\p{L}\p{N}_'\s])|\s+$/gu) ?? [];
}

function stopList(stop: unknown): string[] {
  if (typeof stop === 'string') return stop ? [stop] : [];
  if (Array.isArray(stop)) return stop.filter((s): s is string => typeof s === 'string' && s.length > 0);
  return [];
}

function cutChunks(chunks: string[], at: number): string[] {
  const out: string[] = [];
  let pos = 0;
  for (const c of chunks) {
    if (pos + c.length <= at) out.push(c);
    else {
      if (at > pos) out.push(c.slice(0, at - pos));
      break;
    }
    pos += c.length;
  }
  return out;
}

export function renderText(reply: ScriptedReply, defaultText: string, limits: TextLimits = {}): RenderedText {
  let chunks = reply.chunks ? [...reply.chunks] : splitIntoChunks(reply.text ?? defaultText);
  let finishReason = reply.finishReason ?? 'stop';
  let stopSequence: string | null = null;

  const stops = stopList(limits.stop);
  if (stops.length) {
    const full = chunks.join('');
    let best = -1;
    for (const s of stops) {
      const i = full.indexOf(s);
      if (i >= 0 && (best < 0 || i < best)) [best, stopSequence] = [i, s];
    }
    if (best >= 0) {
      chunks = cutChunks(chunks, best);
      finishReason = 'stop';
    }
  }
  const max = typeof limits.maxTokens === 'number' && limits.maxTokens >= 0 ? Math.floor(limits.maxTokens) : undefined;
  if (max !== undefined && chunks.length > max) {
    chunks = chunks.slice(0, max);
    finishReason = 'length';
    stopSequence = null;
  }
  return {
    chunks,
    text: chunks.join(''),
    finishReason,
    stopSequence,
    completionTokens: reply.completionTokens ?? chunks.length,
  };
}

/** Rough token estimate (4 characters a token, at least 1). */
export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

/** The text content of OpenAI/Ollama-style chat messages. */
export function messagesText(messages: unknown): string {
  if (!Array.isArray(messages)) return '';
  return messages
    .map((m: any) => {
      const c = m?.content;
      if (typeof c === 'string') return c;
      if (Array.isArray(c)) return c.map((p: any) => (typeof p?.text === 'string' ? p.text : '')).join(' ');
      return '';
    })
    .join('\n');
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function randomId(length: number, alphabet = ALNUM): string {
  const bytes = randomBytes(length);
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[bytes[i]! % alphabet.length];
  return out;
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
