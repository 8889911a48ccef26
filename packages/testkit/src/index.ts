/** @aegis/testkit: loopback emulators of AI backends (OpenAI, vLLM, Ollama, KoboldCpp, Example.com). */
import type { BackendDef } from './backend.js';
import { exampleComBackend } from './backends/example-com.js';
import { koboldcppBackend } from './backends/koboldcpp.js';
import { ollamaBackend } from './backends/ollama.js';
import { openaiBackend } from './backends/openai.js';
import { vllmBackend } from './backends/vllm.js';
import { startServer } from './server.js';
import type { Emulator, EmulatorKind, EmulatorOptions } from './types.js';

export type { Emulator, EmulatorKind, EmulatorOptions, Fault, MultipartForm, RecordedRequest, ScriptedReply } from './types.js';
export { parseMultipart, multipartBoundary } from './multipart.js';
export { wavFile, pcmTone } from './wav.js';
export { splitIntoChunks, defaultReplyText } from './text.js';
export { embedText } from './embeddings.js';

const BACKENDS: Record<EmulatorKind, BackendDef> = {
  openai: openaiBackend,
  vllm: vllmBackend,
  ollama: ollamaBackend,
  koboldcpp: koboldcppBackend,
  'example-com': exampleComBackend,
};

export const EMULATOR_KINDS = Object.keys(BACKENDS) as EmulatorKind[];

export function startEmulator(kind: EmulatorKind, o?: EmulatorOptions): Promise<Emulator> {
  const def = BACKENDS[kind];
  if (!def) return Promise.reject(new Error(`unknown emulator kind: ${String(kind)}`));
  return startServer(def, o);
}

export const startOpenAIEmulator = (o?: EmulatorOptions): Promise<Emulator> => startEmulator('openai', o);
export const startVllmEmulator = (o?: EmulatorOptions): Promise<Emulator> => startEmulator('vllm', o);
export const startOllamaEmulator = (o?: EmulatorOptions): Promise<Emulator> => startEmulator('ollama', o);
export const startKoboldCppEmulator = (o?: EmulatorOptions): Promise<Emulator> => startEmulator('koboldcpp', o);
export const startExampleComEmulator = (o?: EmulatorOptions): Promise<Emulator> => startEmulator('example-com', o);
