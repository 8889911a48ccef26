/** Public types of the provider conformance kit. */
import type { Aegis, BackendProvider, Capability } from '@aegis/core';
import type { Emulator } from '../types.js';

/** The sampling settings the runtime-override check can use, by their profile field name. */
export type SamplingSetting = 'temperature' | 'top_p' | 'seed' | 'max_tokens';

export interface ConformanceOptions {
  /**
   * Starts the loopback server the checks run against: an {@link Emulator} (url, baseUrl,
   * requests, lastRequest, setReply, failNext, reset, close). Use one of the built-in
   * emulators, or `startEmulatedBackend(def)` for your own backend.
   */
  server: () => Promise<Emulator>;
  /**
   * The profile's fields, as in backends.yaml, pointing at the server: without
   * `profile_name`; `type` is optional (default: the plugin's type).
   */
  profile: (server: Emulator) => Record<string, unknown>;
  /**
   * The plugin package's package.json, as a path or a file URL (e.g.
   * `new URL('../package.json', import.meta.url)`), for the manifest check (skipped when absent).
   */
  packageJson?: string | URL;
  /** The capabilities to check. Defaults to the plugin's declared capabilities; each must be declared. */
  capabilities?: readonly Capability[];
  /** A field of the profile the schema must reject, and the bad value (default: `timeout: "soon"`). */
  badField?: { field: string; value: unknown };
  /** The field that holds a secret, with a value to use (checks redaction), when the plugin has one. */
  secretField?: { field: string; value: string };
  /** Audio to transcribe (default: a short WAV made by wavFile/pcmTone). */
  audio?: Uint8Array;
  /** MIME type of `audio` (default `audio/wav`). */
  audioMimeType?: string;
  /**
   * Per-call sampling settings the backend has no field for, so the plugin
   * ignores them (e.g. `['temperature']`). The runtime-override check then
   * uses the first other one of temperature, max_tokens, top_p and seed, and
   * is skipped when the backend takes none of them.
   */
  unsupportedSettings?: readonly SamplingSetting[];
  /**
   * Tool choices the backend has no way to express (e.g. `['required']` for
   * an API with no "must call a tool" mode): the plugin refuses them with
   * CapabilityNotSupportedError before any request, and `tools.choice` checks
   * that refusal for them instead of their mapping.
   */
  unsupportedToolChoices?: readonly ('none' | 'required' | 'tool')[];
  /** Time limit of each check in milliseconds (default 20 000). */
  timeoutMs?: number;
}

/** One check of the contract. `run` resolves when the plugin conforms and throws an Error saying what it did wrong otherwise. */
export interface ConformanceCheck {
  /** Stable identifier, e.g. `streaming.abort`. */
  id: string;
  /** What the check verifies, in words (the jest test title). */
  name: string;
  /** The capability the check is about, when it is about one. */
  capability?: Capability;
  /** When set, the check does not apply to this plugin, and this says why; `run` then does nothing. */
  skip?: string;
  run(): Promise<void>;
}

/**
 * What the checks use at run time: the started server and a way to build
 * providers through core's real path (a backends.yaml in a temp dir, loaded by
 * `createAegis`). `startConformanceEnv` makes one.
 */
export interface ConformanceEnv {
  /** The started server. */
  readonly server: Emulator;
  /** The name of the profile `aegis()` and `provider()` write (`conformance`). */
  readonly profileName: string;
  /**
   * An AEGIS instance whose backends.yaml holds one profile: the options' profile with
   * `overrides` on top (a field set to `undefined` is left out). Instances are reused
   * for equal overrides and closed by the env.
   */
  aegis(overrides?: Record<string, unknown>): Aegis;
  /** The provider of that profile (`getProviderForProfile`). */
  provider(overrides?: Record<string, unknown>): Promise<BackendProvider>;
}

/** The result of one check run outside jest. */
export interface ConformanceOutcome {
  id: string;
  name: string;
  capability?: Capability;
  status: 'passed' | 'failed' | 'skipped';
  /** Why it failed (`failed`) or does not apply (`skipped`). */
  message?: string;
  error?: unknown;
}
