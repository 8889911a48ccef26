/**
 * A small agent with two tools, running the whole loop through AEGIS: the
 * model calls tools, the agent runs them and sends the results back, until
 * the model answers. The agent code knows nothing of the backend: the same
 * `runAgent` runs on every profile whose provider declares `tools`.
 *
 *   npm run example:agent -- -p ollama            offline: against the bundled Ollama emulator
 *   npm run example:agent -- -p vllm --stream     streamed (openai, vllm, ollama, koboldcpp)
 *   npm run example:agent -- -p ollama --live     the profile of backends.yaml as it is (a real Ollama)
 *   npm run example:agent -- -p my-profile --live --config path/to/backends.yaml "What should I wear in Paris?"
 *
 * Offline, the emulator of the profile's backend answers with scripted tool
 * calls and then a scripted answer (no model runs); the root backends.yaml's
 * profile is pointed at it through its base URL variable, as `npm start` does.
 */
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createAegis, type BackendProvider, type ChatMessage, type CompletionResult, type ToolCall, type ToolDefinition } from '@aegis/core';

// ---- the tools ---------------------------------------------------------------------

export const TOOLS: ToolDefinition[] = [
  {
    name: 'get_weather',
    description: 'The current weather in a city: temperature in degrees Celsius and the sky',
    parameters: {
      type: 'object',
      properties: { city: { type: 'string', description: 'The city, e.g. Tokyo' } },
      required: ['city'],
    },
  },
  {
    name: 'convert_temperature',
    description: 'Converts a temperature from degrees Celsius to Fahrenheit or Kelvin',
    parameters: {
      type: 'object',
      properties: {
        celsius: { type: 'number' },
        to: { type: 'string', enum: ['fahrenheit', 'kelvin'] },
      },
      required: ['celsius', 'to'],
    },
  },
];

/** A made-up weather service. */
const WEATHER: Record<string, { celsius: number; sky: string }> = {
  tokyo: { celsius: 18, sky: 'light rain' },
  paris: { celsius: 12, sky: 'overcast' },
  lima: { celsius: 24, sky: 'sunny' },
};

/** Runs one call; the result (or what went wrong, for the model to correct) as JSON text. */
export function runTool(call: ToolCall): string {
  const args = call.arguments;
  switch (call.name) {
    case 'get_weather': {
      const city = typeof args.city === 'string' ? args.city : '';
      const weather = WEATHER[city.trim().toLowerCase()];
      return JSON.stringify(weather ? { city, ...weather } : { error: `no weather for "${city}"; known cities: Tokyo, Paris, Lima` });
    }
    case 'convert_temperature': {
      const celsius = Number(args.celsius);
      if (!Number.isFinite(celsius)) return JSON.stringify({ error: '"celsius" must be a number' });
      if (args.to === 'fahrenheit') return JSON.stringify({ fahrenheit: Math.round((celsius * 9) / 5 + 32) });
      if (args.to === 'kelvin') return JSON.stringify({ kelvin: Math.round((celsius + 273.15) * 100) / 100 });
      return JSON.stringify({ error: '"to" must be "fahrenheit" or "kelvin"' });
    }
    default:
      return JSON.stringify({ error: `there is no tool "${call.name}"` });
  }
}

// ---- the agent ---------------------------------------------------------------------

export interface AgentOptions {
  /** Stream each turn (text as it comes, calls as they complete). */
  stream?: boolean;
  /** Give up after this many model turns (default 5). */
  maxTurns?: number;
  /** Where the agent says what happens (default: nowhere). */
  log?: (text: string) => void;
  signal?: AbortSignal;
}

export interface AgentRun {
  answer: string;
  /** Model turns taken (calls, then the answer: 2 when one round of tools was enough). */
  turns: number;
  /** Every call the model made, in order. */
  calls: ToolCall[];
  /** The whole conversation, tool calls and results included. */
  messages: ChatMessage[];
}

const SYSTEM = 'You are a helpful assistant. Use the tools for weather and temperature conversions; answer in one or two sentences.';

