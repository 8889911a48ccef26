import type { ChatMessage, CompletionResult, CompletionStream, ImagePart, RuntimeExecutionConfig, ToolCall } from '@aegis/core';
import { UsageError } from '../errors.js';
import { resolvePath, textFromArgsOrStdin, withInterrupt, type CommandContext } from '../context.js';
import { printJson, type RedactingWriter } from '../output.js';
import { parseToolChoice, readToolsFile } from '../tools-file.js';
import { readLimited } from '../read-limited.js';

export interface CompleteOptions {
  profile: string;
  stream?: boolean;
  system?: string;
  json?: boolean;
  temperature?: number;
  maxTokens?: number;
  /** A JSON file of tools the model may call. */
  tools?: string;
  toolChoice?: string;
  /** Print the model's reasoning on stderr, between markers. */
  showReasoning?: boolean;
  /** Image files sent with the prompt. */
  image?: string[];
}

/** The largest image file sent (backends take a few MiB; a larger file is most likely a mistake). */
export const MAX_IMAGE_FILE_BYTES = 20 * 1024 * 1024;

/** The image files as image parts (their type sniffed by core from the bytes). */
async function readImages(ctx: CommandContext, files: readonly string[]): Promise<ImagePart[]> {
  return Promise.all(
    files.map(async (file) => ({ type: 'image' as const, image: new Uint8Array(await readLimited(resolvePath(ctx, file), file, MAX_IMAGE_FILE_BYTES, 'image file')) })),
  );
}

const REASONING_START = '[reasoning]';
const REASONING_END = '[/reasoning]';

/**
 * `aegis complete`: one completion from a profile, the prompt from the
 * arguments or stdin. With `--tools` the model may call the file's tools: the
 * calls are printed (they are not run). `--show-reasoning` prints the model's
 * reasoning on stderr between `[reasoning]` and `[/reasoning]`, so stdout
 * stays the answer alone.
 */
export async function run(ctx: CommandContext, words: string[], options: CompleteOptions): Promise<number> {
  const tools = options.tools !== undefined ? await readToolsFile(resolvePath(ctx, options.tools), options.tools) : undefined;
  if (options.toolChoice !== undefined && !tools) throw new UsageError('--tool-choice needs --tools');
  const toolChoice = tools ? parseToolChoice(options.toolChoice, tools) : undefined;
  const provider = await (await ctx.aegis()).getProviderForProfile(options.profile);
  const prompt = await textFromArgsOrStdin(ctx, words, 'prompt');
  const images = await readImages(ctx, options.image ?? []);
  const messages: ChatMessage[] = [
    ...(options.system !== undefined ? [{ role: 'system' as const, content: options.system }] : []),
    { role: 'user', content: images.length > 0 ? [{ type: 'text', text: prompt }, ...images] : prompt },
  ];

  const result = await withInterrupt(async (signal): Promise<CompletionResult> => {
    const runtime: RuntimeExecutionConfig = { signal, temperature: options.temperature, maxTokens: options.maxTokens, tools, toolChoice };
    if (!options.stream) {
      const answer = await provider.getCompletion(messages, runtime);
      if (options.showReasoning && answer.reasoning) printReasoning(ctx.err, answer.reasoning);
      return answer;
    }
    const stream = provider.streamCompletion(messages, runtime);
    return options.showReasoning ? streamEvents(ctx, stream) : streamText(ctx, stream);
  }, ctx.out);

  const calls = result.toolCalls ?? [];
  if (options.json) {
    const { text, toolCalls, reasoning, refusal, finishReason, rawFinishReason, usage, model } = result;
    printJson(ctx.out, { text, toolCalls, reasoning, refusal, finishReason, rawFinishReason, usage, model });
    return 0;
  }
  // Nothing else to show: an empty line, so the shell prompt starts on its own (not for a refusal, shown below).
  const nothing = result.text === '' && calls.length === 0 && !result.refusal;
  if (!options.stream) {
    if (result.text !== '' || nothing) ctx.out.line(result.text);
  } else if (nothing) {
    ctx.out.line();
  }
  for (const call of calls) ctx.out.line(describeCall(call));
  // The model declined: said on stderr, apart from the answer (none, usually), as a refusal is not its text.
  if (result.refusal) ctx.err.line(`the model refused: ${result.refusal}`);
  return 0;
}

/** The text deltas on stdout as they come (the stream's plain iteration). */
async function streamText(ctx: CommandContext, stream: CompletionStream): Promise<CompletionResult> {
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
}

/** The text on stdout and the reasoning on stderr between markers, as the events come. */
async function streamEvents(ctx: CommandContext, stream: CompletionStream): Promise<CompletionResult> {
  let wrote = false;
  let reasoning: 'none' | 'open' | 'closed' = 'none';
  const closeReasoning = () => {
    if (reasoning === 'open') ctx.err.line(`\n${REASONING_END}`);
    if (reasoning === 'open') reasoning = 'closed';
  };
  try {
    for await (const event of stream.events()) {
      if (event.type === 'reasoning-delta') {
        if (reasoning === 'none') ctx.err.line(REASONING_START);
        reasoning = 'open';
        ctx.err.write(event.text);
      } else if (event.type === 'text-delta') {
        closeReasoning();
        ctx.out.write(event.text);
        wrote = true;
      }
    }
  } finally {
    closeReasoning();
    ctx.err.flush();
    if (wrote) {
      ctx.out.flush();
      ctx.out.line();
    }
  }
  return stream.result;
}

function printReasoning(err: RedactingWriter, text: string): void {
  err.line(REASONING_START);
  err.line(text);
  err.line(REASONING_END);
}

/** `tool call get_weather {"city":"Tokyo"} (id call_abc)` */
function describeCall(call: ToolCall): string {
  return `tool call ${call.name} ${JSON.stringify(call.arguments)} (id ${call.id})`;
}
