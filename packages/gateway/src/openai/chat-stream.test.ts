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
  it('holds back only what may be a secret, per channel, and sends it when that channel goes on or the stream ends', () => {
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
    // The reasoning's held "sk" stays held while the text speaks (it could be a secret's start): it goes at the end.
    expect(all.at(-1)).toEqual({ reasoning: 'sk' });
    expect(JSON.stringify(all)).not.toContain(SECRET.slice(0, 8));
  });

  it('a secret sent in short pieces between other channels\' deltas is caught whole in its own channel', () => {
    const e = encoder();
    let out = '';
    // 7-character pieces of the text, each followed by a reasoning delta, a refusal delta or a tool call's fragment.
    out += e.event({ type: 'tool-call-start', index: 0, id: 'a', name: 'f' });
    const others: StreamEvent[] = [
      { type: 'reasoning-delta', text: '.' },
      { type: 'refusal-delta', text: 'no' },
      { type: 'tool-call-delta', index: 0, id: 'a', argumentsDelta: '{' },
    ];
    for (let i = 0; i < SECRET.length; i += 7) {
      out += e.event({ type: 'text-delta', text: SECRET.slice(i, i + 7) });
      out += e.event(others[(i / 7) % others.length]!);
    }
    // The refusal's channel gets a secret of its own, in 3-character pieces between text deltas.
    for (let i = 0; i < KEY.length; i += 3) {
      out += e.event({ type: 'refusal-delta', text: KEY.slice(i, i + 3) });
      out += e.event({ type: 'text-delta', text: '-' });
    }
    out += e.end();
    const all = deltas(out);
    expect(all.map((d) => d.content ?? '').join('')).toBe(`***${'-'.repeat(Math.ceil(KEY.length / 3))}`);
    expect(all.map((d) => d.refusal ?? '').join('')).toBe('no***');
    expect(out).not.toContain(SECRET.slice(0, 7));
    expect(out).not.toContain(KEY.slice(0, 6));
    // Nothing is lost: the reasoning deltas all went out, and what the call's arguments held at the end.
    expect(all.map((d) => d.reasoning ?? '').join('')).toBe('..');
    const args = all.flatMap((d) => (d.tool_calls as Record<string, any>[] | undefined) ?? []).map((c) => c.function.arguments).join('');
    expect(args).toBe('{');
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
