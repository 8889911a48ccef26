/** The answers' bodies built from the contract's results: a refusal, and the speech type when the backend gives none. */
import { describe, expect, it } from '@jest/globals';
import type { CompletionResult } from '@aegis/core';
import { completionBody } from './chat.js';
import { speechMime } from './audio.js';

const usage = { promptTokens: 1, completionTokens: 1, totalTokens: 2 };
const same = (text: string) => text;

describe('completionBody', () => {
  it('an empty refusal is no refusal: refusal null, content the text', () => {
    const result = { text: 'Hello', refusal: '', finishReason: 'stop' } as unknown as CompletionResult;
    const body = completionBody('chatcmpl-1', 1, 'm', result, usage, same) as { choices: { message: Record<string, unknown> }[] };
    expect(body.choices[0]!.message).toEqual({ role: 'assistant', content: 'Hello', refusal: null });
  });
});

describe('speechMime', () => {
  it("the backend's type when it gives one; else the requested format's (wav), mp3 by default", () => {
    expect(speechMime('wav', 'audio/x-wav')).toBe('audio/x-wav');
    expect(speechMime('wav', '')).toBe('audio/wav');
    expect(speechMime(undefined, '')).toBe('audio/mpeg');
    expect(speechMime('mp3', '')).toBe('audio/mpeg');
  });
});
