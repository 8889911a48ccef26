/**
 * `aegis serve` as a user runs it (the built CLI in a child process): the
 * root backends.yaml through the emulators for the openai client and the AI
 * SDK, reload on SIGHUP, graceful stop on SIGTERM, and the refusal to listen
 * on a public address without keys.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { generateText, streamText } from 'ai';
import { startKoboldCppEmulator, startOllamaEmulator, startVllmEmulator, type Emulator } from '@aegis/testkit';
import { backendsYaml, startBackends, startHeldUpstream, UPSTREAM_ENV, type Backends, type HeldUpstream } from '../../../gateway/src/__tests__/harness.js';
import { CLI, REPO, startServe, type ServeProcess } from '../../../gateway/src/__tests__/serve-process.js';

const run = promisify(execFile);

describe('aegis serve on the root backends.yaml, offline through the emulators', () => {
  let emulators: Emulator[] = [];
  let serve: ServeProcess;

  beforeAll(async () => {
    const [ollama, vllm, kobold] = await Promise.all([startOllamaEmulator(), startVllmEmulator(), startKoboldCppEmulator()]);
    emulators = [ollama, vllm, kobold];
    serve = await startServe([], {
      OLLAMA_BASE_URL: ollama.baseUrl,
      VLLM_BASE_URL: vllm.baseUrl,
      KOBOLDCPP_BASE_URL: kobold.baseUrl,
      OPENAI_API_KEY: undefined,
    });
  });
  afterAll(async () => {
    await serve?.stop();
    await Promise.all(emulators.map((e) => e.close()));
  });

  it('serves every usable profile; says which it skips and why', async () => {
    const client = new OpenAI({ baseURL: `${serve.url}/v1`, apiKey: 'local', maxRetries: 0 });
    const ids = [];
    for await (const model of client.models.list()) ids.push(model.id);
    expect(ids).toEqual(['ollama', 'vllm', 'koboldcpp', 'demo', 'local']);
    expect(serve.stderr()).toMatch(/profile "openai" is not served: field "api_key": environment variable "OPENAI_API_KEY" is not set/);
  });

  it('answers the official openai client, streamed and not', async () => {
    const client = new OpenAI({ baseURL: `${serve.url}/v1`, apiKey: 'local', maxRetries: 0 });
    const answer = await client.chat.completions.create({ model: 'ollama', messages: [{ role: 'user', content: 'Hello' }] });
    expect(answer.choices[0]!.message.content).toMatch(/Ollama emulator/);
    const stream = await client.chat.completions.create({ model: 'vllm', messages: [{ role: 'user', content: 'Hello' }], stream: true });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toMatch(/vLLM emulator/);
    const vectors = await client.embeddings.create({ model: 'koboldcpp', input: 'x' });
    expect(vectors.data[0]!.embedding.length).toBeGreaterThan(0);
  });

  it('serves tool calls and reasoning whatever the backend\'s framing: vLLM\'s and KoboldCpp\'s streams reach the openai client as OpenAI\'s', async () => {
    const [, vllm, kobold] = emulators;
    const client = new OpenAI({ baseURL: `${serve.url}/v1`, apiKey: 'local', maxRetries: 0 });
    const tools: OpenAI.ChatCompletionTool[] = [
      { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } },
    ];
    const call = { name: 'get_weather', arguments: { city: 'Lyon' } };
    vllm!.setReply({ reasoning: 'A weather question.', toolCalls: [call] });
    kobold!.setReply({ toolCalls: [call] });
    for (const model of ['vllm', 'koboldcpp']) {
      let reasoning = '';
      const stream = client.chat.completions.stream({ model, messages: [{ role: 'user', content: 'Weather in Lyon?' }], tools });
      stream.on('chunk', (chunk) => (reasoning += (chunk.choices[0]?.delta as { reasoning?: string } | undefined)?.reasoning ?? ''));
      const final = await stream.finalChatCompletion();
      expect(final.choices[0]!.finish_reason).toBe('tool_calls');
      const [made] = final.choices[0]!.message.tool_calls!;
      expect(made!.id).toMatch(/\S/);
      expect(made!.type === 'function' && [made.function.name, JSON.parse(made.function.arguments)]).toEqual(['get_weather', { city: 'Lyon' }]);
      if (model === 'vllm') expect(reasoning).toBe('A weather question.');
    }
    vllm!.reset();
    kobold!.reset();
  });

  it('answers the AI SDK: generateText and streamText', async () => {
    const provider = createOpenAICompatible({ name: 'aegis', baseURL: `${serve.url}/v1` });
    const { text } = await generateText({ model: provider.chatModel('local'), prompt: 'Hello', maxRetries: 0 });
    expect(text).toMatch(/emulator/);
    const streamed = streamText({ model: provider.chatModel('koboldcpp'), prompt: 'Hello', maxRetries: 0 });
    let all = '';
    for await (const delta of streamed.textStream) all += delta;
    expect(all.length).toBeGreaterThan(0);
    // Access log lines on stdout: one JSON object per request.
    const lines = serve.stdout().trim().split('\n').map((l) => JSON.parse(l) as { path: string; status: number });
    expect(lines.some((l) => l.path === '/v1/chat/completions' && l.status === 200)).toBe(true);
  });
});

describe('aegis serve: reload and stop', () => {
  let backends: Backends;
  let held: HeldUpstream;
  let dir: string;
  let serve: ServeProcess;
  const heldProfile = () => `  - profile_name: held\n    type: openai\n    base_url: ${held.baseUrl}\n    api_key: sk-held-0123456789\n    model: m\n`;

  beforeAll(async () => {
    [backends, held] = await Promise.all([startBackends(), startHeldUpstream()]);
    dir = mkdtempSync(join(tmpdir(), 'aegis-serve-'));
    writeFileSync(join(dir, 'backends.yaml'), backendsYaml(backends, heldProfile()));
    serve = await startServe(['--config', join(dir, 'backends.yaml')], UPSTREAM_ENV);
  });
  afterAll(async () => {
    await serve?.stop();
    await Promise.all([backends?.close(), held?.close()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const models = async () => ((await (await fetch(`${serve.url}/v1/models`)).json()) as { data: { id: string }[] }).data.map((m) => m.id);

  it('holds 70 streams to one backend at once: no bound per backend unless backends.yaml sets one (a pool of 64 would hold 6 back)', async () => {
    const body = JSON.stringify({ model: 'held', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    const responses = Array.from({ length: 70 }, () => fetch(`${serve.url}/v1/chat/completions`, { method: 'POST', body }));
    const calls = await Promise.all(Array.from({ length: 70 }, () => held.nextCall())); // all 70 reached the backend
    for (const call of calls) call.release();
    const texts = await Promise.all(responses.map(async (response) => (await response).text()));
    expect(texts.filter((text) => text.includes('data: [DONE]'))).toHaveLength(70);
  });

  it('SIGHUP: an invalid file keeps the running configuration; a valid one replaces it', async () => {
    const before = await models();
    writeFileSync(join(dir, 'backends.yaml'), backendsYaml(backends, heldProfile() + 'gateway:\n  models:\n    fast: no-such-profile\n'));
    let from = serve.stderr().length;
    serve.signal('SIGHUP');
    const failed = await serve.waitForStderr(/reload failed[^\n]*\n[^\n]*/, from);
    expect(failed).toMatch(/backends\.yaml:\d+:\d+: field "gateway\.models\.fast": no profile named "no-such-profile"/);
    expect(await models()).toEqual(before);

    writeFileSync(join(dir, 'backends.yaml'), backendsYaml(backends, heldProfile() + 'gateway:\n  models:\n    fast: llama\n    slow: held\n'));
    from = serve.stderr().length;
    serve.signal('SIGHUP');
    await serve.waitForStderr(/configuration reloaded: serving fast, slow/, from);
    expect(await models()).toEqual(['fast', 'slow']);
  });

  it('SIGTERM: stops accepting, lets the in-flight stream finish (a SIGHUP or a second SIGTERM meanwhile changes nothing), then exits 0', async () => {
    const response = await fetch(`${serve.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'slow', stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    const call = await held.nextCall();
    const reader = response.body!.getReader();
    let text = new TextDecoder().decode((await reader.read()).value);
    expect(text).toContain('first');
    serve.signal('SIGTERM');
    await serve.waitForStderr(/SIGTERM: stopped accepting/);
    await expect(fetch(`${serve.url}/healthz`)).rejects.toThrow();
    // systemd and npm may both send SIGTERM; a SIGHUP may come from a reload script: none cuts the stream.
    serve.signal('SIGHUP');
    await serve.waitForStderr(/SIGHUP ignored: already stopping/);
    serve.signal('SIGTERM');
    await serve.waitForStderr(/SIGTERM ignored: already stopping/);
    call.release();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    expect(text).toContain('data: [DONE]');
    expect(await serve.exited).toBe(0);
    expect(serve.stderr()).toMatch(/aegis: stopped/);
  });
});

describe('aegis serve: start-up lines', () => {
  it('warns that anyone on the machine can call it when no keys are configured, and not when keys are; a SIGHUP right after the start reloads', async () => {
    const backends = await startBackends();
    const dir = mkdtempSync(join(tmpdir(), 'aegis-serve-'));
    const keyless = join(dir, 'keyless.yaml');
    const keyed = join(dir, 'keyed.yaml');
    writeFileSync(keyless, backendsYaml(backends));
    writeFileSync(keyed, backendsYaml(backends, 'gateway:\n  keys:\n    - name: alice\n      key: ${KEY_ALICE}\n'));
    const warning = /aegis: no keys configured: anyone on this machine can call it \(loopback only\)/;
    const serves: ServeProcess[] = [];
    try {
      for (const [file, warned] of [[keyless, true], [keyed, false]] as const) {
        const serve = await startServe(['--config', file], { ...UPSTREAM_ENV, KEY_ALICE: 'alice-key-0123456789abcdef' });
        serves.push(serve);
        // A SIGHUP as soon as the "serving" line is read (startServe waits for it) reloads: the signal
        // handlers are in place before that line is printed (before, the signal's default action killed the
        // process). The reload's line comes after every start-up line on stderr: once it is read, they all are.
        const from = serve.stderr().length;
        serve.signal('SIGHUP');
        await serve.waitForStderr(/configuration reloaded/, from);
        const startup = serve.stderr().slice(0, from + serve.stderr().slice(from).search(/aegis: configuration reloaded/));
        expect(startup).toMatch(/aegis: serving \d+ models? /);
        if (warned) expect(startup).toMatch(warning);
        else expect(startup).not.toMatch(warning);
      }
    } finally {
      await Promise.all(serves.map((serve) => serve.stop()));
      await backends.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('aegis serve: refusals', () => {
  it('refuses to listen on 0.0.0.0 without keys, saying how to add them (exit 1)', async () => {
    const backends = await startBackends();
    const dir = mkdtempSync(join(tmpdir(), 'aegis-serve-'));
    writeFileSync(join(dir, 'backends.yaml'), backendsYaml(backends));
    const failure = await run(process.execPath, [CLI, '--config', join(dir, 'backends.yaml'), 'serve', '--host', '0.0.0.0', '--port', '65535'], {
      cwd: REPO,
      env: { ...process.env, ...UPSTREAM_ENV },
    }).catch((e: { code: number; stderr: string }) => e);
    await backends.close();
    rmSync(dir, { recursive: true, force: true });
    expect((failure as { code: number }).code).toBe(1);
    expect((failure as { stderr: string }).stderr).toMatch(/aegis: refusing to listen on 0\.0\.0\.0 without keys/);
    expect((failure as { stderr: string }).stderr).toMatch(/key: \$\{AEGIS_GATEWAY_KEY\}/);
  });
});
