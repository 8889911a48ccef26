import { describe, expect, it } from '@jest/globals';
import { SecretScrubber, type StreamEvent } from '@aegis/core';
import { ChunkWriter } from './chat.js';
import { chainScrubbers, ChatStreamEncoder } from './chat-stream.js';

const SECRET = 'sk-live-0123456789abcdef';
const KEY = 'gateway-key-0123456789';

function encoder(): ChatStreamEncoder {
  const instance = new SecretScrubber();
  instance.add(SECRET);
  const gateway = new SecretScrubber();
  gateway.add(KEY);
  return new ChatStreamEncoder(new ChunkWriter('c1', 1, 'm'), () => chainScrubbers(instance.createStreamScrubber(), gateway.createStreamScrubber()));
}

/** The deltas of the chunks an encoder wrote. */
function deltas(sse: string): Record<string, unknown>[] {
  return sse
    .split('\n\n')
    .filter(Boolean)
    .map((event) => JSON.parse(event.slice('data: '.length)).choices[0].delta);
}

describe('ChatStreamEncoder', () => {
  it('holds back only what may be a secret, per channel, and sends it when the channel ends or another speaks', () => {
    const e = encoder();
    const events: StreamEvent[] = [
      { type: 'reasoning-delta', text: `think ${SECRET.slice(0, 5)}` },
      { type: 'reasoning-delta', text: `${SECRET.slice(5)} done sk` },
      { type: 'text-delta', text: `answer ${KEY.slice(0, 10)}` },
      { type: 'text-delta', text: `${KEY.slice(10)} end` },
    ];
    let out = '';
    for (const event of events) out += e.event(event);
    out += e.end();
    const all = deltas(out);
    expect(all.map((d) => d.reasoning ?? '').join('')).toBe('think *** done sk');
    expect(all.map((d) => d.content ?? '').join('')).toBe('answer *** end');
    // The reasoning's held "sk" went out when the text began, before any text.
    const firstText = all.findIndex((d) => d.content !== undefined);
    expect(all.slice(firstText).some((d) => d.reasoning !== undefined)).toBe(false);
    expect(JSON.stringify(all)).not.toContain(SECRET.slice(0, 8));
  });

  it('tool calls as OpenAI frames them: indexes 0, 1... in start order, a first chunk with id and name, then fragments', () => {
    const e = encoder();
    const call = (index: number, id: string, args: Record<string, unknown>) => ({ index, toolCall: { id, name: 'f', arguments: args } });
    const events: StreamEvent[] = [
      { type: 'tool-call-start', index: 3, id: 'a', name: 'f' },
      { type: 'tool-call-delta', index: 3, id: 'a', argumentsDelta: `{"k":"${SECRET.slice(0, 12)}` },
      { type: 'tool-call-delta', index: 3, id: 'a', argumentsDelta: `${SECRET.slice(12)}"}` },
      { type: 'tool-call-start', index: 7, id: 'b', name: 'f' },
      { type: 'tool-call-delta', index: 7, id: 'b', argumentsDelta: '{}' },
      { type: 'tool-call', ...call(3, 'a', { k: SECRET }) },
      { type: 'tool-call', ...call(7, 'b', {}) },
      { type: 'finish', finishReason: 'tool_calls' },
    ];
    let out = '';
    for (const event of events) out += e.event(event);
    out += e.end();
    const parts = deltas(out).flatMap((d) => d.tool_calls as Record<string, any>[]);
    expect(parts.filter((p) => p.id)).toEqual([
      { index: 0, id: 'a', type: 'function', function: { name: 'f', arguments: '' } },
      { index: 1, id: 'b', type: 'function', function: { name: 'f', arguments: '' } },
    ]);
    const args = (i: number) => parts.filter((p) => p.index === i && !p.id).map((p) => p.function.arguments).join('');
    expect(JSON.parse(args(0))).toEqual({ k: '***' });
    expect(args(1)).toBe('{}');
  });
});
