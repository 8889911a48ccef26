/**
 * The agent example runs its whole loop (calls, tool results, answer) against
 * each emulator, streamed and not, through the root backends.yaml's profile
 * pointed at the emulator: what `npm run example:agent -- -p <backend>` does.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { createAegis, type Aegis } from '@aegis/core';
import koboldcpp from '@aegis/provider-koboldcpp';
import ollama from '@aegis/provider-ollama';
import openai from '@aegis/provider-openai';
import vllm from '@aegis/provider-vllm';
import { startEmulator, type Emulator, type EmulatorKind } from '@aegis/testkit';
import { fileURLToPath } from 'node:url';
import { ANSWER, OFFLINE, runAgent, SCRIPT } from './agent-loop.js';

const ROOT_CONFIG = fileURLToPath(new URL('../backends.yaml', import.meta.url));
const open: { emulator: Emulator; aegis: Aegis }[] = [];
afterAll(async () => {
  for (const { emulator, aegis } of open) {
    aegis.close();
    await emulator.close();
  }
});

async function offline(kind: EmulatorKind) {
  const emulator = await startEmulator(kind, { reply: SCRIPT });
  const how = OFFLINE[kind]!;
  // The plugins from their sources (an application finds the same ones installed, as `npm run example:agent` does).
  const aegis = createAegis({
    configPath: ROOT_CONFIG,
    env: { ...how.env, [how.variable]: emulator[how.url] },
    plugins: [ollama, openai, vllm, koboldcpp],
    discover: false,
    logLevel: 'silent',
  });
  open.push({ emulator, aegis });
  return { emulator, provider: await aegis.getProviderForProfile(kind) };
}

describe.each(['ollama', 'openai', 'vllm', 'koboldcpp'] as const)('agent loop on the %s emulator', (kind) => {
  it.each([false, true])('stream: %s — two tool calls, their results, then the answer', async (stream) => {
    const { emulator, provider } = await offline(kind);
    const log: string[] = [];
    const run = await runAgent(provider, 'What is the weather in Tokyo, in Fahrenheit?', { stream, log: (t) => log.push(t) });
    expect(run.answer).toBe(ANSWER);
    expect(run.turns).toBe(2);
    expect(run.calls.map((c) => [c.name, c.arguments])).toEqual(SCRIPT.toolCalls.map((c) => [c.name, c.arguments]));
    expect(new Set(run.calls.map((c) => c.id)).size).toBe(2);
    // The second request carried the calls and both results, each answering its call by id.
    const chat = emulator.requests.filter((r) => r.method === 'POST');
    expect(chat).toHaveLength(2);
    const sent = chat[1]!.json.messages as any[];
    const results = sent.filter((m) => m.role === 'tool');
    expect(results).toHaveLength(2);
    expect(results.map((m) => m.tool_call_id)).toEqual(run.calls.map((c) => c.id));
    expect(JSON.parse(results[0].content)).toEqual({ city: 'Tokyo', celsius: 18, sky: 'light rain' });
    expect(JSON.parse(results[1].content)).toEqual({ fahrenheit: 64 });
    expect(log.join('')).toContain(ANSWER);
  });
});
