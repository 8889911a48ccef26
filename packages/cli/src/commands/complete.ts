import type { ChatMessage, CompletionResult, RuntimeExecutionConfig } from '@aegis/core';
import { textFromArgsOrStdin, withInterrupt, type CommandContext } from '../context.js';
import { printJson } from '../output.js';

export interface CompleteOptions {
  profile: string;
  stream?: boolean;
  system?: string;
  json?: boolean;
  temperature?: number;
  maxTokens?: number;
}

/** `aegis complete`: one completion from a profile, the prompt from the arguments or stdin. */
export async function run(ctx: CommandContext, words: string[], options: CompleteOptions): Promise<number> {
  const provider = await (await ctx.aegis()).getProviderForProfile(options.profile);
  const prompt = await textFromArgsOrStdin(ctx, words, 'prompt');
  const messages: ChatMessage[] = [
    ...(options.system !== undefined ? [{ role: 'system' as const, content: options.system }] : []),
    { role: 'user', content: prompt },
  ];

  const result = await withInterrupt(async (signal): Promise<CompletionResult> => {
    const runtime: RuntimeExecutionConfig = { signal, temperature: options.temperature, maxTokens: options.maxTokens };
    if (!options.stream) return provider.getCompletion(messages, runtime);
    const stream = provider.streamCompletion(messages, runtime);
    let wrote = false;
    try {
      for await (const delta of stream) {
        ctx.out.write(delta);
        wrote = true;
      }
    } finally {
      // The end of the stream is a cut: what the writer holds back (the start of a possible secret) is
      // let go, a piece of a secret replaced. Then the partial line is ended, even when the stream broke off.
      if (wrote) {
        ctx.out.flush();
        ctx.out.line();
      }
    }
    return stream.result;
  });

  if (options.json) {
    const { text, finishReason, usage, model } = result;
    printJson(ctx.out, { text, finishReason, usage, model });
  } else if (!options.stream) {
    ctx.out.line(result.text);
  } else if (result.text === '') {
    ctx.out.line();
  }
  return 0;
}
