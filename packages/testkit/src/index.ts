/**
 * @aegis/testkit: loopback emulators of AI backends (OpenAI, vLLM, Ollama, KoboldCpp, Example.com),
 * the machinery to emulate your own backend, and the provider conformance kit.
 */
import type { BackendDef } from './backend.js';
import { exampleComBackend } from './backends/example-com.js';
import { koboldcppBackend } from './backends/koboldcpp.js';
import { ollamaBackend } from './backends/ollama.js';
import { openaiBackend } from './backends/openai.js';
import { vllmBackend } from './backends/vllm.js';
import { startServer } from './server.js';
import type { Emulator, EmulatorKind, EmulatorOptions } from './types.js';

export type {
  BackendKind,
  Emulator,
  EmulatorKind,
  EmulatorOptions,
  Fault,
  MultipartForm,
  RecordedRequest,
  ScriptedReply,
  ScriptedToolCall,
  ToolWireReader,
  WireAssistantCall,
  WireToolResult,
} from './types.js';
export { startReplayServer, type RecordedAnswer } from './replay.js';
export { fixtureText, fixtureJson, fixtureSse, fixtureNdjson, fixtureUrl, type FixtureBackend } from './fixtures.js';
export { parseMultipart, multipartBoundary } from './multipart.js';
export { wavFile, pcmTone } from './wav.js';
export { splitIntoChunks, defaultReplyText } from './text.js';
export { embedText } from './embeddings.js';
export { jsonReplyText, sampleOf } from './json-sample.js';
export { argumentsText, bringsToolResults, callsFor, replyFor, toolCallsOf } from './tools.js';

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

/**
 * Starts a loopback server for a backend you describe yourself: its routes and its
 * error bodies. The server records requests, applies `failNext` faults (status,
 * reset, truncate, drip, ...) to your plans, and is an `Emulator` like the built-in
 * ones, so the conformance kit runs against it.
 */
export function startEmulatedBackend(def: BackendDef, options?: EmulatorOptions): Promise<Emulator> {
  return startServer(def, options);
}

// ---- defining your own emulated backend -------------------------------------------------
export { authorized, bearerToken, credentialOf, BEARER, body as requestBody, unknownModel, type AuthPlacement } from './backend.js';
export type { BackendDef, Handler, HandlerCtx, Route } from './backend.js';
export { bodyPlan, jsonPlan, streamPlan, PlanError } from './plan.js';
export type { BodyPlan, Plan, StreamFormat, StreamPlan } from './plan.js';
export { dataSse, koboldSse } from './sse.js';
export { chatCompletion, openAIToolWire, type CompatFlavor, type CompatToolFlavor, type ToolStreamStyle } from './backends/openai-compat.js';
export { ndjson } from './ndjson.js';
export { renderText, estimateTokens, messagesText, type RenderedText, type TextLimits } from './text.js';

// ---- the provider conformance kit --------------------------------------------------------
export {
  conformanceChecks,
  describeProviderConformance,
  runConformance,
  startConformanceEnv,
  ConformanceError,
  CONFORMANCE_REPLY,
  CONFORMANCE_TRANSCRIPT,
  type ConformanceCheck,
  type ConformanceEnv,
  type ConformanceOptions,
  type ConformanceOutcome,
  type SamplingSetting,
  type ConformanceSession,
  type RunConformanceOptions,
} from './conformance/index.js';

export { createTestAegis, providerError, rejection, drain, collect, abortOnArrival, type TestAegis, type TestAegisOptions } from './testing.js';
