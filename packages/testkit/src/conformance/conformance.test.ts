import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import type { AegisPlugin } from '@aegis/core';
import examplePlugin from 'aegis-provider-example-com';
import {
  conformanceChecks,
  describeProviderConformance,
  runConformance,
  startConformanceEnv,
  startExampleComEmulator,
  type ConformanceOptions,
} from '../index.js';
import { acmeOptions, acmePlugin } from './__tests__/acme.js';
import * as broken from './__tests__/broken-plugins.js';
import * as brokenTools from './__tests__/broken-tools.js';

const KEY = 'ec-kit-key-6f2b8d1e';
const EXAMPLE_PACKAGE_JSON = new URL('../../../../plugins/example-com/package.json', import.meta.url);

const exampleOptions = (extra: Partial<ConformanceOptions> = {}): ConformanceOptions => ({
  server: () => startExampleComEmulator({ apiKey: KEY }),
  profile: (server) => ({ llm_url: `${server.url}/v1/completion`, api_key: KEY }),
  packageJson: EXAMPLE_PACKAGE_JSON,
  secretField: { field: 'api_key', value: KEY },
  ...extra,
});

// The kit through its jest face, on a third-party backend emulated with the public API: every check applies.
describeProviderConformance(acmePlugin, acmeOptions());

