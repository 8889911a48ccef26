import { describe, expect, it } from '@jest/globals';
import { StreamAssembler } from './stream-assembler.js';
import type { StreamEvent } from './stream-events.js';

describe('StreamAssembler.size', () => {
  it("counts every character of reasoning, refusal and tool-call arguments (the stream's size limit reads it)", () => {
    const events: StreamEvent[] = [];
    const parts = new StreamAssembler((e) => events.push(e));
    parts.add({ type: 'reasoning', text: 'abc' });
    parts.add({ type: 'refusal', text: 'de' });
    parts.add({ type: 'tool-call-delta', index: 0, id: 'c1', name: 'f', arguments: '{"a":' });
    parts.add({ type: 'tool-call-delta', index: 0, arguments: '1}' });
    parts.add({ type: 'tool-call', index: 1, id: 'c2', name: 'g', arguments: '{"b":2}' });
    expect(parts.size).toBe(3 + 2 + 5 + 2 + 7);
    expect(parts.finish({ text: '', finishReason: 'stop' }).toolCalls).toEqual([
      { id: 'c1', name: 'f', arguments: { a: 1 } },
      { id: 'c2', name: 'g', arguments: { b: 2 } },
    ]);
  });
});
