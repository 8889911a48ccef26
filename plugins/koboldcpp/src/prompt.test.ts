import { describe, expect, it } from '@jest/globals';
import type { ChatMessage } from '@aegis/core';
import { buildPrompt, INSTRUCT_PRESETS, mergeStops, PRESETS, resolveTemplate, turnEndStops } from './prompt.js';

const chat: ChatMessage[] = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Hi' },
  { role: 'assistant', content: 'Hello!' },
  { role: 'user', content: 'Name a colour.' },
];

describe('instruct templates', () => {
  it('writes a ChatML conversation and ends with the assistant start tag', () => {
    expect(buildPrompt(chat, resolveTemplate('chatml'))).toBe(
      '<|im_start|>system\nBe brief.<|im_end|>\n' +
        '<|im_start|>user\nHi<|im_end|>\n' +
        '<|im_start|>assistant\nHello!<|im_end|>\n' +
        '<|im_start|>user\nName a colour.<|im_end|>\n' +
        '<|im_start|>assistant\n',
    );
  });

  it('writes Llama 3, Alpaca, Mistral, Vicuna and plain prompts', () => {
    const one: ChatMessage[] = [
      { role: 'system', content: 'S' },
      { role: 'user', content: 'U' },
    ];
    expect(buildPrompt(one, resolveTemplate('llama3'))).toBe(
      '<|start_header_id|>system<|end_header_id|>\n\nS<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nU<|eot_id|>' +
        '<|start_header_id|>assistant<|end_header_id|>\n\n',
    );
    expect(buildPrompt(one, resolveTemplate('alpaca'))).toBe('S\n\n### Instruction:\nU\n\n### Response:\n');
    expect(buildPrompt(one, resolveTemplate('mistral'))).toBe('[INST]S[/INST][INST]U[/INST]');
    expect(buildPrompt(one, resolveTemplate('vicuna'))).toBe('S\n\nUSER: U\nASSISTANT: ');
    expect(buildPrompt(one, resolveTemplate('plain'))).toBe('S\n\nUser: U\n\nAssistant: ');
  });

  it('ends every preset with its assistant start tag', () => {
    for (const preset of INSTRUCT_PRESETS) {
      const t = resolveTemplate(preset);
      expect(buildPrompt([{ role: 'user', content: 'x' }], t).endsWith(t.assistant_start)).toBe(true);
    }
  });

  it('lets explicit tags replace the preset one by one', () => {
    const t = resolveTemplate('chatml', { user_start: '<user>', user_end: '</user>' });
    expect(t).toEqual({ ...PRESETS.chatml, user_start: '<user>', user_end: '</user>' });
    expect(buildPrompt([{ role: 'user', content: 'Hi' }], t)).toBe('<user>Hi</user><|im_start|>assistant\n');
    // An empty string is a tag too (no tag at all), not "use the preset's".
    expect(resolveTemplate('alpaca', { system_end: '' }).system_end).toBe('');
  });

  it('does not change the shared presets', () => {
    resolveTemplate('chatml', { user_start: 'changed' });
    expect(PRESETS.chatml.user_start).toBe('<|im_start|>user\n');
  });

  it('gives a tool result back as a user turn', () => {
    const prompt = buildPrompt([{ role: 'tool', name: 'weather', content: '21 C' }], resolveTemplate('plain'));
    expect(prompt).toBe('User: Tool result (weather):\n21 C\n\nAssistant: ');
  });
});

describe('stop sequences', () => {
  it('stops at the end of the assistant turn and at the next user turn', () => {
    expect(turnEndStops(resolveTemplate('chatml'))).toEqual(['<|im_end|>', '<|im_start|>user']);
    expect(turnEndStops(resolveTemplate('llama3'))).toEqual(['<|eot_id|>', '<|start_header_id|>user<|end_header_id|>']);
    expect(turnEndStops(resolveTemplate('mistral'))).toEqual(['</s>', '[INST]']);
  });

  it('never stops at a blank-only tag', () => {
    expect(turnEndStops(resolveTemplate('alpaca'))).toEqual(['### Instruction:']);
    expect(turnEndStops(resolveTemplate('plain'))).toEqual(['User:']);
    expect(turnEndStops(resolveTemplate('vicuna'))).toEqual(['USER:']);
    expect(turnEndStops(resolveTemplate('chatml', { assistant_end: '', user_start: '' }))).toEqual([]);
  });

  it('merges lists in order, without blanks or repeats', () => {
    expect(mergeStops(['A', 'B'], undefined, ['B', '', 'C'], ['A'])).toEqual(['A', 'B', 'C']);
    expect(mergeStops()).toEqual([]);
  });
});
