/** Composite profiles and the call's capabilities: a member without tools (or vision, ...) is skipped; tools pass through. */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { CapabilityNotSupportedError, createAegis, type Aegis, type StreamEvent, type ToolDefinition } from '@aegis/core';
import ollama from '@aegis/provider-ollama';
import exampleCom from 'aegis-provider-example-com';
import { startExampleComEmulator, startOllamaEmulator, type Emulator } from '@aegis/testkit';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import routerPlugins from './index.js';
import { compositeProfile, exampleProfile, hi, rejection } from './__tests__/helpers.js';

const WEATHER: ToolDefinition = { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } };
const CALL = { toolCalls: [{ name: 'get_weather', arguments: { city: 'Tokyo' } }], reasoning: 'thinking it over' };

let text: Emulator;
let tools: Emulator;
let aegis: Aegis;
let dir: string;

beforeAll(async () => {
  text = await startExampleComEmulator({ apiKey: 'router-test-key-5c1d' });
  tools = await startOllamaEmulator();
  dir = mkdtempSync(join(tmpdir(), 'aegis-router-tools-'));
  const lines = [
    ...exampleProfile('text_only', text.url),
    '- profile_name: with_tools',
    '  type: ollama',
    `  base_url: "${tools.url}"`,
    '  model: qwen3',
    '  max_retries: 0',
    ...compositeProfile('chain', 'fallback', ['text_only', 'with_tools']),
    ...compositeProfile('pool', 'balance', ['text_only', 'with_tools']),
    ...compositeProfile('texts', 'fallback', ['text_only']),
  ];
  writeFileSync(join(dir, 'backends.yaml'), lines.join('\n') + '\n');
  aegis = createAegis({ configPath: join(dir, 'backends.yaml'), plugins: [exampleCom, ollama, ...routerPlugins], env: {}, discover: false, logLevel: 'silent' });
});
afterAll(async () => {
  aegis.close();
  rmSync(dir, { recursive: true, force: true });
  await Promise.all([text.close(), tools.close()]);
});
beforeEach(() => {
  text.reset();
  tools.reset();
  text.setReply({ text: 'from text' });
  tools.setReply(CALL);
});

describe('a call with tools', () => {
  it('fallback skips the member without tools; tools, toolChoice and reasoning reach the member', async () => {
    const result = await aegis.getCompletion('chain', hi, { tools: [WEATHER], toolChoice: { type: 'tool', name: 'get_weather' }, reasoning: true });
    expect(result).toMatchObject({ finishReason: 'tool_calls', toolCalls: [{ name: 'get_weather', arguments: { city: 'Tokyo' } }], reasoning: 'thinking it over' });
    expect(text.requests).toHaveLength(0);
    expect(tools.lastRequest!.json).toMatchObject({ tools: [{ type: 'function', function: { name: 'get_weather' } }], think: true });
  });

  it('balance skips it too, whatever the rotation says', async () => {
    for (let i = 0; i < 3; i++) await aegis.getCompletion('pool', hi, { tools: [WEATHER] });
    expect(text.requests).toHaveLength(0);
    expect(tools.requests).toHaveLength(3);
  });

  it('a stream passes the member reasoning and tool calls on', async () => {
    const provider = await aegis.getProviderForProfile('chain');
    const stream = provider.streamCompletion(hi, { tools: [WEATHER] });
    const seen: StreamEvent[] = [];
    for await (const event of stream.events()) seen.push(event);
    expect(seen.some((e) => e.type === 'reasoning-delta')).toBe(true);
    expect(seen.find((e) => e.type === 'tool-call')).toMatchObject({ toolCall: { name: 'get_weather', arguments: { city: 'Tokyo' } } });
    const result = await stream.result;
    expect(result).toMatchObject({ finishReason: 'tool_calls', reasoning: 'thinking it over', toolCalls: [{ name: 'get_weather' }] });
    expect(text.requests).toHaveLength(0);
  });

  it('without tools the first member answers, as before', async () => {
    expect((await aegis.getCompletion('chain', hi)).text).toBe('from text');
    expect(tools.requests).toHaveLength(0);
  });

  it('no member with tools: CapabilityNotSupportedError naming tool calling, before any request', async () => {
    const error = await rejection(aegis.getCompletion('texts', hi, { tools: [WEATHER] }));
    expect(CapabilityNotSupportedError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/tool/);
    const provider = await aegis.getProviderForProfile('texts');
    await expect(provider.streamCompletion(hi, { tools: [WEATHER] }).result).rejects.toMatchObject({ code: 'capability_not_supported' });
    expect(text.requests).toHaveLength(0);
  });
});
