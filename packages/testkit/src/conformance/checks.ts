/**
 * The provider contract as plain async checks. Each one builds providers through
 * core's real path (the env), drives the loopback server, and throws a
 * ConformanceError saying what the plugin did wrong. No test framework here.
 */
import { readFileSync } from 'node:fs';
import {
  BaseBackendConfig,
  DO_METHOD_OF,
  OPERATION_CAPABILITIES,
  CapabilityNotSupportedError,
  ConfigurationError,
  PLUGIN_API_VERSION,
  PLUGIN_KEYWORD,
  ProviderError,
  StructuredOutputError,
  formatIssue,
  implementedCapabilities,
  isAegisPlugin,
  isCapability,
  isOperationCapability,
  pluginProblems,
  secretKeysOf,
  OPERATION_OF,
  type AegisPlugin,
  type BackendProvider,
  type Capability,
  type OperationCapability,
  type ChatMessage,
  type CompletionResult,
  type CompletionStream,
  type RuntimeExecutionConfig,
} from '@aegis/core';
import type { RecordedRequest } from '../types.js';
import { pcmTone, wavFile } from '../wav.js';
import { check, ConformanceError, describeError, fail, numbersIn, sameNumber, settle, show, within, type Settled } from './assert.js';
import type { ConformanceCheck, ConformanceEnv, ConformanceOptions, SamplingSetting } from './types.js';
import { featureChecks } from './tool-checks.js';

const PROMPT: ChatMessage[] = [{ role: 'user', content: 'Say the conformance sentence.' }];
/** Whether a request is a completion of PROMPT (its text is in the body whatever the backend's format). */
const carriesPrompt = (request: RecordedRequest): boolean => request.body.includes('conformance sentence');
/** What the server answers unless a check scripts something else. */
export const CONFORMANCE_REPLY = 'The quick brown fox jumps over the lazy dog.';
export const CONFORMANCE_TRANSCRIPT = 'A short tone, transcribed for the conformance kit.';
const STREAM_CHUNKS = ['Alpha', ' beta', ' gamma', ' delta', ' epsilon.'];
/** HTTP statuses the error checks answer with, and whether each is worth retrying (core's isRetryableStatus). */
const HTTP_FAILURES: readonly (readonly [number, boolean])[] = [
  [500, true],
  [503, true],
  [429, true],
  [400, false],
  [401, false],
  [404, false],
];
const FINISH_REASONS = ['stop', 'length', 'content_filter', 'tool_calls', 'error', 'other'];
/**
 * The settings the runtime-override check can use, in order of preference:
 * the profile field, the per-call field, and two values unlikely to occur in
 * a request by chance.
 */
const OVERRIDABLE: readonly { field: SamplingSetting; runtime: keyof RuntimeExecutionConfig; profile: number; call: number }[] = [
  { field: 'temperature', runtime: 'temperature', profile: 0.25, call: 0.75 },
  { field: 'max_tokens', runtime: 'maxTokens', profile: 97, call: 61 },
  { field: 'top_p', runtime: 'topP', profile: 0.25, call: 0.75 },
  { field: 'seed', runtime: 'seed', profile: 4242, call: 2424 },
];
/** How long a stream may go on after its signal was aborted. */
const ABORT_GRACE_MS = 3000;
const DEFAULT_TIMEOUT_MS = 20_000;
/** The message of the backend's in-stream error event the kit sends; the ProviderError must carry it. */
const STREAM_ERROR_MESSAGE = 'the conformance kit broke this stream';
/** What the emulators send for a `wrong-shape` fault, for messages. */
const WRONG_SHAPE_SAMPLE = '{"unexpected": true, "items": [1, 2, 3], ...}';
/**
 * The read limits the limit checks set (the least the schema allows), and the
 * size of the answer that passes them: far below core's defaults and its
 * longest streamed text, so only the profile's limits can stop it.
 */
const SMALL_LIMIT_BYTES = 4096;
const OVERSIZED_BYTES = 64 * 1024;
/**
 * The idle checks' profile: silence ends the call after IDLE_TIMEOUT_S, its
 * deadline is IDLE_DEADLINE_S (well within a check's own time), so a plugin
 * that drops the idle timeout fails with "timeout" rather than hanging.
 */
const IDLE_TIMEOUT_S = 0.2;
const IDLE_DEADLINE_S = 2;
/** Base fields and values every schema that extends BaseBackendConfig accepts unchanged. */
const BASE_SAMPLE: Record<string, unknown> = {
  description: 'conformance profile',
  max_tokens: 64,
  top_p: 0.9,
  stop: ['<END>'],
  seed: 7,
  timeout: 45,
  idle_timeout: 30,
  max_retries: 1,
};



interface Streamed {
  deltas: string[];
  result: CompletionResult;
}

async function drain(stream: CompletionStream): Promise<Streamed> {
  const deltas: string[] = [];
  for await (const delta of stream) deltas.push(delta);
  return { deltas, result: await stream.result };
}

/** True when two vectors are equal within float noise (a float32 round trip). */
function sameVector(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => Math.abs(x - b[i]!) <= 1e-6 * Math.max(1, Math.abs(x)));
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The checks of the provider contract for one plugin: one per aspect, for every
 * capability the plugin declares (or `options.capabilities`); the ones that do not
 * apply carry a `skip` reason. `env` is used only when a check runs.
 */
