/** The body of a KoboldCpp generation request (`/api/v1/generate` and `/api/extra/generate/stream`). */
import { randomBytes } from 'node:crypto';
import { textOf, withoutUndefined, type CallSettings, type ChatMessage } from '@aegis/core';
import type { KoboldCppConfig } from './config.js';
import { buildPrompt, mergeStops, resolveTemplate, turnEndStops } from './prompt.js';
import { koboldGrammar, koboldImages } from './structured.js';

export interface GenerationRequest {
  body: Record<string, unknown>;
  /** Names this generation, so `/api/extra/abort` stops this one and no other. */
  genkey: string;
  /** The stop sequences sent: the output is cut at the first one on this side. */
  stops: string[];
  /** Whether the stop sequence stays in the text (the profile's, or the call's `providerOptions`, `trim_stop: false`). */
  keepStop: boolean;
}

export function generationRequest(messages: readonly ChatMessage[], settings: CallSettings, c: KoboldCppConfig): GenerationRequest {
  const template = resolveTemplate(c.instruct, c.instruct_tags);
  const genkey = `aegis-${randomBytes(8).toString('hex')}`;
  const body: Record<string, unknown> = withoutUndefined({
    prompt: buildPrompt(messages.map(asText), template),
    max_length: settings.maxTokens ?? c.max_length,
    temperature: settings.temperature,
    top_p: settings.topP,
    sampler_seed: settings.seed ?? c.sampler_seed,
    ...profileSamplers(c),
    grammar: koboldGrammar(settings.responseFormat) ?? c.grammar,
    images: koboldImages(messages, c),
    stop_sequence: mergeStops(c.stop_sequence, settings.stop, turnEndStops(template)),
    genkey,
    ...settings.providerOptions,
  });
  // The text always comes back with the stop sequence in it, so that this side knows a generation
  // ended on one: KoboldCpp 1.102 reports that as "length" (generate_text: `currfinishreason =
  // ("length" if (genout['stopreason'] != 1) else "stop")`, 1 being EOS; handle_sse_stream the
  // same), and with `trim_stop` (its default: `trimstop = genparams.get('trim_stop', True)`) it
  // removes the stop sequence from the text (generate) and from the stream (handle_sse_stream),
  // leaving nothing to tell a stop from a length cut. The provider cuts at the stop sequence itself
  // and keeps it only when `trim_stop` (profile, or providerOptions) is false.
  const keepStop = (body.trim_stop ?? c.trim_stop) === false;
  body.trim_stop = false;
  const stops = Array.isArray(body.stop_sequence) ? body.stop_sequence.filter((s): s is string => typeof s === 'string' && s !== '') : [];
  return { body, genkey: String(body.genkey ?? genkey), stops, keepStop };
}

/** A message with its content as text (images travel in `images`, not in the prompt). */
function asText(m: ChatMessage): ChatMessage {
  return m.role === 'user' && typeof m.content !== 'string' ? { ...m, content: textOf(m.content) } : m;
}

/**
 * The profile's own KoboldCpp settings both endpoints read from a request
 * body (the native generate API and the OpenAI-compatible chat endpoint).
 */
export function profileSamplers(c: KoboldCppConfig): Record<string, unknown> {
  return {
    memory: c.memory,
    max_context_length: c.max_context_length,
    top_k: c.top_k,
    top_a: c.top_a,
    typical: c.typical,
    tfs: c.tfs,
    min_p: c.min_p,
    rep_pen: c.rep_pen,
    rep_pen_range: c.rep_pen_range,
    rep_pen_slope: c.rep_pen_slope,
    sampler_order: c.sampler_order,
    dynatemp_range: c.dynatemp_range,
    mirostat: c.mirostat,
    mirostat_tau: c.mirostat_tau,
    mirostat_eta: c.mirostat_eta,
    banned_tokens: c.banned_tokens,
  };
}