const dir = mkdtempSync(join(tmpdir(), 'aegis-conformance-kit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A copy of example-com's package.json with some fields changed. */
function packageJsonWith(change: (pkg: Record<string, any>) => void): string {
  const pkg = JSON.parse(readFileSync(EXAMPLE_PACKAGE_JSON, 'utf8')) as Record<string, any>;
  change(pkg);
  const path = join(dir, `package-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify(pkg));
  return path;
}

async function outcomeOf(plugin: AegisPlugin, options: ConformanceOptions, id: string) {
  const outcomes = await runConformance(plugin, options, { only: [id] });
  expect(outcomes.map((o) => o.id)).toEqual([id]);
  return outcomes[0]!;
}

describe('the conformance kit', () => {
  it('passes the example-com plugin on every check that applies, and skips the other capabilities', async () => {
    const outcomes = await runConformance(examplePlugin, exampleOptions());
    expect(outcomes.filter((o) => o.status === 'failed')).toEqual([]);
    const skipped = outcomes.filter((o) => o.status === 'skipped');
    expect(skipped.map((o) => o.id).sort()).toEqual(
      [
        'embeddings',
        'errors.http.embeddings',
        'errors.http.models',
        'errors.http.speech',
        'errors.http.tokens',
        'errors.http.transcription',
        'models',
        'speech',
        'tokens',
        'transcription',
        'tools.wire',
        'tools.call',
        'tools.stream',
        'tools.roundtrip',
        'tools.choice',
        'tools.invalid-arguments',
        'tools.stream-cut',
        'reasoning',
        'structured_output.mismatch',
        'structured_output.schema',
        'vision',
      ].sort(),
    );
    expect(skipped.every((o) => o.message?.includes('does not declare'))).toBe(true);
    // ... and passes the refusal of tools, which it does not declare.
    expect(outcomes.filter((o) => o.status === 'passed').length).toBe(22);
    expect(outcomes.find((o) => o.id === 'tools.refused')?.status).toBe('passed');
  });

  it('skips the manifest and secret checks when their options are absent', async () => {
    const { packageJson: _p, secretField: _s, ...rest } = exampleOptions();
    const outcomes = await runConformance(examplePlugin, rest, { only: ['manifest', 'config.secrets'] });
    expect(outcomes.map((o) => [o.id, o.status])).toEqual([
      ['manifest', 'skipped'],
      ['config.secrets', 'skipped'],
    ]);
  });

  it('refuses options that test a capability the plugin does not declare', async () => {
    const env = await startConformanceEnv(examplePlugin, exampleOptions());
    try {
      expect(() => conformanceChecks(examplePlugin, exampleOptions({ capabilities: ['embeddings'] }), env)).toThrow(
        'capability "embeddings" is not declared by plugin "example_com"',
      );
    } finally {
      await env.close();
    }
  });

  it('builds providers from a backends.yaml, escaping ${ in values', async () => {
    const env = await startConformanceEnv(examplePlugin, exampleOptions());
    try {
      const config = await env.aegis({ description: 'costs ${HOME} dollars' }).getBackendConfig(env.profileName);
      expect(config).toMatchObject({ profile_name: 'conformance', type: 'example_com', description: 'costs ${HOME} dollars', api_key: KEY });
      expect(env.aegis({ description: 'costs ${HOME} dollars' })).toBe(env.aegis({ description: 'costs ${HOME} dollars' }));
      // A field the profile sets to undefined is left out (a profile built from an unset variable), not written as "undefined".
      const bare = await env.aegis({ description: undefined }).getBackendConfig(env.profileName);
      expect(bare.description).toBeUndefined();
    } finally {
      await env.close();
    }
  });
});

describe('the options and plumbing of the kit', () => {
  it('refuses a secretField value short enough to occur by chance', async () => {
    const env = await startConformanceEnv(examplePlugin, exampleOptions());
    try {
      expect(() => conformanceChecks(examplePlugin, exampleOptions({ secretField: { field: 'api_key', value: 'seven77' } }), env)).toThrow(
        'secretField.value must be at least 8 characters',
      );
    } finally {
      await env.close();
    }
  });

  it('fails a check that does not finish within timeoutMs, saying so', async () => {
    // The call's own deadline (timeout: 5 s) ends it later: the check's limit must have stopped it first.
    const slow = exampleOptions({ timeoutMs: 500, profile: (server) => ({ llm_url: `${server.url}/v1/completion`, api_key: KEY, timeout: 5 }) });
    const outcome = await outcomeOf(broken.neverAnswers, slow, 'completion');
    expect(outcome).toMatchObject({ status: 'failed', message: expect.stringContaining('did not finish within 500 ms') });
  });

  it("runs nothing for a skipped check's run()", async () => {
    const env = await startConformanceEnv(examplePlugin, exampleOptions());
    try {
      const embeddings = conformanceChecks(examplePlugin, exampleOptions(), env).find((c) => c.id === 'embeddings')!;
      expect(embeddings.skip).toContain('does not declare embeddings');
      await expect(embeddings.run()).resolves.toBeUndefined();
      expect(env.server.requests).toHaveLength(0);
    } finally {
      await env.close();
    }
  });

  it('checks only the capabilities the options list, but holds the provider to every capability the plugin declares', async () => {
    const outcomes = await runConformance(acmePlugin, acmeOptions({ capabilities: ['completion', 'streaming'] }), { only: ['completion', 'embeddings', 'speech'] });
    expect(outcomes.map((o) => [o.id, o.status])).toEqual([
      ['completion', 'passed'],
      ['embeddings', 'skipped'],
      ['speech', 'skipped'],
    ]);
    const missing = await outcomeOf(broken.declaresMore, exampleOptions({ capabilities: ['completion', 'streaming'] }), 'capabilities.implemented');
    expect(missing).toMatchObject({ status: 'failed', message: expect.stringContaining('declares "embeddings" but its provider does not override doEmbeddings') });
  });

  it('passes a schema whose max_retries defaults to 0 (a valid count)', async () => {
    expect(await outcomeOf(broken.noRetriesByDefault, exampleOptions(), 'config.base')).toMatchObject({ status: 'passed' });
  });

  it("makes only the call's own request go silent in the idle checks, not a request the plugin sends before it", async () => {
    const outcomes = await runConformance(broken.modelLookupFirst, acmeOptions(), { only: ['timeouts.idle'] });
    expect(outcomes.map((o) => [o.id, o.status, o.message])).toEqual([
      ['timeouts.idle.completion', 'passed', undefined],
      ['timeouts.idle.streaming', 'passed', undefined],
    ]);
  });
});

interface Breakage {
  check: string;
  why: string;
  plugin: AegisPlugin;
  options?: () => ConformanceOptions;
  /** Text the failure message must contain. */
  message: string | RegExp;
  /** Other checks the same mistake fails, when it fails more than one; `slow` for mistakes whose full run waits out the time limits. */
  alsoFails?: string[] | 'slow';
}

const BREAKAGES: Breakage[] = [
  { check: 'plugin', why: 'written for another plugin API', plugin: broken.futureApi, message: 'declares apiVersion 99', alsoFails: 'slow' },
  {
    check: 'manifest',
    why: 'package.json lists other provider types',
    plugin: examplePlugin,
    options: () => exampleOptions({ packageJson: packageJsonWith((p) => (p.aegis.providers = ['example-com'])) }),
    message: '"aegis.providers" is ["example-com"], but the plugin object serves type "example_com"',
  },
  {
    check: 'manifest',
    why: 'package.json lacks the aegis-provider keyword',
    plugin: examplePlugin,
    options: () => exampleOptions({ packageJson: packageJsonWith((p) => (p.keywords = [])) }),
    message: '"keywords" must include "aegis-provider"',
  },
  {
    check: 'manifest',
    why: 'package.json declares another apiVersion',
    plugin: examplePlugin,
    options: () => exampleOptions({ packageJson: packageJsonWith((p) => (p.aegis.apiVersion = 2)) }),
    message: '"aegis.apiVersion" is 2, but the plugin object declares apiVersion 1',
  },
  {
    check: 'manifest',
    why: 'package.json has no keywords at all',
    plugin: examplePlugin,
    options: () => exampleOptions({ packageJson: packageJsonWith((p) => delete p.keywords) }),
    message: '"keywords" must include "aegis-provider"',
  },
  {
    check: 'manifest',
    why: 'package.json writes aegis.apiVersion as a string (discovery takes only a number)',
    plugin: examplePlugin,
    options: () => exampleOptions({ packageJson: packageJsonWith((p) => (p.aegis.apiVersion = '1')) }),
    message: '"aegis.apiVersion" is "1", but the plugin object declares apiVersion 1',
  },
  { check: 'config.base', why: 'idle_timeout has no positive default', plugin: broken.zeroIdleTimeout, message: '"idle_timeout" has no positive default (got 0)', alsoFails: 'slow' },
  { check: 'config.base', why: 'the schema redefines a common field', plugin: broken.redefinesSeed, message: 'must accept them' },
  { check: 'config.reject', why: 'the schema accepts anything as timeout', plugin: broken.acceptsAnyTimeout, message: 'accepted a profile with timeout: "soon"' },
  {
    check: 'config.secrets',
    why: 'the key field is not marked secret',
    plugin: broken.unmarkedSecret,
    options: () =>
      exampleOptions({
        profile: (server) => ({ llm_url: `${server.url}/v1/completion`, access_code: KEY }),
        secretField: { field: 'access_code', value: KEY },
      }),
    message: 'the field "access_code" holds a secret but is not marked secret',
  },
  {
    check: 'config.secrets',
    why: 'a failed call shows the key in its message',
    plugin: broken.keyInErrors,
    message: 'the error of a failed getCompletion shows the value of the secret field "api_key"',
  },
  { check: 'completion', why: 'every answer is reported as cut by the token limit', plugin: broken.alwaysLength, message: 'the server stopped normally, but getCompletion reported finishReason "length"' },
  { check: 'completion', why: 'the finish reason is empty', plugin: broken.emptyFinishReason, message: 'returned finishReason ""' },
  { check: 'streaming.deltas', why: 'the stream yields nothing', plugin: broken.silentStream, message: 'yielded no delta', alsoFails: 'slow' },
  { check: 'streaming.deltas', why: 'the stream is buffered into one delta', plugin: broken.bufferedStream, message: 'whole answer as one delta', alsoFails: 'slow' },
  { check: 'streaming.deltas', why: 'the stream loses its last delta', plugin: broken.droppingStream, message: 'but the server streamed' },
  { check: 'streaming.abort', why: 'requests ignore the signal', plugin: broken.deafToAbort, message: 'went on for more than 3000 ms after its signal was aborted' },
  {
    check: 'streaming.abort',
    why: 'an abort ends the stream normally',
    plugin: broken.swallowingStream,
    message: 'ended normally after its signal was aborted',
    alsoFails: ['errors.http.streaming', 'streaming.truncated', 'streaming.error-event', 'errors.malformed.streaming', 'limits.streaming', 'timeouts.idle.streaming'],
  },
  {
    check: 'streaming.abort',
    why: 'an abort becomes a connection error',
    plugin: broken.abortAsNetwork,
    message: 'after abort the stream failed with ProviderError: ',
  },
  { check: 'runtime.override', why: "the profile's temperature is sent too", plugin: broken.profileTemperatureToo, message: "still sent the profile's 0.25" },
  {
    check: 'capabilities.undeclared',
    why: 'an undeclared operation fails with a plain Error',
    plugin: broken.undeclaredPlainError,
    message: 'getEmbeddings (undeclared "embeddings") failed with Error: Example.com has no embeddings instead of CapabilityNotSupportedError',
  },
  { check: 'errors.http.completion', why: 'errors lose their HTTP status', plugin: broken.statuslessErrors, message: 'HTTP 500 on getCompletion became a ProviderError with status undefined' },
  { check: 'errors.http.completion', why: 'HTTP 404 is retryable', plugin: broken.retries404, message: 'HTTP 404 on getCompletion became a ProviderError with retryable: true, expected false' },
  { check: 'streaming.truncated', why: 'a cut stream is a raw TypeError', plugin: broken.typeErrorOnCut, message: 'failed with TypeError: ' },
  { check: 'streaming.error-event', why: "the backend's message is replaced", plugin: broken.genericStreamError, message: "does not carry the backend's message" },
  {
    check: 'errors.malformed.streaming',
    why: "a stream event's fields are read unchecked",
    plugin: broken.uncheckedStreamEvent,
    options: acmeOptions,
    message: /a stream whose event is valid JSON of another shape .* failed with TypeError: /,
  },
  { check: 'speech', why: 'the audio is labelled application/octet-stream', plugin: broken.octetSpeech, options: acmeOptions, message: 'getSpeech returned the MIME type "application/octet-stream"' },
  { check: 'transcription', why: "the text is the backend's JSON", plugin: broken.jsonTranscript, options: acmeOptions, message: 'but the server transcribed' },
  { check: 'models', why: 'every model is listed twice', plugin: broken.doubledModels, options: acmeOptions, message: 'listModels returned the same id twice' },
  { check: 'tokens', why: 'the counts are not exact', plugin: broken.inexactTokens, options: acmeOptions, message: 'countTokens of a text says exact: false' },
  {
    check: 'tools.wire',
    why: "a call without tools gets the last call's tools",
    plugin: brokenTools.toolsRemembered,
    options: brokenTools.openaiOptions,
    message: 'a call without tools still sent tools to the backend',
  },
  {
    check: 'tools.roundtrip',
    why: 'tool results are encoded as JSON twice',
    plugin: brokenTools.resultsDoubleEncoded,
    options: brokenTools.openaiOptions,
    message: 'tool result 0 reached the backend as',
  },
  {
    check: 'tools.choice',
    why: 'the tool choice is never sent',
    plugin: brokenTools.choiceOmitted,
    options: brokenTools.openaiOptions,
    message: 'toolChoice "none" reached the backend as undefined',
  },
  {
    check: 'tools.invalid-arguments',
    why: "the error names the call's id as the tool",
    plugin: brokenTools.swappedToolName,
    options: brokenTools.openaiOptions,
    message: 'the error names the tool',
  },
  {
    check: 'tools.refused',
    why: 'a provider without tools sends the call before refusing it',
    plugin: brokenTools.toolsTriedFirst,
    message: 'a call with tools reached the server although the provider does not declare tools',
  },
  {
    check: 'reasoning',
    why: 'the reasoning is left in the text too',
    plugin: brokenTools.reasoningInText,
    options: brokenTools.vllmOptions,
    message: 'expected only the answer',
  },
  { check: 'runtime.override', why: 'the call temperature is ignored', plugin: broken.profileTemperatureOnly, message: 'did not send 0.75' },
  {
    check: 'capabilities.undeclared',
    why: 'an undeclared operation answers',
    plugin: broken.answersUndeclared,
    message: 'getEmbeddings resolved to {"embeddings":[[1,0]]}, but plugin "example_com" does not declare "embeddings"',
  },
  {
    check: 'capabilities.implemented',
    why: 'a declared capability is not implemented',
    plugin: broken.declaresMore,
    message: 'declares "embeddings" but its provider does not override doEmbeddings',
    alsoFails: ['errors.http.embeddings', 'embeddings'],
  },
  { check: 'errors.http.completion', why: 'HTTP failures become answers', plugin: broken.hidesErrors, message: 'although the server answered HTTP 500',
    // Every failure is rewritten, so an unreadable or oversized answer is misreported too.
    alsoFails: ['errors.malformed.completion', 'limits.completion', 'timeouts.idle.completion'],
  },
  { check: 'errors.http.completion', why: 'HTTP 500 is not retryable', plugin: broken.neverRetryable, message: 'HTTP 500 on getCompletion became a ProviderError with retryable: false, expected true',
    // Every failure is rewritten, so an unreadable or oversized answer is misreported too.
    alsoFails: ['errors.malformed.completion', 'limits.completion', 'timeouts.idle.completion'],
  },
  { check: 'errors.http.completion', why: 'HTTP 400 is retryable', plugin: broken.alwaysRetryable, message: 'HTTP 400 on getCompletion became a ProviderError with retryable: true, expected false',
    // Every failure is rewritten, so an unreadable or oversized answer is misreported too.
    alsoFails: ['errors.malformed.completion', 'limits.completion', 'timeouts.idle.completion'],
  },
  { check: 'errors.http.completion', why: 'HTTP failures become plain Errors', plugin: broken.plainErrors, message: 'became Error: Example.com failed instead of a ProviderError',
    // Every failure is rewritten, so an unreadable or oversized answer is misreported too.
    alsoFails: ['errors.malformed.completion', 'limits.completion', 'timeouts.idle.completion'],
  },
  {
    check: 'streaming.truncated',
    why: 'a cut stream ends normally',
    plugin: broken.swallowingStream,
    message: 'a stream that ended cleanly after its first frame, without its end marker, ended normally',
    alsoFails: ['errors.http.streaming', 'streaming.abort', 'streaming.error-event', 'errors.malformed.streaming', 'limits.streaming', 'timeouts.idle.streaming'],
  },
  {
    check: 'streaming.error-event',
    why: 'an error event ends the stream normally',
    plugin: broken.swallowingStream,
    message: 'a stream in which the backend sent its error event ended normally',
    alsoFails: ['errors.http.streaming', 'streaming.abort', 'streaming.truncated', 'errors.malformed.streaming', 'limits.streaming', 'timeouts.idle.streaming'],
  },
  {
    check: 'streaming.error-event',
    why: "the backend's error event is skipped (the stream then looks truncated)",
    plugin: broken.ignoresErrorEvent,
    options: acmeOptions,
    message: 'failed with a ProviderError with reason "truncated_stream"',
  },
  {
    check: 'errors.malformed.streaming',
    why: 'stream events are parsed with JSON.parse',
    plugin: broken.rawJsonStream,
    options: acmeOptions,
    message: /failed with SyntaxError: .* instead of a ProviderError with reason "bad_response"/,
  },
  {
    check: 'errors.malformed.completion',
    why: "the answer's fields are read unchecked",
    plugin: broken.uncheckedShape,
    options: acmeOptions,
    message: /valid JSON of another shape .* on getCompletion failed with TypeError: /,
  },
  {
    check: 'limits.completion',
    why: 'requests are sent with its own { signal, headers }',
    plugin: broken.ownRequestOptions,
    options: acmeOptions,
    message: 'getCompletion resolved to',
    alsoFails: ['limits.streaming', 'timeouts.idle.completion', 'timeouts.idle.streaming'],
  },
  {
    check: 'limits.streaming',
    why: 'requests are sent with its own { signal, headers }',
    plugin: broken.ownRequestOptions,
    options: acmeOptions,
    message: 'streamCompletion resolved to',
    alsoFails: ['limits.completion', 'timeouts.idle.completion', 'timeouts.idle.streaming'],
  },
  {
    check: 'timeouts.idle.completion',
    why: "the call's idle timeout is dropped",
    plugin: broken.noIdleTimeout,
    options: acmeOptions,
    message: 'nothing at all (idle_timeout: 0.2 s, timeout: 2 s) on getCompletion became a ProviderError with reason "timeout", expected "idle_timeout"',
    alsoFails: ['timeouts.idle.streaming'],
  },
  {
    check: 'timeouts.idle.streaming',
    why: "the call's idle timeout is dropped",
    plugin: broken.noIdleTimeout,
    options: acmeOptions,
    message: 'the headers of a stream, then nothing (idle_timeout: 0.2 s, timeout: 2 s) on streamCompletion became a ProviderError with reason "timeout"',
    alsoFails: ['timeouts.idle.completion'],
  },
  {
    check: 'embeddings',
    why: 'the vectors come in reverse order',
    plugin: broken.reversedVectors,
    options: acmeOptions,
    message: 'vector 0 of getEmbeddings(["alpha","beta gamma","delta epsilon zeta"]) is not the vector of "alpha" but that of input 2',
  },
  { check: 'embeddings', why: 'a vector is missing', plugin: broken.dropsAVector, options: acmeOptions, message: 'backend returned 2 embeddings for 3 inputs' },
  { check: 'embeddings', why: 'the vectors have different dimensions', plugin: broken.raggedVectors, options: acmeOptions, message: 'different dimensions: 8, 7, 6' },
  { check: 'speech', why: 'the audio is empty', plugin: broken.silentSpeech, options: acmeOptions, message: 'getSpeech returned empty audio' },
  { check: 'speech', why: 'the audio has no MIME type', plugin: broken.untypedSpeech, options: acmeOptions, message: 'getSpeech returned the MIME type ""' },
  { check: 'transcription', why: 'the text is not a string', plugin: broken.numericTranscript, options: acmeOptions, message: 'getTranscription returned text 50, not a string' },
  { check: 'models', why: 'the list is built in', plugin: broken.builtInModelList, options: acmeOptions, message: 'listModels made no request to the server', alsoFails: ['errors.http.models'] },
  { check: 'tokens', why: 'the count is a guess', plugin: broken.guessedTokens, options: acmeOptions, message: 'countTokens counted 4 tokens for a longer text than one of 4', alsoFails: ['errors.http.tokens'] },
  {
    check: 'tools.wire',
    why: 'the tools are never sent',
    plugin: brokenTools.toolsNotSent,
    options: brokenTools.openaiOptions,
    message: 'the request carried the tools []',
    alsoFails: ['tools.choice'],
  },
  {
    check: 'tools.call',
    why: 'the calls of an answer are lost',
    plugin: brokenTools.callsDropped,
    options: brokenTools.openaiOptions,
    message: 'getCompletion returned no toolCalls although the server answered 1 tool call(s)',
    alsoFails: 'slow',
  },
  {
    check: 'tools.stream',
    why: 'the calls of a stream are lost',
    plugin: brokenTools.streamedCallsDropped,
    options: brokenTools.openaiOptions,
    message: 'streamCompletion returned no toolCalls',
    alsoFails: 'slow',
  },
  {
    check: 'tools.roundtrip',
    why: 'tool results are sent as user text',
    plugin: brokenTools.resultsAsUserText,
    options: brokenTools.openaiOptions,
    message: "the request carried 0 tool results in the backend's format, expected 2",
  },
  {
    check: 'tools.choice',
    why: 'the tool choice is always "auto"',
    plugin: brokenTools.choiceIgnored,
    options: brokenTools.openaiOptions,
    message: 'toolChoice "none" reached the backend as "auto"',
  },
  {
    check: 'tools.invalid-arguments',
    why: 'invalid arguments are hidden as {}',
    plugin: brokenTools.lenientArguments,
    options: brokenTools.openaiOptions,
    message: 'getCompletion resolved to',
  },
  {
    check: 'tools.stream-cut',
    why: 'a cut stream ends as if it had finished',
    plugin: brokenTools.cutStreamHidden,
    options: brokenTools.openaiOptions,
    message: 'a stream cut inside a tool call (a clean end without the end marker) was reported as invalid tool arguments',
    alsoFails: 'slow',
  },
  {
    check: 'tools.refused',
    why: 'a provider without tools drops them and answers',
    plugin: brokenTools.toolsSwallowed,
    message: 'a call with tools resolved to',
  },
  {
    check: 'reasoning',
    why: 'the reasoning is dropped',
    plugin: brokenTools.reasoningDropped,
    options: brokenTools.vllmOptions,
    message: 'getCompletion returned the reasoning undefined',
  },
  {
    check: 'structured_output.mismatch',
    why: 'the answer is replaced',
    plugin: broken.answerReplaced,
    options: acmeOptions,
    message: 'the StructuredOutputError keeps the text "{}"',
    alsoFails: ['structured_output.schema'],
  },
  { check: 'structured_output.schema', why: 'the schema is not sent', plugin: broken.schemaIgnored, options: acmeOptions, message: 'the request did not carry the response schema' },
  { check: 'vision', why: 'the images are dropped', plugin: broken.imagesDropped, options: acmeOptions, message: 'no request carried the image bytes' },
];

describe('a backend without some tool choices', () => {
  it('fails tools.choice by default for a choice it refuses, with a hint at unsupportedToolChoices', async () => {
    const outcome = await outcomeOf(brokenTools.noRequiredChoice, brokenTools.openaiOptions(), 'tools.choice');
    expect(outcome.status).toBe('failed');
    expect(outcome.message).toContain("list it in the conformance options' unsupportedToolChoices");
  });

  it('passes it when the choice is listed: then the refusal (CapabilityNotSupportedError, no request) is what is checked', async () => {
    const listed = await outcomeOf(brokenTools.noRequiredChoice, { ...brokenTools.openaiOptions(), unsupportedToolChoices: ['required'] }, 'tools.choice');
    expect(listed.status).toBe('passed');
    // A plugin that maps the choice after all fails when it is listed: listing is a claim the check holds it to.
    const mapping = await outcomeOf(brokenTools.everyChoice, { ...brokenTools.openaiOptions(), unsupportedToolChoices: ['required'] }, 'tools.choice');
    expect(mapping).toMatchObject({ status: 'failed', message: expect.stringContaining('is listed in unsupportedToolChoices but was accepted') });
  });
});

describe('a backend without some tool choices: the refusal', () => {
  it('fails tools.choice when a listed choice reaches the server before it is refused', async () => {
    const outcome = await outcomeOf(brokenTools.requiredTriedFirst, { ...brokenTools.openaiOptions(), unsupportedToolChoices: ['required'] }, 'tools.choice');
    expect(outcome).toMatchObject({ status: 'failed', message: expect.stringContaining('toolChoice "required" is refused, but a request reached the server first') });
  });
});

describe('a backend without some sampling settings', () => {
  it('fails the runtime check by default, with a hint at unsupportedSettings', async () => {
    const outcome = await outcomeOf(broken.noTemperature, exampleOptions(), 'runtime.override');
    expect(outcome.status).toBe('failed');
    expect(outcome.message).toContain('list "temperature" in the conformance options\' unsupportedSettings');
  });

  it('passes it when it declares it lacks temperature: the check uses max_tokens instead', async () => {
    const outcomes = await runConformance(broken.noTemperature, exampleOptions({ unsupportedSettings: ['temperature'] }));
    expect(outcomes.filter((o) => o.status === 'failed')).toEqual([]);
    expect(outcomes.find((o) => o.id === 'runtime.override')).toMatchObject({ status: 'passed', name: expect.stringContaining('max_tokens') });
  });

  it('skips it when the backend takes none of the settings, and refuses an unknown one', async () => {
    const none = await outcomeOf(broken.noTemperature, exampleOptions({ unsupportedSettings: ['temperature', 'max_tokens', 'top_p', 'seed'] }), 'runtime.override');
    expect(none).toMatchObject({ status: 'skipped', message: expect.stringContaining('unsupportedSettings') });
    await expect(runConformance(broken.noTemperature, exampleOptions({ unsupportedSettings: ['temprature' as 'temperature'] }))).rejects.toThrow(
      /unsupportedSettings: unknown setting "temprature"/,
    );
  });
});

describe('each check fails on a plugin broken for it', () => {
  it('covers every check of the kit', async () => {
    const env = await startConformanceEnv(acmePlugin, acmeOptions());
    try {
      const ids = conformanceChecks(acmePlugin, acmeOptions({ packageJson: EXAMPLE_PACKAGE_JSON }), env).map((c) => c.id);
      const broken = new Set(BREAKAGES.map((b) => b.check));
      // `capabilities.undeclared` does not apply to acme (it declares everything); example-com covers it.
      // The HTTP checks are one per capability and share their code; the completion one is broken here.
      const notCovered = ids.filter((id) => !broken.has(id) && !id.startsWith('errors.http.'));
      expect(notCovered).toEqual([]);
    } finally {
      await env.close();
    }
  });

  it.each(BREAKAGES)('$check fails when $why', async ({ check, plugin, options, message }) => {
    const outcome = await outcomeOf(plugin, (options ?? exampleOptions)(), check);
    expect(outcome.status).toBe('failed');
    if (typeof message === 'string') expect(outcome.message).toContain(message);
    else expect(outcome.message).toMatch(message);
  });

  // No check fails for a mistake it is not about: the full kit on each broken plugin fails only the expected checks.
  it.each(BREAKAGES.filter((b) => b.alsoFails !== 'slow'))('only $check fails (and what else the same mistake breaks) when $why', async ({ check, plugin, options, alsoFails }) => {
    const outcomes = await runConformance(plugin, (options ?? exampleOptions)());
    const failed = outcomes.filter((o) => o.status === 'failed').map((o) => o.id);
    expect(failed.sort()).toEqual([check, ...((alsoFails as string[] | undefined) ?? [])].sort());
  });
});
