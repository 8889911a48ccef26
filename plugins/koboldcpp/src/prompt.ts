/**
 * Chat messages → one KoboldCpp prompt, with instruct tags (a chat template).
 * KoboldCpp's native API takes a single prompt string, so the conversation is
 * written out turn by turn and ends with the assistant's start tag; the
 * template's turn ends become stop sequences so generation ends with the turn.
 */
import type { ChatMessage } from '@aegis/core';

export interface InstructTemplate {
  system_start: string;
  system_end: string;
  user_start: string;
  user_end: string;
  assistant_start: string;
  assistant_end: string;
}

export const INSTRUCT_PRESETS = ['chatml', 'llama3', 'alpaca', 'mistral', 'vicuna', 'plain'] as const;
export type InstructPreset = (typeof INSTRUCT_PRESETS)[number];

/** The presets, with the tags KoboldCpp's own chat adapters use for these formats. */
export const PRESETS: Readonly<Record<InstructPreset, Readonly<InstructTemplate>>> = {
  chatml: {
    system_start: '<|im_start|>system\n',
    system_end: '<|im_end|>\n',
    user_start: '<|im_start|>user\n',
    user_end: '<|im_end|>\n',
    assistant_start: '<|im_start|>assistant\n',
    assistant_end: '<|im_end|>\n',
  },
  llama3: {
    system_start: '<|start_header_id|>system<|end_header_id|>\n\n',
    system_end: '<|eot_id|>',
    user_start: '<|start_header_id|>user<|end_header_id|>\n\n',
    user_end: '<|eot_id|>',
    assistant_start: '<|start_header_id|>assistant<|end_header_id|>\n\n',
    assistant_end: '<|eot_id|>',
  },
  alpaca: {
    system_start: '',
    system_end: '\n\n',
    user_start: '### Instruction:\n',
    user_end: '\n\n',
    assistant_start: '### Response:\n',
    assistant_end: '\n\n',
  },
  mistral: {
    system_start: '[INST]',
    system_end: '[/INST]',
    user_start: '[INST]',
    user_end: '',
    assistant_start: '[/INST]',
    assistant_end: '</s>',
  },
  vicuna: {
    system_start: '',
    system_end: '\n\n',
    user_start: 'USER: ',
    user_end: '\n',
    assistant_start: 'ASSISTANT: ',
    assistant_end: '\n',
  },
  plain: {
    system_start: '',
    system_end: '\n\n',
    user_start: 'User: ',
    user_end: '\n\n',
    assistant_start: 'Assistant: ',
    assistant_end: '\n\n',
  },
};

/** The preset's tags with each tag given in `overrides` put in its place. */
export function resolveTemplate(preset: InstructPreset, overrides: Partial<InstructTemplate> = {}): InstructTemplate {
  const template = { ...PRESETS[preset] };
  for (const key of Object.keys(template) as (keyof InstructTemplate)[]) {
    const value = overrides[key];
    if (typeof value === 'string') template[key] = value;
  }
  return template;
}

/** Writes the conversation out with the template's tags; the prompt ends with the assistant's start tag. */
export function buildPrompt(messages: readonly ChatMessage[], t: InstructTemplate): string {
  let prompt = '';
  for (const m of messages) {
    switch (m.role) {
      case 'system':
        prompt += t.system_start + m.content + t.system_end;
        break;
      case 'assistant':
        prompt += t.assistant_start + m.content + t.assistant_end;
        break;
      case 'tool':
        // No tool role in an instruct template: the result comes back as the user's turn.
        prompt += t.user_start + `Tool result${m.name ? ` (${m.name})` : ''}:\n` + m.content + t.user_end;
        break;
      default:
        prompt += t.user_start + m.content + t.user_end;
    }
  }
  return prompt + t.assistant_start;
}

/**
 * Where the assistant's turn ends: its end tag, and the start of a next user
 * turn (as KoboldCpp's own chat adapter does). Tags that are only whitespace
 * are left out: stopping at a blank line would cut multi-paragraph answers.
 */
export function turnEndStops(t: InstructTemplate): string[] {
  return unique([t.assistant_end.trim(), t.user_start.trim()]);
}

/** The stop sequences of a call: configured, per call, then the template's turn ends; no blanks or repeats. */
export function mergeStops(...lists: (readonly string[] | undefined)[]): string[] {
  return unique(lists.flatMap((list) => list ?? []));
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values.filter((v) => v !== ''))];
}