export function conformanceChecks(plugin: AegisPlugin, options: ConformanceOptions, env: ConformanceEnv): ConformanceCheck[] {
  const type = typeof plugin?.type === 'string' ? plugin.type : '(no type)';
  const declared: readonly Capability[] = Array.isArray(plugin?.capabilities) ? plugin.capabilities : [];
  const tested = options.capabilities ?? declared;
  for (const c of tested) {
    if (!isCapability(c)) throw new TypeError(`conformance options: unknown capability "${String(c)}"`);
    if (!declared.includes(c)) {
      throw new TypeError(`conformance options: capability "${c}" is not declared by plugin "${type}" (it declares ${declared.join(', ')})`);
    }
  }
  if (options.secretField && options.secretField.value.length < 8) {
    throw new TypeError('conformance options: secretField.value must be at least 8 characters, so it cannot occur by chance');
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const audio = options.audio ?? wavFile(pcmTone(400, 16000), 16000);
  const audioMimeType = options.audioMimeType ?? 'audio/wav';
  const who = `plugin "${type}"`;
  const has = (c: Capability) => tested.includes(c);
  /** A check of capability `c`: skipped when the plugin does not declare it. */
  const needs = (c: Capability) => ({ capability: c, skip: has(c) ? undefined : `the plugin does not declare ${c}` });
  const checks: ConformanceCheck[] = [];

  /** Clean server state before each check: no recorded requests, no queued faults, the standard reply. */
  const fresh = (): void => {
    env.server.reset();
    env.server.setReply({ text: CONFORMANCE_REPLY, transcription: CONFORMANCE_TRANSCRIPT });
  };
  const add = (id: string, name: string, body: () => Promise<void>, extra: { capability?: Capability; skip?: string } = {}): void => {
    checks.push({
      id,
      name,
      ...extra,
      run: async () => {
        if (extra.skip) return;
        fresh();
        await within(body(), timeoutMs, `check "${name}"`);
      },
    });
  };
  /** Calls the public operation of a capability with small valid arguments. */
  const invoke = (provider: BackendProvider, capability: OperationCapability, runtime: RuntimeExecutionConfig = {}): Promise<unknown> => {
    switch (capability) {
      case 'completion':
        return provider.getCompletion(PROMPT, runtime);
      case 'streaming':
        return (async () => drain(provider.streamCompletion(PROMPT, runtime)))();
      case 'embeddings':
        return provider.getEmbeddings(['conformance']);
      case 'speech':
        return provider.getSpeech('Conformance.');
      case 'transcription':
        return provider.getTranscription(audio, { mimeType: audioMimeType });
      case 'models':
        return provider.listModels();
      case 'tokens':
        return provider.countTokens('Conformance.');
    }
  };
  const profileError = (error: unknown): never =>
    fail(
      ConfigurationError.isInstance(error)
        ? `the profile given in the conformance options is not valid for ${who}: ${error.message}`
        : `${who} could not build a provider from the profile given in the conformance options: ${describeError(error)}`,
      error,
    );
  const provider = (overrides?: Record<string, unknown>) => env.provider(overrides).catch(profileError);
  /** The provider that does not retry: each fault is seen by exactly one attempt. */
  const noRetries = () => provider({ max_retries: 0 });

  // ---- the plugin object and its package ---------------------------------------

  add('plugin', `plugin: a valid plugin object for plugin API ${PLUGIN_API_VERSION}`, async () => {
    const problems = pluginProblems(plugin);
    check(problems.length === 0, () => `${who} is not a valid plugin object: ${problems.join('; ')}`);
    check(isAegisPlugin(plugin), `${who} was not made by definePlugin() of @aegis/core`);
    check(
      plugin.apiVersion === PLUGIN_API_VERSION,
      `${who} declares apiVersion ${plugin.apiVersion}, but @aegis/core implements plugin API ${PLUGIN_API_VERSION}: set apiVersion: PLUGIN_API_VERSION`,
    );
  });

  add(
    'manifest',
    'manifest: package.json announces the plugin (keyword, aegis.apiVersion, aegis.providers)',
    async () => {
      const path = options.packageJson!;
      let pkg: Record<string, unknown>;
      try {
        pkg = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
      } catch (error) {
        return fail(`cannot read the package.json at ${String(path)}: ${describeError(error)}`, error);
      }
      const name = typeof pkg.name === 'string' ? `package.json of ${pkg.name}` : 'package.json';
      const keywords = Array.isArray(pkg.keywords) ? pkg.keywords : [];
      check(keywords.includes(PLUGIN_KEYWORD), `${name}: "keywords" must include "${PLUGIN_KEYWORD}", so discovery finds the plugin`);
      const manifest = pkg.aegis;
      check(isObject(manifest), `${name} has no "aegis": { "apiVersion": ${PLUGIN_API_VERSION}, "providers": ["${type}"] } block`);
      check(
        manifest.apiVersion === plugin.apiVersion,
        `${name}: "aegis.apiVersion" is ${show(manifest.apiVersion)}, but the plugin object declares apiVersion ${plugin.apiVersion}`,
      );
      const providers = manifest.providers;
      check(
        Array.isArray(providers) && providers.length > 0 && providers.every((p) => typeof p === 'string'),
        `${name}: "aegis.providers" must be a non-empty list of provider types, got ${show(providers)}`,
      );
      check(
        providers.includes(plugin.type),
        `${name}: "aegis.providers" is ${show(providers)}, but the plugin object serves type "${type}": list it, or AEGIS will not load this plugin for "type: ${type}"`,
      );
    },
    { skip: options.packageJson === undefined ? 'no packageJson option was given' : undefined },
  );

  // ---- configuration -----------------------------------------------------------------

  add('config.base', 'config: the schema extends BaseBackendConfig and accepts the given profile', async () => {
    const shape = (plugin.configSchema as { shape?: Record<string, unknown> }).shape ?? {};
    const missing = Object.keys(BaseBackendConfig.shape).filter((k) => !(k in shape));
    check(missing.length === 0, () => `${who}: configSchema does not extend BaseBackendConfig (missing: ${missing.join(', ')})`);
    const aegis = env.aegis(BASE_SAMPLE);
    const config = await aegis.getBackendConfig(env.profileName).catch((error: unknown) => {
      if (ConfigurationError.isInstance(error)) {
        return fail(
          `${who}: the given profile with the common fields ${show(BASE_SAMPLE, 300)} does not validate; ` +
            `a schema that extends BaseBackendConfig must accept them: ${error.message}`,
          error,
        );
      }
      return profileError(error);
    });
    check(config.profile_name === env.profileName, `${who}: the validated config has profile_name ${show(config.profile_name)}, expected "${env.profileName}"`);
    check(config.type === type, `${who}: the validated config has type ${show(config.type)}, expected "${type}"`);
    for (const [field, value] of Object.entries(BASE_SAMPLE)) {
      check(
        JSON.stringify(config[field]) === JSON.stringify(value),
        `${who}: the common field "${field}" was given ${show(value)} but the validated config holds ${show(config[field])}; keep BaseBackendConfig's meaning of it`,
      );
    }
    const defaults = await env.aegis().getBackendConfig(env.profileName).catch(profileError);
    for (const field of ['timeout', 'idle_timeout'] as const) {
      const v = defaults[field];
      check(typeof v === 'number' && v > 0, `${who}: "${field}" has no positive default (got ${show(v)}); keep BaseBackendConfig's default`);
    }
    check(
      Number.isInteger(defaults.max_retries) && defaults.max_retries >= 0,
      `${who}: "max_retries" has no default count (got ${show(defaults.max_retries)}); keep BaseBackendConfig's default`,
    );
  });

  const bad = options.badField ?? { field: 'timeout', value: 'soon' };
  add('config.reject', `config: rejects a bad profile (${bad.field}: ${show(bad.value)}) with a clear error`, async () => {
    const outcome = await settle(() => env.provider({ [bad.field]: bad.value }));
    if (outcome.ok) {
      return fail(`${who} accepted a profile with ${bad.field}: ${show(bad.value)}; its configSchema must reject that value`);
    }
    const error = outcome.error;
    check(
      ConfigurationError.isInstance(error),
      () => `a profile with ${bad.field}: ${show(bad.value)} failed with ${describeError(error)} instead of a ConfigurationError from the schema`,
    );
    const issue = error.issues.find(
      (i) => i.field === bad.field || i.field?.startsWith(`${bad.field}.`) || i.field?.startsWith(`${bad.field}[`),
    );
    check(
      issue,
      () => `the ConfigurationError for ${bad.field}: ${show(bad.value)} does not name the field "${bad.field}": ${error.issues.map(formatIssue).join(' | ')}`,
    );
    check(issue.profile === env.profileName && typeof issue.line === 'number', `the issue for "${bad.field}" does not say which profile and line: ${formatIssue(issue)}`);
    check(issue.message.trim().length > 0, `the issue for "${bad.field}" has an empty message`);
    const [summary] = await env.aegis({ [bad.field]: bad.value }).profiles();
    check(summary && !summary.usable, `aegis.profiles() reports the profile with ${bad.field}: ${show(bad.value)} as usable`);
  });

  const secretField = options.secretField;
  add(
    'config.secrets',
    `config: the secret field${secretField ? ` "${secretField.field}"` : ''} is marked secret and redacted`,
    async () => {
      const { field, value } = secretField!;
      const shape = (plugin.configSchema as { shape?: Record<string, unknown> }).shape ?? {};
      check(field in shape, `${who}: configSchema has no field "${field}" (the secretField of the conformance options)`);
      check(
        secretKeysOf(plugin.configSchema).has(field),
        `${who}: the field "${field}" holds a secret but is not marked secret; declare it as secret(z.string()) so AEGIS redacts it`,
      );
      const aegis = env.aegis({ [field]: value });
      const summaries = await aegis.profiles();
      const summary = summaries.find((s) => s.name === env.profileName);
      check(summary?.usable, () => `the profile with ${field} set is not usable: ${summary?.issues.map(formatIssue).join(' | ')}`);
      check(!JSON.stringify(summaries).includes(value), `aegis.profiles() shows the value of the secret field "${field}"`);
      check(!aegis.redact(`key=${value}`).includes(value), `AEGIS does not know the value of "${field}" as a secret, so errors and logs would show it`);
      const operations = tested.filter(isOperationCapability);
      const capability = operations.find((c) => c !== 'streaming') ?? operations[0];
      if (capability) {
        // A failed call must not show the secret either (in a URL, a header echoed in the message, ...).
        const p = await provider({ [field]: value, max_retries: 0 });
        env.server.failNext({ kind: 'status', status: 500 });
        const outcome = await settle(() => invoke(p, capability));
        const error = outcome.ok ? undefined : (outcome.error as Record<string, unknown>);
        const shown = error ? [error.message, error.stack, error.url, error.bodyExcerpt, error.partialText].join('\n') : '';
        check(!shown.includes(value), `the error of a failed ${OPERATION_OF[capability]} shows the value of the secret field "${field}"`);
      }
    },
    { skip: secretField ? undefined : 'no secretField option was given (the plugin has no secret)' },
  );

  // ---- completion and streaming --------------------------------------------------------

  add(
    'completion',
    'completion: returns the text and a finish reason',
    async () => {
      const p = await provider();
      const outcome = await settle(() => p.getCompletion(PROMPT));
      if (!outcome.ok) return fail(`getCompletion failed against the server: ${describeError(outcome.error)}`, outcome.error);
      const result = outcome.value;
      check(isObject(result), `getCompletion resolved to ${show(result)} instead of a CompletionResult`);
      check(typeof result.text === 'string', `getCompletion returned text ${show(result.text)}, not a string`);
      check(
        result.text.trim() === CONFORMANCE_REPLY,
        `getCompletion returned the text ${show(result.text)}, but the server answered ${show(CONFORMANCE_REPLY)}`,
      );
      check(
        FINISH_REASONS.includes(result.finishReason),
        `getCompletion returned finishReason ${show(result.finishReason)}; expected one of ${FINISH_REASONS.join(', ')} (see normalizeFinishReason)`,
      );
      check(result.finishReason === 'stop', `the server stopped normally, but getCompletion reported finishReason ${show(result.finishReason)}`);
    },
    needs('completion'),
  );

  add(
    'streaming.deltas',
    'streaming: yields deltas whose concatenation is the final text',
    async () => {
      env.server.setReply({ chunks: STREAM_CHUNKS });
      const p = await provider();
      const outcome = await settle(() => drain(p.streamCompletion(PROMPT)));
      if (!outcome.ok) return fail(`streamCompletion failed against the server: ${describeError(outcome.error)}`, outcome.error);
      const { deltas, result } = outcome.value;
      const expected = STREAM_CHUNKS.join('');
      check(deltas.length > 0, `streamCompletion yielded no delta; the server sent ${STREAM_CHUNKS.length}: yield each text delta as it arrives`);
      check(
        deltas.every((d) => typeof d === 'string'),
        () => `streamCompletion yielded something other than strings: ${show(deltas.find((d) => typeof d !== 'string'))}`,
      );
      check(
        deltas.length > 1,
        `streamCompletion yielded the whole answer as one delta; the server sent ${STREAM_CHUNKS.length}: yield each as it arrives`,
      );
      const joined = deltas.join('');
      check(result.text === joined, `the final text ${show(result.text)} is not the concatenation of the deltas ${show(joined)}`);
      check(
        joined.trim() === expected,
        `the deltas ${show(deltas)} add up to ${show(joined)}, but the server streamed ${show(STREAM_CHUNKS)} (${show(expected)})`,
      );
      check(
        FINISH_REASONS.includes(result.finishReason),
        `the stream's result has finishReason ${show(result.finishReason)}; expected one of ${FINISH_REASONS.join(', ')}`,
      );
    },
    needs('streaming'),
  );

  add(
    'streaming.abort',
    'streaming: an abort signal stops the stream mid-way with an "aborted" ProviderError',
    async () => {
      env.server.setReply({ chunks: Array.from({ length: 400 }, (_, i) => ` word${i}`) });
      env.server.failNext({ kind: 'drip', intervalMs: 1 });
      const p = await provider();
      const controller = new AbortController();
      const iterator = p.streamCompletion(PROMPT, { signal: controller.signal })[Symbol.asyncIterator]();
      const first = await settle(() => within(iterator.next(), timeoutMs / 2, 'the first delta of a slowly sent stream'));
      if (!first.ok) return fail(`the slowly sent stream failed before its first delta: ${describeError(first.error)}`, first.error);
      check(!first.value.done, 'the stream ended before its first delta, although the server was sending 400');
      controller.abort();
      let afterAbort = 0;
      const rest = (async () => {
        for (;;) {
          const step = await iterator.next();
          if (step.done) return;
          afterAbort++;
        }
      })();
      const outcome = await settle(() => within(rest, ABORT_GRACE_MS, 'the stream after abort'));
      if (outcome.ok) {
        return fail(`the stream ended normally after its signal was aborted (${afterAbort} more deltas), as if the answer were complete; it must throw`);
      }
      const error = outcome.error;
      if (error instanceof ConformanceError) {
        return fail(
          `the stream went on for more than ${ABORT_GRACE_MS} ms after its signal was aborted (${afterAbort} more deltas): ` +
            'pass settings.signal to every request (this.requestOptions(settings))',
        );
      }
      check(
        ProviderError.isInstance(error) && error.reason === 'aborted',
        () => `after abort the stream failed with ${describeError(error)}${ProviderError.isInstance(error) ? ` (reason "${error.reason}")` : ''} instead of a ProviderError with reason "aborted"`,
      );
    },
    needs('streaming'),
  );

  const settingsCapability: Capability | undefined = has('completion') ? 'completion' : has('streaming') ? 'streaming' : undefined;
  const unsupported = options.unsupportedSettings ?? [];
  for (const setting of unsupported) {
    if (!OVERRIDABLE.some((o) => o.field === setting)) {
      throw new TypeError(`conformance options: unsupportedSettings: unknown setting "${String(setting)}" (known: ${OVERRIDABLE.map((o) => o.field).join(', ')})`);
    }
  }
  const setting = OVERRIDABLE.find((o) => !unsupported.includes(o.field));
  const overrideSkip = !settingsCapability
    ? 'the plugin declares neither completion nor streaming'
    : !setting
      ? `the backend takes none of ${OVERRIDABLE.map((o) => o.field).join(', ')} (unsupportedSettings)`
      : undefined;
  add(
    'runtime.override',
    `runtime: per-call settings override the profile's defaults${settingsCapability && setting ? ` (${settingsCapability}, ${setting.field})` : ''}`,
    async () => {
      const c = settingsCapability!;
      const { field, runtime, profile: profileValue, call: callValue } = setting!;
      const p = await provider({ [field]: profileValue });
      const sent = (target: number) => env.server.requests.some((r) => numbersIn(r).some((n) => sameNumber(n, target)));
      const first = await settle(() => invoke(p, c));
      if (!first.ok) return fail(`${OPERATION_OF[c]} failed against the server: ${describeError(first.error)}`, first.error);
      check(env.server.requests.length > 0, `${OPERATION_OF[c]} made no request to the server`);
      check(
        sent(profileValue),
        `the profile sets ${field}: ${profileValue}, but no request of ${OPERATION_OF[c]} carried it: send settings.${runtime}` +
          ` (or, if the backend has no such field, list "${field}" in the conformance options' unsupportedSettings)`,
      );
      env.server.reset();
      const second = await settle(() => invoke(p, c, { [runtime]: callValue }));
      if (!second.ok) return fail(`${OPERATION_OF[c]} with { ${runtime}: ${callValue} } failed: ${describeError(second.error)}`, second.error);
      check(
        sent(callValue),
        `${OPERATION_OF[c]}(…, { ${runtime}: ${callValue} }) did not send ${callValue}: use settings.${runtime} (the call's value over the profile's), not config.${field}`,
      );
      check(!sent(profileValue), `${OPERATION_OF[c]}(…, { ${runtime}: ${callValue} }) still sent the profile's ${profileValue}`);
    },
    { capability: settingsCapability, skip: overrideSkip },
  );

  // ---- capabilities --------------------------------------------------------------

  const undeclared = OPERATION_CAPABILITIES.filter((c) => !declared.includes(c));
  add(
    'capabilities.undeclared',
    `capabilities: undeclared operations throw CapabilityNotSupportedError${undeclared.length ? ` (${undeclared.join(', ')})` : ''}`,
    async () => {
      const p = await provider();
      for (const c of undeclared) {
        const outcome = await settle(() => invoke(p, c));
        check(!outcome.ok, () => `${OPERATION_OF[c]} resolved to ${show(outcome.ok && outcome.value)}, but ${who} does not declare "${c}"`);
        const error = outcome.error;
        check(
          CapabilityNotSupportedError.isInstance(error),
          () => `${OPERATION_OF[c]} (undeclared "${c}") failed with ${describeError(error)} instead of CapabilityNotSupportedError`,
        );
      }
    },
    { skip: undeclared.length === 0 ? 'the plugin declares every capability' : undefined },
  );

  add('capabilities.implemented', 'capabilities: the provider implements every capability it declares', async () => {
    const p = await provider();
    const implemented = implementedCapabilities(p);
    const missing = declared.filter((c) => !implemented.includes(c));
    check(
      missing.length === 0,
      () =>
        `${who} declares ${missing.map((c) => `"${c}"`).join(', ')} but its provider does not override ` +
        `${missing.map((c) => DO_METHOD_OF[c] ?? `doCompletion or doStream (which carry "${c}")`).join(', ')}`,
    );
  });

  // ---- failures -------------------------------------------------------------------

  for (const c of OPERATION_CAPABILITIES) {
    add(
      `errors.http.${c}`,
      `errors (${c}): HTTP 429, 500 and 503 are retryable ProviderErrors, HTTP 400, 401 and 404 are not`,
      async () => {
        const p = await noRetries();
        for (const [status, retryable] of HTTP_FAILURES) {
          env.server.reset();
          env.server.failNext({ kind: 'status', status });
          const outcome = await settle(() => invoke(p, c));
          check(env.server.requests.length > 0, `${OPERATION_OF[c]} made no request to the server`);
          check(
            !outcome.ok,
            () => `${OPERATION_OF[c]} resolved to ${show(outcome.ok && outcome.value)} although the server answered HTTP ${status}: let HTTP failures propagate as ProviderError`,
          );
          const error = outcome.error;
          check(
            ProviderError.isInstance(error),
            () => `HTTP ${status} on ${OPERATION_OF[c]} became ${describeError(error)} instead of a ProviderError`,
          );
          check(
            error.status === status,
            `HTTP ${status} on ${OPERATION_OF[c]} became a ProviderError with status ${show(error.status)}: ${error.message}`,
          );
          check(
            error.retryable === retryable,
            `HTTP ${status} on ${OPERATION_OF[c]} became a ProviderError with retryable: ${error.retryable}, expected ${retryable}: ${error.message}`,
          );
        }
      },
      { capability: c, skip: has(c) ? undefined : `the plugin does not declare ${c}` },
    );
  }

  add(
    'streaming.truncated',
    'errors (streaming): a stream cut short (clean end or dropped connection) is a ProviderError',
    async () => {
      env.server.setReply({ chunks: STREAM_CHUNKS });
      const p = await noRetries();
      for (const [fault, what] of [
        [{ kind: 'truncate', afterChunks: 1 }, 'a stream that ended cleanly after its first frame, without its end marker,'],
        [{ kind: 'reset-mid-stream', afterChunks: 1 }, 'a stream whose connection dropped after its first frame'],
      ] as const) {
        env.server.reset();
        env.server.failNext(fault);
        const outcome = await settle(() => invoke(p, 'streaming'));
        check(env.server.requests.length > 0, 'streamCompletion made no request to the server');
        if (outcome.ok) {
          const { result } = outcome.value as Streamed;
          return fail(
            `${what} ended normally with the text ${show(result.text)}: ` +
              'throw when the stream ends without its end marker (this.truncatedStream(url, marker))',
          );
        }
        check(
          ProviderError.isInstance(outcome.error),
          () => `${what} failed with ${describeError(outcome.error)} instead of a ProviderError`,
        );
      }
    },
    needs('streaming'),
  );

  add(
    'streaming.error-event',
    "errors (streaming): the backend's error event inside a stream is a ProviderError",
    async () => {
      env.server.setReply({ chunks: STREAM_CHUNKS });
      env.server.failNext({ kind: 'stream-error', message: STREAM_ERROR_MESSAGE });
      const p = await noRetries();
      const outcome = await settle(() => invoke(p, 'streaming'));
      check(env.server.requests.length > 0, 'streamCompletion made no request to the server');
      if (outcome.ok) {
        const { result } = outcome.value as Streamed;
        return fail(`a stream in which the backend sent its error event ended normally with the text ${show(result.text)}: turn the event into a ProviderError`);
      }
      const error = outcome.error;
      check(
        ProviderError.isInstance(error),
        () => `a stream with an error event failed with ${describeError(error)} instead of a ProviderError`,
      );
      check(
        error.reason === 'stream_error',
        `a stream in which the backend sent its error event failed with a ProviderError with reason "${error.reason}" (${error.message}) ` +
          'instead of reason "stream_error": read the error event and throw it as new ProviderError(message, { reason: \'stream_error\' })',
      );
      check(
        error.message.includes(STREAM_ERROR_MESSAGE),
        `the ProviderError for the backend's error event does not carry the backend's message ${show(STREAM_ERROR_MESSAGE)}: ${show(error.message, 300)}`,
      );
    },
    needs('streaming'),
  );

  /** Fails unless `outcome` is a ProviderError of `reason`; `what` says which answer was sent. */
  const expectReason = (outcome: Settled<unknown>, operation: string, what: string, reason: string, hint: string): void => {
    if (outcome.ok) {
      const value = outcome.value as Partial<Streamed> & { text?: unknown };
      return fail(`${operation} resolved to ${show(value?.result ?? value)} although the server answered ${what}: ${hint}`);
    }
    const error = outcome.error;
    check(
      ProviderError.isInstance(error),
      () => `${what} on ${operation} failed with ${describeError(error)} instead of a ProviderError with reason "${reason}": ${hint}`,
    );
    check(
      error.reason === reason,
      `${what} on ${operation} became a ProviderError with reason "${error.reason}", expected "${reason}": ${error.message}`,
    );
  };
  const BAD_JSON_HINT = "never JSON.parse the backend's answer yourself: use context.http's JSON helpers, and parseStreamJson(data, url) for stream events";

  add(
    'errors.malformed.completion',
    'errors (completion): an answer that is not JSON, or JSON of another shape, is a "bad_response" ProviderError',
    async () => {
      const p = await noRetries();
      for (const [fault, what] of [
        [{ kind: 'malformed-json' }, 'a body cut in the middle of its JSON'],
        [{ kind: 'wrong-shape' }, `valid JSON of another shape (${WRONG_SHAPE_SAMPLE})`],
      ] as const) {
        env.server.reset();
        env.server.failNext(fault);
        const outcome = await settle(() => p.getCompletion(PROMPT));
        check(env.server.requests.length > 0, 'getCompletion made no request to the server');
        expectReason(
          outcome,
          'getCompletion',
          what,
          'bad_response',
          `check the fields you read and throw new ProviderError(message, { reason: 'bad_response' }) when they are missing; ${BAD_JSON_HINT}`,
        );
      }
    },
    needs('completion'),
  );

  add(
    'errors.malformed.streaming',
    'errors (streaming): a stream event that is not JSON is a "bad_response" ProviderError, one of another shape never a raw TypeError',
    async () => {
      env.server.setReply({ chunks: STREAM_CHUNKS });
      const p = await noRetries();
      env.server.failNext({ kind: 'malformed-json' });
      const outcome = await settle(() => invoke(p, 'streaming'));
      check(env.server.requests.length > 0, 'streamCompletion made no request to the server');
      expectReason(outcome, 'streamCompletion', 'a stream whose second event is cut in the middle of its JSON', 'bad_response', BAD_JSON_HINT);
      // A stream of one event the plugin cannot read: it may end (empty) or fail, but as a ProviderError.
      env.server.reset();
      env.server.failNext({ kind: 'wrong-shape' });
      const shape = await settle(() => invoke(p, 'streaming'));
      check(
        shape.ok || ProviderError.isInstance(shape.error),
        () =>
          `a stream whose event is valid JSON of another shape (${WRONG_SHAPE_SAMPLE}) failed with ${describeError(shape.ok ? undefined : shape.error)} ` +
          "instead of a ProviderError: check the fields of each event before reading them (throw new ProviderError(message, { reason: 'bad_response' }))",
      );
    },
    needs('streaming'),
  );

  /** The profile fields that make every read limit small, so an oversized answer passes them. */
  const SMALL_LIMITS = { max_response_bytes: SMALL_LIMIT_BYTES, max_stream_bytes: SMALL_LIMIT_BYTES, max_line_bytes: SMALL_LIMIT_BYTES };
  /** A provider whose profile sets small read limits; fails when the plugin's schema drops those fields. */
  const limitedProvider = async (): Promise<BackendProvider> => {
    const overrides = { ...SMALL_LIMITS, max_retries: 0 };
    const config = await env.aegis(overrides).getBackendConfig(env.profileName).catch(profileError);
    for (const [field, value] of Object.entries(SMALL_LIMITS)) {
      check(
        config[field] === value,
        `${who}: the profile sets ${field}: ${value}, but the validated config holds ${show(config[field])}; extend the BaseBackendConfig of @aegis/core and keep its fields`,
      );
    }
    return provider(overrides);
  };
  const LIMITS_HINT = "pass this.requestOptions(settings, headers) to every request: it carries the profile's max_response_bytes, max_stream_bytes, max_line_bytes and idle_timeout";

  add(
    'limits.completion',
    `limits (completion): an answer larger than the profile's max_response_bytes is a "response_too_large" ProviderError`,
    async () => {
      const p = await limitedProvider();
      env.server.failNext({ kind: 'oversized', bytes: OVERSIZED_BYTES });
      const outcome = await settle(() => p.getCompletion(PROMPT));
      check(env.server.requests.length > 0, 'getCompletion made no request to the server');
      expectReason(outcome, 'getCompletion', `a body of ${OVERSIZED_BYTES} bytes with max_response_bytes: ${SMALL_LIMIT_BYTES}`, 'response_too_large', LIMITS_HINT);
    },
    needs('completion'),
  );

  add(
    'limits.streaming',
    `limits (streaming): a stream longer than the profile's max_stream_bytes is a "response_too_large" ProviderError`,
    async () => {
      const p = await limitedProvider();
      env.server.failNext({ kind: 'oversized', bytes: OVERSIZED_BYTES });
      const outcome = await settle(() => invoke(p, 'streaming'));
      check(env.server.requests.length > 0, 'streamCompletion made no request to the server');
      expectReason(
        outcome,
        'streamCompletion',
        `a stream of ${OVERSIZED_BYTES} bytes with max_stream_bytes and max_line_bytes: ${SMALL_LIMIT_BYTES}`,
        'response_too_large',
        LIMITS_HINT,
      );
    },
    needs('streaming'),
  );

  /** A provider that gives up on a silent backend after IDLE_TIMEOUT_S, long before its deadline, and does not retry. */
  const impatientProvider = () => provider({ idle_timeout: IDLE_TIMEOUT_S, timeout: IDLE_DEADLINE_S, max_retries: 0 });
  const IDLE_HINT =
    "pass this.requestOptions(settings, headers) to every request: it carries the call's idle timeout (the profile's idle_timeout), " +
    'which ends a call to a backend that went silent long before its deadline';
  for (const [capability, operation, fault, what] of [
    ['completion', 'getCompletion', { kind: 'hang' }, 'nothing at all'],
    // Headers at once, then silence: what a stream's reader must watch too, not only the wait for an answer.
    ['streaming', 'streamCompletion', { kind: 'drip', intervalMs: 10 * IDLE_DEADLINE_S * 1000 }, 'the headers of a stream, then nothing'],
  ] as const) {
    add(
      `timeouts.idle.${capability}`,
      `timeouts (${capability}): a backend that goes silent ends the call after the profile's idle_timeout, an "idle_timeout" ProviderError`,
      async () => {
        const p = await impatientProvider();
        // Only the call's own request goes silent: not a request the plugin sends on its own, such as the abort of
        // the previous check's generation (KoboldCpp), which may arrive meanwhile.
        env.server.failNext(fault, 1, carriesPrompt);
        const outcome = await settle(() => invoke(p, capability));
        check(env.server.requests.some(carriesPrompt), `${operation} made no request carrying the prompt to the server`);
        expectReason(outcome, operation, `${what} (idle_timeout: ${IDLE_TIMEOUT_S} s, timeout: ${IDLE_DEADLINE_S} s)`, 'idle_timeout', IDLE_HINT);
      },
      needs(capability),
    );
  }

  // ---- embeddings, speech, transcription ----------------------------------------------

  add(
    'embeddings',
    'embeddings: one vector per input, in the order of the inputs, all of one dimension',
    async () => {
      const p = await provider();
      const inputs = ['alpha', 'beta gamma', 'delta epsilon zeta'];
      const outcome = await settle(() => p.getEmbeddings(inputs));
      if (!outcome.ok) return fail(`getEmbeddings of ${inputs.length} inputs failed: ${describeError(outcome.error)}`, outcome.error);
      const vectors = outcome.value?.embeddings as unknown;
      check(Array.isArray(vectors), `getEmbeddings returned embeddings ${show(vectors)}, not an array`);
      check(vectors.length === inputs.length, `getEmbeddings returned ${vectors.length} vectors for ${inputs.length} inputs`);
      vectors.forEach((v: unknown, i) => {
        check(Array.isArray(v) && v.length > 0, `vector ${i} is ${show(v)}, not a non-empty array of numbers`);
        check(
          v.every((x) => typeof x === 'number' && Number.isFinite(x)),
          () => `vector ${i} holds ${show(v.find((x) => typeof x !== 'number' || !Number.isFinite(x)))}, not only finite numbers`,
        );
      });
      const dims = vectors.map((v: number[]) => v.length);
      check(new Set(dims).size === 1, `the vectors have different dimensions: ${dims.join(', ')}`);
      const again = await settle(() => p.getEmbeddings(['eta']));
      if (!again.ok) return fail(`getEmbeddings of one input failed: ${describeError(again.error)}`, again.error);
      const one = again.value.embeddings;
      check(one.length === 1, `getEmbeddings returned ${one.length} vectors for 1 input`);
      check(one[0]?.length === dims[0], `the dimension changed between calls: ${dims[0]}, then ${one[0]?.length}`);
      // The order: each vector of the batch is the one the server gives its input alone.
      const alone: number[][] = [];
      for (const input of inputs) {
        const single = await settle(() => p.getEmbeddings([input]));
        if (!single.ok) return fail(`getEmbeddings of ${show(input)} alone failed: ${describeError(single.error)}`, single.error);
        const [vector] = single.value.embeddings;
        check(Array.isArray(vector) && vector.length === dims[0], `getEmbeddings of ${show(input)} alone returned ${show(single.value.embeddings)}`);
        alone.push(vector);
      }
      check(
        alone.every((v, i) => alone.every((w, j) => i === j || !sameVector(v, w))),
        `the server answers the same vector for different texts (${inputs.map((t) => show(t)).join(', ')}), so the kit cannot check the order of the vectors: ` +
          "make the loopback server's embeddings depend on the text (embedText(text, dimension) of @aegis/testkit)",
      );
      inputs.forEach((input, i) => {
        if (sameVector(vectors[i], alone[i]!)) return;
        const j = alone.findIndex((v) => sameVector(vectors[i], v));
        fail(
          `vector ${i} of getEmbeddings(${show(inputs)}) is not the vector of ${show(input)}` +
            (j >= 0 ? ` but that of input ${j} (${show(inputs[j])})` : '') +
            ': return one vector per input, in the order of the inputs',
        );
      });
    },
    needs('embeddings'),
  );

  add(
    'speech',
    'speech: returns non-empty audio with an audio MIME type',
    async () => {
      const p = await provider();
      const outcome = await settle(() => p.getSpeech('Hello from the conformance kit.'));
      if (!outcome.ok) return fail(`getSpeech failed: ${describeError(outcome.error)}`, outcome.error);
      const result = outcome.value as unknown;
      check(isObject(result), `getSpeech resolved to ${show(result)} instead of a SpeechResult`);
      check(result.audio instanceof Uint8Array, `getSpeech returned audio ${show(result.audio)}, not a Uint8Array`);
      check(result.audio.length > 0, 'getSpeech returned empty audio');
      check(
        typeof result.mimeType === 'string' && /^audio\/[\w.+-]+/i.test(result.mimeType),
        `getSpeech returned the MIME type ${show(result.mimeType)}; expected audio/<format> (audio/mpeg, audio/wav, ...)`,
      );
    },
    needs('speech'),
  );

  add(
    'transcription',
    'transcription: returns the text',
    async () => {
      const p = await provider();
      const outcome = await settle(() => p.getTranscription(audio, { mimeType: audioMimeType }));
      if (!outcome.ok) return fail(`getTranscription failed: ${describeError(outcome.error)}`, outcome.error);
      const result = outcome.value as unknown;
      check(isObject(result), `getTranscription resolved to ${show(result)} instead of a TranscriptionResult`);
      check(typeof result.text === 'string', `getTranscription returned text ${show(result.text)}, not a string`);
      check(
        result.text.trim() === CONFORMANCE_TRANSCRIPT,
        `getTranscription returned ${show(result.text)}, but the server transcribed ${show(CONFORMANCE_TRANSCRIPT)}`,
      );
    },
    needs('transcription'),
  );

  // ---- models and token counts ---------------------------------------------------------

  add(
    'models',
    'models: lists the backend\'s models, each with an id (and a positive context length where reported)',
    async () => {
      const p = await provider();
      const outcome = await settle(() => p.listModels());
      if (!outcome.ok) return fail(`listModels failed: ${describeError(outcome.error)}`, outcome.error);
      const models = outcome.value as unknown;
      check(env.server.requests.length > 0, 'listModels made no request to the server: list what the backend reports, never a built-in list');
      check(Array.isArray(models) && models.length > 0, `listModels returned ${show(models)}, not a non-empty array of ModelInfo`);
      models.forEach((m: unknown, i) => {
        check(isObject(m) && typeof m.id === 'string' && m.id !== '', `model ${i} is ${show(m)}, not a ModelInfo with an id`);
        check(
          m.contextLength === undefined || (Number.isInteger(m.contextLength) && (m.contextLength as number) > 0),
          `model "${m.id}" has contextLength ${show(m.contextLength)}: leave it out when the backend does not report one`,
        );
        check(
          m.capabilities === undefined || (Array.isArray(m.capabilities) && m.capabilities.every((c) => typeof c === 'string')),
          `model "${m.id}" has capabilities ${show(m.capabilities)}, not a list of strings`,
        );
      });
      const ids = models.map((m: { id: string }) => m.id);
      check(new Set(ids).size === ids.length, `listModels returned the same id twice: ${ids.join(', ')}`);
    },
    needs('models'),
  );

  add(
    'tokens',
    'tokens: counts a text and a conversation exactly, more text never fewer tokens',
    async () => {
      const p = await provider();
      const short = await settle(() => p.countTokens('alpha'));
      if (!short.ok) return fail(`countTokens of a text failed: ${describeError(short.error)}`, short.error);
      const long = await settle(() => p.countTokens('alpha beta gamma delta epsilon zeta eta theta iota kappa'));
      if (!long.ok) return fail(`countTokens of a longer text failed: ${describeError(long.error)}`, long.error);
      for (const [what, count] of [['a text', short.value], ['a longer text', long.value]] as const) {
        check(isObject(count) && Number.isInteger(count.tokens) && (count.tokens as number) >= 0, `countTokens of ${what} returned ${show(count)}, not a TokenCount`);
        check(count.exact === true, `countTokens of ${what} says exact: ${show(count.exact)}; declare tokens only where the backend counts exactly`);
      }
      check(long.value.tokens > short.value.tokens, `countTokens counted ${long.value.tokens} tokens for a longer text than one of ${short.value.tokens}`);
      const chat = await settle(() => p.countTokens(PROMPT));
      if (!chat.ok) return fail(`countTokens of a conversation failed: ${describeError(chat.error)}`, chat.error);
      check(Number.isInteger(chat.value.tokens) && chat.value.tokens > 0, `countTokens of a conversation returned ${show(chat.value)}`);
    },
    needs('tokens'),
  );

  // ---- tools and reasoning --------------------------------------------------------------

  featureChecks({ env, who, has, declares: (c) => declared.includes(c), provider, add, unsupportedToolChoices: options.unsupportedToolChoices ?? [] });
  // ---- structured output and images ---------------------------------------------------

  /** A schema whose property names occur nowhere else, so the kit can find it on the wire in any form. */
  const schema = {
    type: 'object',
    properties: { aegis_conformance_city: { type: 'string' }, aegis_conformance_count: { type: 'integer' } },
    required: ['aegis_conformance_city', 'aegis_conformance_count'],
    additionalProperties: false,
  };
  const sentText = (): string => env.server.requests.map((r) => r.body.toString('utf8')).join('\n');

  add(
    'structured_output.schema',
    'structured output: the schema reaches the backend, the answer comes back parsed as `object`',
    async () => {
      env.server.setReply({ text: '{"aegis_conformance_city": "Oslo", "aegis_conformance_count": 2}' });
      const p = await provider();
      const outcome = await settle(() => p.getCompletion(PROMPT, { responseFormat: { type: 'json', schema, name: 'conformance' } }));
      if (!outcome.ok) return fail(`getCompletion with a JSON response format failed: ${describeError(outcome.error)}`, outcome.error);
      check(
        sentText().includes('aegis_conformance_city'),
        "the request did not carry the response schema: map responseFormat.schema onto the backend's structured-output field",
      );
      check(
        JSON.stringify(outcome.value.object) === JSON.stringify({ aegis_conformance_city: 'Oslo', aegis_conformance_count: 2 }),
        `the result's object is ${show(outcome.value.object)}, not the answer parsed`,
      );
    },
    needs('structured_output'),
  );

  add(
    'structured_output.mismatch',
    'structured output: an answer that misses the schema is a StructuredOutputError with the raw text',
    async () => {
      const raw = '{"aegis_conformance_city": 7}';
      env.server.setReply({ text: raw });
      const p = await noRetries();
      const outcome = await settle(() => p.getCompletion(PROMPT, { responseFormat: { type: 'json', schema } }));
      if (outcome.ok) return fail(`an answer missing the schema resolved with object ${show(outcome.value.object)}`);
      check(StructuredOutputError.isInstance(outcome.error), () => `an answer missing the schema failed with ${describeError(outcome.error)} instead of a StructuredOutputError`);
      check(outcome.error.text.trim() === raw, `the StructuredOutputError keeps the text ${show(outcome.error.text)}, not the answer ${show(raw)}`);
      check(outcome.error.issues.length >= 2, `the StructuredOutputError lists ${show(outcome.error.issues)}, not each issue`);
    },
    needs('structured_output'),
  );

  add(
    'vision',
    'vision: image bytes reach the backend intact',
    async () => {
      // A 1x1 PNG.
      const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
      const p = await provider();
      const messages: ChatMessage[] = [{ role: 'user', content: [{ type: 'text', text: 'Describe it.' }, { type: 'image', image: new Uint8Array(png), mimeType: 'image/png' }] }];
      const outcome = await settle(() => p.getCompletion(messages));
      if (!outcome.ok) return fail(`getCompletion with an image failed: ${describeError(outcome.error)}`, outcome.error);
      const sent = env.server.requests.map((r) => r.body);
      check(
        sent.some((body) => body.includes(png) || body.toString('utf8').includes(png.toString('base64'))),
        'no request carried the image bytes (raw or base64): map image parts onto the backend\'s image field',
      );
    },
    needs('vision'),
  );

  return checks;
}