/** Asks the model, runs the tools it calls, sends the results back, until it answers in text. */
export async function runAgent(provider: BackendProvider, question: string, options: AgentOptions = {}): Promise<AgentRun> {
  const log = options.log ?? (() => undefined);
  const messages: ChatMessage[] = [
    { role: 'system', content: SYSTEM },
    { role: 'user', content: question },
  ];
  const calls: ToolCall[] = [];
  const maxTurns = options.maxTurns ?? 5;
  for (let turn = 1; turn <= maxTurns; turn++) {
    const result = options.stream ? await streamTurn(provider, messages, options, log) : await provider.getCompletion(messages, { tools: TOOLS, signal: options.signal });
    const toolCalls = result.toolCalls ?? [];
    // The calls go back as they came: the same ids, so each result finds its call.
    messages.push({ role: 'assistant', content: result.text, ...(toolCalls.length > 0 ? { toolCalls } : {}) });
    if (toolCalls.length === 0) {
      if (!options.stream) log(`assistant: ${result.text}\n`);
      return { answer: result.text, turns: turn, calls, messages };
    }
    for (const call of toolCalls) {
      calls.push(call);
      const output = runTool(call);
      log(`  -> ${call.name}(${JSON.stringify(call.arguments)})\n  <- ${output}\n`);
      messages.push({ role: 'tool', toolCallId: call.id, name: call.name, content: output });
    }
  }
  throw new Error(`the model gave no answer in ${maxTurns} turns`);
}

/** One streamed turn: the text printed as it arrives; the calls come complete in the result. */
async function streamTurn(
  provider: BackendProvider,
  messages: ChatMessage[],
  options: AgentOptions,
  log: (text: string) => void,
): Promise<CompletionResult> {
  const stream = provider.streamCompletion(messages, { tools: TOOLS, signal: options.signal });
  let started = false;
  for await (const event of stream.events()) {
    if (event.type === 'text-delta') {
      if (!started) log('assistant: ');
      started = true;
      log(event.text);
    } else if (event.type === 'tool-call') {
      log(`  (model calls ${event.toolCall.name})\n`);
    }
  }
  if (started) log('\n');
  return stream.result;
}

// ---- the command line --------------------------------------------------------------

/** The answer the offline run's emulator gives once it has the tool results. */
export const ANSWER = 'In Tokyo it is 18 °C (64 °F) with light rain: take an umbrella.';

/** What the offline run scripts the emulator with: the two tools called at once, then (given the results) the answer. */
export const SCRIPT = {
  toolCalls: [
    { name: 'get_weather', arguments: { city: 'Tokyo' } },
    { name: 'convert_temperature', arguments: { celsius: 18, to: 'fahrenheit' } },
  ],
  afterToolResults: { text: ANSWER },
};

/** How each offline profile of the root backends.yaml is pointed at its emulator: the variable, and which URL. */
export const OFFLINE: Record<string, { variable: string; url: 'url' | 'baseUrl'; env?: Record<string, string> }> = {
  ollama: { variable: 'OLLAMA_BASE_URL', url: 'url' },
  vllm: { variable: 'VLLM_BASE_URL', url: 'baseUrl' },
  koboldcpp: { variable: 'KOBOLDCPP_BASE_URL', url: 'url' },
  openai: { variable: 'OPENAI_BASE_URL', url: 'baseUrl', env: { OPENAI_API_KEY: 'sk-offline-example' } },
};

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      profile: { type: 'string', short: 'p', default: 'ollama' },
      stream: { type: 'boolean', default: false },
      live: { type: 'boolean', default: false },
      config: { type: 'string' },
    },
  });
  const question = positionals.join(' ') || 'What is the weather in Tokyo, in Fahrenheit?';
  const profile = values.profile!;
  const out = (text: string) => process.stdout.write(text);
  let env: Record<string, string | undefined> = process.env;
  let close = async () => undefined as void;
  if (!values.live) {
    const offline = OFFLINE[profile];
    if (!offline) {
      process.stderr.write(`offline, -p must be one of ${Object.keys(OFFLINE).join(', ')}; use --live for any profile of backends.yaml\n`);
      return 1;
    }
    const { startEmulator } = await import('@aegis/testkit');
    // A short pause between stream frames, so --stream shows the deltas (and KoboldCpp's wait) as a backend would.
    const emulator = await startEmulator(profile as 'ollama', { reply: SCRIPT, chunkDelayMs: values.stream ? 20 : 0 });
    env = { ...process.env, ...offline.env, [offline.variable]: emulator[offline.url] };
    close = () => emulator.close();
    process.stderr.write(`(offline: the ${profile} emulator at ${emulator.url} answers with scripted calls; --live uses the real backend)\n`);
  }
  // backends.yaml: --config, else $AEGIS_BACKENDS, else ./backends.yaml (npm runs this from the repository's root).
  const aegis = createAegis({ configPath: values.config, env });
  try {
    const provider = await aegis.getProviderForProfile(profile);
    out(`user: ${question}\n`);
    const run = await runAgent(provider, question, { stream: values.stream, log: out });
    process.stderr.write(`(${run.turns} turns, ${run.calls.length} tool calls)\n`);
    return 0;
  } finally {
    aegis.close();
    await close();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`agent-loop: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
