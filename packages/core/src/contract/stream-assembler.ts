/**
 * Turns the `StreamPart`s a plugin's stream yields (reasoning, refusal,
 * tool-call fragments, whole tool calls) into the caller's `StreamEvent`s and the final
 * result's `reasoning` and `toolCalls`. Created only for a stream that yields
 * parts: a plain text stream never pays for it.
 */
import { ProviderError } from '../errors/provider-error.js';
import type { StreamEvent } from './stream-events.js';
import type { StreamPart } from './stream-parts.js';
import { completeToolCalls, generateToolCallId, parseToolArguments, toToolCall, type ProviderCompletion } from './tool-calls.js';
import type { ToolCall } from './tools.js';
import type { CompletionResult } from './results.js';

/** Where the assembler sends events (set only while someone reads `stream.events()`). */
export type EventSink = (event: StreamEvent) => void;

interface PendingCall {
  index: number;
  id?: string;
  name?: string;
  /** The argument fragments so far. */
  fragments: string[];
  /** Whether `tool-call-start` went out (id and name known). */
  started: boolean;
  /** The finished call, once its arguments are parsed. */
  done?: ToolCall;
}

/**
 * One stream's tool calls and reasoning: takes the plugin's parts in order
 * (`add`), sends the matching events to a listener while one listens, and
 * completes the result at the end (`finish`). Core's stream machinery makes
 * one per stream, with its first part.
 */
export class StreamAssembler {
  private readonly calls = new Map<number, PendingCall>();
  private reasoning: string[] = [];
  private refusal: string[] = [];
  /** Characters of reasoning and arguments so far, against the stream's size limit. */
  size = 0;

  constructor(private sink: EventSink | undefined) {}

  /** Starts (or stops, with `undefined`) sending events. */
  listen(sink: EventSink | undefined): void {
    this.sink = sink;
  }

  /** Takes one part. Throws an `InvalidToolArgumentsError` for a whole call with invalid arguments. */
  add(part: StreamPart): void {
    switch (part?.type) {
      case 'reasoning':
        return this.text(this.reasoning, part.text, 'reasoning-delta');
      case 'refusal':
        return this.text(this.refusal, part.text, 'refusal-delta');
      case 'tool-call-delta':
        return this.fragment(part);
      case 'tool-call':
        return this.whole(part);
      default:
        throw new ProviderError(`a provider's stream yielded ${JSON.stringify(part)?.slice(0, 80)}, which is neither text nor a stream part`, {
          reason: 'bad_response',
        });
    }
  }

  /**
   * The final result: reasoning joined, pending calls parsed (in index order)
   * and announced, ids ensured, `finishReason: 'tool_calls'` when there are
   * calls. Mutates and returns `result`, never reading its lazy `text`.
   */
  finish(result: ProviderCompletion): CompletionResult {
    if (this.reasoning.length > 0) (result as CompletionResult).reasoning = this.reasoning.join('');
    if (this.refusal.length > 0) (result as CompletionResult).refusal = this.refusal.join('');
    const calls = [...this.calls.values()].sort((a, b) => a.index - b.index);
    for (const call of calls) if (!call.done) this.complete(call);
    const finished = calls.map((c) => c.done!);
    // Calls the plugin put in its end result itself come after the streamed ones.
    const own = (result.toolCalls ?? []).map(toToolCall);
    return completeToolCalls(result, [...finished, ...own]);
  }

  /** A piece of the reasoning or of the refusal: kept, counted, and sent as its event (an empty one is nothing). */
  private text(pieces: string[], text: unknown, type: 'reasoning-delta' | 'refusal-delta'): void {
    if (typeof text !== 'string' || text === '') return;
    pieces.push(text);
    this.size += text.length;
    this.sink?.({ type, text });
  }

  private pending(index: number): PendingCall {
    let call = this.calls.get(index);
    if (!call) {
      call = { index, fragments: [], started: false };
      this.calls.set(index, call);
    }
    return call;
  }

  private fragment(part: Extract<StreamPart, { type: 'tool-call-delta' }>): void {
    const call = this.pending(typeof part.index === 'number' ? part.index : 0);
    if (call.done) throw this.twice(call);
    if (typeof part.id === 'string' && part.id !== '' && !call.started) call.id ??= part.id;
    if (typeof part.name === 'string' && part.name !== '') call.name ??= part.name;
    const text = typeof part.arguments === 'string' ? part.arguments : '';
    if (text !== '') {
      call.fragments.push(text);
      this.size += text.length;
    }
    if (!call.started) {
      if (call.name === undefined) return;
      this.start(call);
      const sofar = call.fragments.join('');
      if (sofar !== '') this.sink?.({ type: 'tool-call-delta', index: call.index, id: call.id!, argumentsDelta: sofar });
    } else if (text !== '') {
      this.sink?.({ type: 'tool-call-delta', index: call.index, id: call.id!, argumentsDelta: text });
    }
  }

  private whole(part: Extract<StreamPart, { type: 'tool-call' }>): void {
    const call = this.pending(typeof part.index === 'number' ? part.index : this.calls.size);
    if (call.done) throw this.twice(call);
    if (typeof part.id === 'string' && part.id !== '') call.id ??= part.id;
    call.name ??= part.name;
    const args = part.arguments;
    if (typeof args === 'string') {
      call.fragments.push(args);
      this.size += args.length;
    }
    if (!call.started) this.start(call);
    const text = typeof args === 'string' ? args : JSON.stringify(args ?? {});
    if (text !== '') this.sink?.({ type: 'tool-call-delta', index: call.index, id: call.id!, argumentsDelta: text });
    this.complete(call, typeof args === 'string' ? undefined : args);
  }

  private start(call: PendingCall): void {
    call.id ??= generateToolCallId();
    call.started = true;
    this.sink?.({ type: 'tool-call-start', index: call.index, id: call.id, name: call.name! });
  }

  private complete(call: PendingCall, parsed?: Record<string, unknown>): void {
    if (call.name === undefined) {
      throw new ProviderError(`the backend streamed tool call ${call.index} without ever naming its tool`, { reason: 'bad_response' });
    }
    if (!call.started) this.start(call);
    const args = parsed ?? parseToolArguments(call.fragments.join(''), call.name, call.id);
    call.done = { id: call.id!, name: call.name, arguments: args };
    this.sink?.({ type: 'tool-call', index: call.index, toolCall: call.done });
  }

  private twice(call: PendingCall): ProviderError {
    return new ProviderError(`the backend streamed more of tool call ${call.index} ("${call.name}") after it was complete`, {
      reason: 'bad_response',
    });
  }
}
