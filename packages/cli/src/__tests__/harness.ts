import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import {
  BackendProvider,
  BaseBackendConfig,
  definePlugin,
  PLUGIN_API_VERSION,
  ProviderError,
  secret,
  z,
  type AegisPlugin,
  type CallSettings,
  type Capability,
  type ChatMessage,
  type CompletionResult,
  type EmbeddingsResult,
  type ProviderStream,
  type SpeechOptions,
  type SpeechResult,
  type TranscriptionOptions,
  type TranscriptionResult,
} from '@aegis/core';
import { main } from '../main.js';

/** How many speech calls the in-memory provider answered (a command that must not call it can be checked). */
export const speechCalls = { count: 0 };

/** The secret every test config holds; it must never be printed. */
export const SECRET = 'sk-test-canary-0123456789abcdef';

const MemConfig = BaseBackendConfig.extend({
  type: z.string(),
  api_key: secret(z.string().min(1)),
  model: z.string().default('mem-1'),
});
type MemConfig = z.infer<typeof MemConfig>;

/**
 * A provider that answers from memory. The prompt picks the behaviour:
 * `echo-key` answers with the API key, `fail` fails like a backend, `refuse`
 * declines (a refusal, no text), `hang` streams one delta then waits for the
 * call to be aborted; anything else is echoed
 * with the settings the call got.
 */
class MemProvider extends BackendProvider<MemConfig> {
  protected override async doCompletion(messages: ChatMessage[], settings: CallSettings): Promise<CompletionResult> {
    const prompt = messages[messages.length - 1]!.content;
    if (prompt === 'echo-key') return { text: `the key is ${this.config.api_key}`, finishReason: 'stop', model: this.config.model };
    if (prompt === 'fail') throw new ProviderError('backend exploded with status 500', { status: 500, url: 'mem://backend' });
    if (prompt === 'refuse') return { text: '', refusal: 'I cannot help with that.', finishReason: 'stop' };
    const system = messages.find((m) => m.role === 'system')?.content;
    const parts = [`echo: ${prompt}`];
    if (system !== undefined) parts.push(`system: ${system}`);
    if (settings.temperature !== undefined) parts.push(`temperature: ${settings.temperature}`);
    if (settings.maxTokens !== undefined) parts.push(`max tokens: ${settings.maxTokens}`);
    return {
      text: parts.join(' | '),
      finishReason: 'stop',
      usage: { promptTokens: 3, completionTokens: 4, totalTokens: 7 },
      model: this.config.model,
    };
  }

  protected override async *doStream(messages: ChatMessage[], settings: CallSettings): ProviderStream {
    const prompt = messages[messages.length - 1]!.content;
    if (prompt === 'hang') {
      yield 'partial ';
      await new Promise<void>((_, reject) => {
        const fail = () => reject(new ProviderError('call aborted', { reason: 'aborted' }));
        if (settings.signal.aborted) fail();
        settings.signal.addEventListener('abort', fail, { once: true });
      });
      return { finishReason: 'stop' };
    }
    if (prompt === 'refuse') {
      yield { type: 'refusal', text: 'I cannot ' };
      yield { type: 'refusal', text: 'help with that.' };
      return { finishReason: 'stop' };
    }
    if (prompt === 'echo-key') {
      // The secret arrives in three pieces: the writer must still scrub it.
      const key = this.config.api_key;
      yield 'key: ';
      yield key.slice(0, 5);
      yield key.slice(5, 12);
      yield key.slice(12);
      yield ' done';
      return { finishReason: 'stop', model: this.config.model };
    }
    for (const word of ['Hello', ' streaming', ' world']) yield word;
    return { finishReason: 'length', usage: { completionTokens: 3 }, model: this.config.model };
  }

  protected override async doEmbeddings(texts: string[]): Promise<EmbeddingsResult> {
    return { embeddings: texts.map((t) => [t.length, 0.5]), model: this.config.model };
  }

  protected override async doSpeech(text: string, options: SpeechOptions): Promise<SpeechResult> {
    speechCalls.count++;
    const audio = new TextEncoder().encode(`${options.voice ?? 'default'}:${text}`);
    return { audio, mimeType: `audio/${options.format ?? 'mpeg'}` };
  }

  protected override async doTranscription(audio: Uint8Array, options: TranscriptionOptions): Promise<TranscriptionResult> {
    return { text: `heard ${audio.byteLength} bytes of ${options.mimeType} from ${options.fileName} in ${options.language ?? '?'}` };
  }
}

function memPlugin(type: string, capabilities: Capability[]): AegisPlugin {
  return definePlugin({
    apiVersion: PLUGIN_API_VERSION,
    type,
    description: `in-memory test backend (${type})`,
    configSchema: MemConfig,
    capabilities,
    create: (config, context) => new MemProvider(config, context),
  });
}

export const PLUGINS: AegisPlugin[] = [
  memPlugin('mem', ['completion', 'streaming', 'embeddings', 'speech', 'transcription']),
  memPlugin('textonly', ['completion']),
];

export const BACKENDS = `- profile_name: mem
  type: mem
  description: In-memory backend
  api_key: \${SECRET}
  max_retries: 0
- profile_name: text
  type: textonly
  description: Completions only
  api_key: \${SECRET}
  max_retries: 0
`;

/** A temporary directory holding backends.yaml and a .env with the secret. */
export function tempProject(backends = BACKENDS, extra: Record<string, string> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aegis-cli-'));
  fs.writeFileSync(path.join(dir, 'backends.yaml'), backends);
  fs.writeFileSync(path.join(dir, '.env'), `SECRET=${SECRET}\n`);
  for (const [name, text] of Object.entries(extra)) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

/** A writable stream that keeps what is written. */
export class Capture extends Writable {
  private readonly chunks: string[] = [];

  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: () => void): void {
    this.chunks.push(chunk.toString());
    callback();
  }

  get text(): string {
    return this.chunks.join('');
  }
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd: string;
  stdin?: string;
  plugins?: AegisPlugin[];
  /** The environment the CLI sees (default: empty). */
  env?: Record<string, string | undefined>;
  /** Called once the run has started, with the captured stdout (for interrupting it). */
  during?: (stdout: Capture) => Promise<void>;
}

/** Runs `aegis <args>` in-process against a project directory. */
export async function run(args: string[], options: RunOptions): Promise<RunResult> {
  const stdout = new Capture();
  const stderr = new Capture();
  const stdin = Readable.from(options.stdin === undefined ? [] : [Buffer.from(options.stdin)]);
  const running = main(['node', 'aegis', ...args], { stdout, stderr, stdin }, {
    plugins: options.plugins ?? PLUGINS,
    cwd: options.cwd,
    env: options.env ?? {},
  });
  if (options.during) await options.during(stdout);
  const code = await running;
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** Waits until `check` is true (polling), or fails after a while (10 s or more: a ceiling for a loaded machine, reached only by a failing test). */
export async function waitFor(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (check()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}
