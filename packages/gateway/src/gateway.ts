/**
 * The gateway: an OpenAI-compatible HTTP API over the profiles of one AEGIS
 * instance. node:http (no framework: a handful of routes, and the streaming
 * path stays a direct pipe from the provider's iterator to the socket).
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { SecretScrubber, type Aegis, type BackendProvider, type Logger, type StreamEvent } from '@aegis/core';
import { formatEntry, type AccessLogEntry, type AccessLogSink } from './access-log.js';
import { assertModelAllowed, authenticate } from './auth.js';
import { applyCors, isPreflight, preflightHeaders, type CorsSettings } from './cors.js';
import { loadGatewaySettings, refusalToListen, type GatewaySettings, type KeySpec } from './config.js';
import { fromError, GatewayError, modelNotFound, quotedName, rateLimited, upstreamReason } from './errors.js';
import { parseJsonBody, readBody } from './http/body.js';
import { sendJson as writeJson, StreamWriter } from './http/respond.js';
import { answerChars, estimateTokens, usageOrEstimate } from './limits/estimate.js';
import { Limiter, type Permit } from './limits/limiter.js';
import { RedisLimitStore } from './limits/redis-store.js';
import { MemoryLimitStore, type LimitStore } from './limits/store.js';
import { GatewayMetrics } from './metrics.js';
import { parseSpeechRequest, parseTranscriptionRequest, speechMime, transcriptionBody } from './openai/audio.js';
import { ChunkWriter, completionBody, parseChatRequest } from './openai/chat.js';
import { chainScrubbers, ChatStreamEncoder } from './openai/chat-stream.js';
import { embeddingsBody, parseEmbeddingsRequest } from './openai/embeddings.js';

export interface GatewayOptions {
  /** Where access log lines go (one JSON object each); default stdout; false: none. */
  accessLog?: AccessLogSink | false;
  /** Where the gateway's own messages go; default the instance's logger. */
  logger?: Logger;
  /** Clock of the rate limits (tests). */
  now?: () => number;
  /** Also export Node's process metrics (CPU, memory, event loop) on /metrics. Default true. */
  defaultMetrics?: boolean;
  /** Limit store to use instead of the one the config asks for (tests, custom stores). */
  store?: LimitStore;
}

export interface ListenOptions {
  port?: number;
  host?: string;
}

export interface Gateway {
  /** The node:http server (not listening until `listen`). */
  readonly server: http.Server;
  /** The request handler, to mount the gateway in a server of your own. */
  readonly handle: (req: IncomingMessage, res: ServerResponse) => void;
  readonly metrics: GatewayMetrics;
  /** The settings in force. */
  readonly settings: GatewaySettings;
  /** Public model names served. */
  readonly models: string[];
  /** Listens; refuses (throws) on a non-loopback address without keys. Resolves with the URL. */
  listen(options?: ListenOptions): Promise<{ url: string; port: number; host: string }>;
  /**
   * Switches to another instance (the same backends.yaml read again, on
   * SIGHUP). When its configuration is invalid, throws (closing `aegis`) and
   * keeps serving with the current one. The old instance is closed once its
   * calls are done.
   */
  reload(aegis: Aegis): Promise<void>;
  /**
   * Graceful stop: no new connections or requests (503), in-flight calls get
   * up to `timeoutMs` (default `gateway.shutdown_timeout`) to finish, then are
   * cut (their upstream calls aborted).
   */
  close(options?: { timeoutMs?: number }): Promise<void>;
}

/** What a request runs against: swapped whole on reload. */
interface State {
  aegis: Aegis;
  settings: GatewaySettings;
  limiter: Limiter;
  scrubber: SecretScrubber;
  created: number;
  users: number;
  retired: boolean;
  /** Disconnects the instance's providers from the store's shared cooldowns (closing the instance does too). */
  unshareCooldowns: () => void;
  /** The providers built so far, by profile (the instance keeps them for its life). */
  providers: Map<string, BackendProvider>;
}

interface InFlight {
  controller: AbortController;
}

type Route = 'chat' | 'embeddings' | 'speech' | 'transcriptions' | 'models' | 'ops';

export async function createGateway(aegis: Aegis, options: GatewayOptions = {}): Promise<Gateway> {
  const logger = options.logger ?? aegis.logger;
  const metrics = new GatewayMetrics({ defaultMetrics: options.defaultMetrics ?? true });
  const accessLog: AccessLogSink | undefined =
    options.accessLog === false ? undefined : (options.accessLog ?? ((line) => process.stdout.write(line + '\n')));
  const inFlight = new Set<InFlight>();
  let idle: (() => void) | undefined;
  let draining = false;

  const buildState = async (instance: Aegis, previous?: State): Promise<State> => {
    const settings = await loadGatewaySettings(instance);
    const scrubber = new SecretScrubber();
    for (const secret of settings.secrets) scrubber.add(secret);
    let store = options.store;
    if (!store && previous && previous.settings.redisUrl === settings.redisUrl && previous.settings.redisPrefix === settings.redisPrefix) {
      store = previous.limiter.store;
    }
    if (!store) {
      store = settings.redisUrl
        ? await RedisLimitStore.connect({
            url: settings.redisUrl,
            prefix: settings.redisPrefix,
            onError: (error) => logger.warn(`gateway: redis: ${scrubber.scrub(instance.redact(error.message))}`),
            onWarning: (message) => logger.warn(`gateway: redis: ${scrubber.scrub(instance.redact(message))}`),
          }).catch((error: Error) => {
            throw new Error(`${scrubber.scrub(instance.redact(error.message))} (gateway.redis_url)`);
          })
        : new MemoryLimitStore(options.now);
    }
    if (settings.cors?.origins === '*' && settings.keys.length === 0) {
      logger.warn('gateway: cors allows any origin and there are no keys: any web page the user opens can call the gateway');
    }
    for (const { profile, model, reason } of settings.skipped) {
      const what = model === undefined ? `profile "${profile}"` : `model "${model}" (profile "${profile}")`;
      logger.warn(`gateway: ${what} is not served: ${instance.redact(reason)}`);
    }
    // Build every served provider now: plugins load before the first request, and /readyz means it.
    await Promise.all(
      [...new Set(settings.models.values())].map((profile) =>
        instance.getProviderForProfile(profile).catch((error: Error) => logger.warn(`gateway: profile "${profile}": ${instance.redact(error.message)}`)),
      ),
    );
    // The router's member cooldowns: shared by the replicas on this store (Redis), once the instance is ready.
    const unshareCooldowns = store.sharedCooldowns ? instance.shareCooldowns(store.sharedCooldowns) : () => undefined;
    return {
      aegis: instance,
      settings,
      // The same store, the same limiter: calls in flight under the previous configuration count against max_concurrent.
      // Another store (memory ↔ Redis, another redis_url): a new limiter, with the same in-flight counts.
      limiter: previous?.limiter.store === store ? previous.limiter : new Limiter(store, options.now, previous?.limiter.inFlightCounts),
      scrubber,
      created: Math.floor(Date.now() / 1000),
      users: 0,
      retired: false,
      unshareCooldowns,
      providers: new Map(),
    };
  };

  let state = await buildState(aegis);
  const scrub = (s: State, text: string) => s.scrubber.scrub(s.aegis.redact(text));
  const retireIfUnused = (s: State) => {
    if (s.retired && s.users === 0 && s !== state) s.aegis.close();
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const current = state;
    current.users++;
    const started = performance.now();
    const requestId = validRequestId(req.headers['x-request-id']) ?? randomUUID();
    const path = (req.url ?? '/').split('?')[0]!;
    const startedAt = Date.now();
    // `time` is written with the line (a date's ISO text is not needed before then).
    const entry: AccessLogEntry = { time: '', request_id: requestId, method: req.method ?? '', path, status: 0, duration_ms: 0 };
    const flight: InFlight = { controller: new AbortController() };
    inFlight.add(flight);
    const route = routeOf(path);
    // Counted in flight after this turn, in which an upstream request leaves (off its way); an
    // answer that ends within the turn (a 404, a refused key) is never counted.
    let counted = false;
    let closed = false;
    setImmediate(() => {
      if (closed) return;
      metrics.inFlightOf(route).inc();
      counted = true;
    });
    res.setHeader('x-request-id', requestId);
    // The model routes only: /healthz, /readyz and /metrics are for operators, not browser apps.
    const cors = current.settings.cors;
    if (cors !== undefined && route !== undefined && route !== 'ops') applyCors(cors, req, res);
    res.on('close', () => {
      closed = true;
      // The client went away (or the answer is complete): stop the upstream call at once.
      if (!res.writableFinished) {
        entry.client_closed = true;
        flight.controller.abort(new Error('the client closed the connection'));
      }
      inFlight.delete(flight);
      if (counted) metrics.inFlightOf(route).dec();
      // Gone before any answer: 499, as nginx and LiteLLM log it (not the 200 node:http still holds).
      if (!entry.stream_broken) entry.status = entry.client_closed && !res.headersSent ? CLIENT_CLOSED : res.statusCode;
      entry.duration_ms = Math.round((performance.now() - started) * 10) / 10;
      if (route !== 'ops') {
        // Labelled by a served model only: a client choosing names must not make series (or memory) grow.
        metrics.answered(route ?? 'unknown', entry.profile === undefined ? '' : (entry.model ?? ''), entry.status, entry.duration_ms / 1000);
        if (accessLog) {
          entry.time = new Date(startedAt).toISOString();
          if (entry.error) entry.error = scrub(current, entry.error);
          accessLog(formatEntry(entry, (t) => scrub(current, t)));
        }
      }
      current.users--;
      retireIfUnused(current);
      if (inFlight.size === 0 && idle) idle();
      if (draining) server.closeIdleConnections();
    });
    dispatch(current, req, res, route, path, entry, flight.controller.signal, started).catch((error: unknown) => {
      // The client went away (its call aborted with it): nobody to answer, nothing wrong to report.
      if (entry.client_closed) return;
      const failure = fromError(error, entry.model ?? '');
      if (failure.status >= 500 && failure.options.cause !== undefined && !logged.has(failure)) {
        logger.error(`gateway: ${req.method} ${path} (${requestId}): ${scrub(current, describe(failure.options.cause))}`);
      }
      entry.error = failure.message;
      sendError(current, res, failure);
    });
  };

  const sendError = (s: State, res: ServerResponse, error: GatewayError): void => {
    if (res.headersSent) {
      if (!res.writableEnded) res.end();
      return;
    }
    sendJson(res, error.status, error.body((t) => publicText(scrub(s, t))), error.options.headers);
  };

  /** A whole JSON answer; while draining it says the connection closes after it (the server closes it). */
  const sendJson = (res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void => {
    writeJson(res, status, body, draining ? { ...headers, connection: 'close' } : headers);
  };

  /**
   * A preflight for a model route: 204 with what the browser may send, or a
   * 403 for an origin not allowed (no CORS headers: the browser then refuses
   * the call). Logged and counted as any answer, under its route.
   */
  const answerPreflight = (cors: CorsSettings, req: IncomingMessage, res: ServerResponse, route: Route): void => {
    const headers = preflightHeaders(cors, req, route === 'models' ? 'GET' : 'POST');
    if (!headers) {
      throw new GatewayError(403, 'invalid_request_error', 'this origin may not call the gateway from a browser (gateway.cors.origins)', { code: 'origin_not_allowed' });
    }
    res.writeHead(204, draining ? { ...headers, connection: 'close' } : headers);
    res.end();
  };

  const dispatch = async (
    s: State,
    req: IncomingMessage,
    res: ServerResponse,
    route: Route | undefined,
    path: string,
    entry: AccessLogEntry,
    signal: AbortSignal,
    started: number,
  ): Promise<void> => {
    if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      const problems: string[] = [];
      if (draining) problems.push('shutting down');
      if (!s.limiter.store.healthy) problems.push('redis is not connected or not answering');
      // How many models, not which: /readyz answers without a key.
      return sendJson(res, problems.length ? 503 : 200, { status: problems.length ? 'unavailable' : 'ready', problems, models: s.settings.models.size });
    }
    if (path === '/metrics') {
      const text = await metrics.registry.metrics();
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      res.end(text);
      return;
    }
    if (!route) throw new GatewayError(404, 'invalid_request_error', `Unknown request URL: ${req.method} ${path}`, { code: 'unknown_url' });
    // Before the key is checked: a browser never sends it on a preflight.
    if (s.settings.cors !== undefined && isPreflight(req)) return answerPreflight(s.settings.cors, req, res, route);
    if (draining) throw new GatewayError(503, 'server_error', 'the gateway is shutting down', { code: 'shutting_down', headers: { connection: 'close' } });

    const key = authenticate(req, s.settings.keys);
    if (key.name !== 'anonymous') entry.key = key.name;

    if (route === 'models') {
      if (req.method !== 'GET') throw methodNotAllowed(req, 'GET');
      const visible = [...s.settings.models.keys()].filter((m) => !key.models || key.models.has(m));
      const card = (id: string) => ({ id, object: 'model', created: s.created, owned_by: 'aegis' });
      if (path === '/v1/models' || path === '/models') return sendJson(res, 200, { object: 'list', data: visible.map(card) });
      const id = modelIdOf(path);
      if (id === undefined || !visible.includes(id)) throw modelNotFound(id ?? path);
      return sendJson(res, 200, card(id));
    }
    if (req.method !== 'POST') throw methodNotAllowed(req, 'POST');
    const body = await readBody(req, s.settings.maxBodyBytes);

    if (route === 'transcriptions') {
      const request = await parseTranscriptionRequest(body, req.headers['content-type']);
      const call = await begin(s, key, request.model, entry, 'transcription');
      try {
        const result = await call.provider.getTranscription(request.audio, {
          mimeType: request.mimeType,
          fileName: request.fileName,
          language: request.language,
          prompt: request.prompt,
          signal,
        });
        const out = transcriptionBody(result, request.format, (t) => scrub(s, t));
        if (out.json) return sendJson(res, 200, out.json);
        res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(out.text);
      } catch (error) {
        throw await upstreamFailure(s, call, error);
      } finally {
        call.permit.release();
      }
      return;
    }

    const json = parseJsonBody(body);
    if (route === 'embeddings') {
      const request = parseEmbeddingsRequest(json);
      const call = await begin(s, key, request.model, entry, 'embeddings');
      let tokens: number | undefined;
      try {
        const result = await call.provider.getEmbeddings(request.input, { dimensions: request.dimensions, signal });
        tokens = result.usage?.totalTokens ?? result.usage?.promptTokens;
        countTokens(call, result.usage?.promptTokens, undefined, entry);
        return sendJson(res, 200, embeddingsBody(request.model, result, request.base64));
      } catch (error) {
        throw await upstreamFailure(s, call, error);
      } finally {
        call.permit.release(tokens ?? estimateTokens(request.input.reduce((sum, text) => sum + text.length, 0)));
      }
    }
    if (route === 'speech') {
      const request = parseSpeechRequest(json);
      const call = await begin(s, key, request.model, entry, 'speech');
      try {
        const result = await call.provider.getSpeech(request.input, { voice: request.voice, format: request.format, speed: request.speed, signal });
        res.writeHead(200, { 'content-type': speechMime(request.format, result.mimeType), 'content-length': result.audio.byteLength });
        res.end(result.audio);
      } catch (error) {
        throw await upstreamFailure(s, call, error);
      } finally {
        call.permit.release();
      }
      return;
    }

    // chat
    const request = parseChatRequest(json);
    entry.stream = request.stream;
    const begun = begin(s, key, request.model, entry, request.stream ? 'streaming' : 'completion');
    const call = begun instanceof Promise ? await begun : begun;
    const id = `chatcmpl-${randomUUID().replace(/-/g, '')}`;
    const created = Math.floor(Date.now() / 1000);
    const runtime = { ...request.runtime, signal };
    // Charged to the key and reported: the usage the backend reported, and an estimate for
    // what it did not (limits/estimate.ts), also for a call that failed or was left.
    let usage: ReturnType<typeof usageOrEstimate> | undefined;
    let answered = (): number => 0;
    try {
      if (!request.stream) {
        const result = await call.provider.getCompletion(request.messages, runtime);
        answered = () => answerChars(result);
        countTokens(call, result.usage?.promptTokens, result.usage?.completionTokens, entry);
        usage = usageOrEstimate(result.usage, request.messages, answered());
        return sendJson(res, 200, completionBody(id, created, request.model, result, usage, (t) => scrub(s, t), request.json));
      }
      const stream = call.provider.streamCompletion(request.messages, runtime);
      answered = () => stream.text.length;
      const deltas = stream.events();
      // The status is sent with the first event: an upstream failing before it (or a fallback
      // that runs out of members) is still a proper error status, not a broken 200 stream.
      const firstStep = deltas.next();
      firstStep.catch(() => undefined); // awaited below, once the answer's writer is ready
      // What the first write needs is built while the backend works on the answer: after this
      // turn of the event loop, in which the upstream request leaves, and off the path from the
      // first delta to the client.
      await afterIo();
      const chunks = new ChunkWriter(id, created, request.model);
      // A secret a backend echoes never reaches the caller, even split across deltas.
      const encoder = new ChatStreamEncoder(chunks, () =>
        chainScrubbers(s.aegis.secrets.createStreamScrubber(), s.scrubber.size > 0 ? s.scrubber.createStreamScrubber() : undefined),
      );
      answered = () => stream.text.length + encoder.extraChars;
      const out = new StreamWriter(res);
      const role = chunks.role();
      let step: IteratorResult<StreamEvent, void>;
      try {
        step = await firstStep;
      } catch (error) {
        throw await upstreamFailure(s, call, error);
      }
      const firstDelta = performance.now() - started;
      // Recorded once the first delta has left (or at the end, for an answer with none to send).
      let noted = false;
      const noteFirstDelta = (): void => {
        if (noted) return;
        noted = true;
        entry.first_delta_ms = Math.round(firstDelta * 10) / 10;
        metrics.firstDeltaOf(request.model, firstDelta / 1000);
      };
      res.writeHead(200, draining ? SSE_HEADERS_CLOSING : SSE_HEADERS);
      // Deltas that arrive together (one network read upstream) leave in one write (StreamWriter);
      // the first one at once, with the headers.
      // (A write's answer is awaited only when it is a promise: no promise step per delta.)
      let sent = out.send(role);
      let open = sent === true || (sent !== false && (await sent));
      let first = true;
      while (open && !step.done) {
        const data = encoder.event(step.value);
        if (data !== '') {
          sent = out.send(data);
          open = sent === true || (sent !== false && (await sent));
          if (first) {
            // The first delta leaves at once, not after the rest of its batch.
            first = false;
            if (open) open = await out.flush();
            noteFirstDelta();
          }
        }
        if (!open) break;
        try {
          step = await deltas.next();
        } catch (error) {
          const failure = await upstreamFailure(s, call, error);
          entry.error = failure.message;
          // The status the log and metrics count: the failure's, not the 200 already sent (see the close handler).
          entry.stream_broken = true;
          entry.status = failure.status;
          // What the channels still hold goes before the error (scrubbed as at the end).
          out.end(encoder.end() + ChunkWriter.error(failure.body((t) => publicText(scrub(s, t)))));
          return;
        }
      }
      noteFirstDelta();
      if (!open) {
        // The client is gone: close the upstream stream now (the signal has aborted it too).
        await deltas.return?.().catch(() => undefined);
        return;
      }
      const result = await stream.result;
      countTokens(call, result.usage?.promptTokens, result.usage?.completionTokens, entry);
      usage = usageOrEstimate(result.usage, request.messages, answered());
      let tail = encoder.end() + chunks.finish(result.finishReason);
      if (request.includeUsage) tail += chunks.usage(usage);
      out.end(tail + ChunkWriter.DONE);
    } catch (error) {
      throw error instanceof GatewayError ? error : await upstreamFailure(s, call, error);
    } finally {
      // A call that failed or was left has no usage yet: the estimate of what it sent and received.
      const charged = usage ?? usageOrEstimate(undefined, request.messages, answered());
      call.permit.release(charged.promptTokens + charged.completionTokens);
    }
  };

  interface Call {
    provider: BackendProvider;
    profile: string;
    model: string;
    permit: Permit;
  }

  /**
   * Model → profile, key permissions, cooldown and limits; then the provider
   * (capability checked before any upstream call). The call at once, without
   * an async step, when everything is at hand (the memory store, a provider
   * already built, a key without limits): each step is on the way to the backend.
   */
  const begin = (s: State, key: KeySpec, model: string, entry: AccessLogEntry, capability: Parameters<BackendProvider['supports']>[0]): Call | Promise<Call> => {
    entry.model = quotedName(model);
    const profile = s.settings.models.get(model);
    if (profile === undefined) throw modelNotFound(model);
    assertModelAllowed(key, model);
    entry.model = model;
    entry.profile = profile;
    const admit = (cooling: number): Call | Promise<Call> => {
      if (cooling > 0) throw rateLimited(`upstream of model "${model}" is rate limited; retry later`, cooling, 'upstream_rate_limited');
      const provider = s.providers.get(profile);
      return provider ? permitted(s, key, { provider, profile, model }, capability) : providerOf(s, profile).then((p) => permitted(s, key, { provider: p, profile, model }, capability));
    };
    let left: number | Promise<number>;
    try {
      left = s.limiter.store.cooldownLeft(`profile:${profile}`);
    } catch {
      left = 0;
    }
    return typeof left === 'number' ? admit(left) : left.catch(() => 0).then(admit);
  };

  /** The call, once its provider supports it and the key's limits let it through. */
  const permitted = (s: State, key: KeySpec, call: Omit<Call, 'permit'>, capability: Parameters<BackendProvider['supports']>[0]): Call | Promise<Call> => {
    if (!call.provider.supports(capability)) {
      throw new GatewayError(400, 'invalid_request_error', `model "${call.model}" does not support ${capability}`, { param: 'model', code: 'capability_not_supported' });
    }
    const { limits } = key;
    if (limits.requestsPerMinute === undefined && limits.tokensPerMinute === undefined && limits.maxConcurrent === undefined) {
      return { ...call, permit: NO_LIMITS };
    }
    return s.limiter.acquire(key).then(
      (permit) => ({ ...call, permit }),
      (error: unknown) => {
        if (error instanceof GatewayError) {
          metrics.rateLimited.inc({ key: key.name, limit: error.options.code ?? 'rate_limit' });
          throw error;
        }
        logger.error(`gateway: limit store failed: ${scrub(s, describe(error))}`);
        throw new GatewayError(503, 'server_error', 'rate limits cannot be checked right now (limit store unavailable)', { code: 'limits_unavailable' });
      },
    );
  };

  const providerOf = async (s: State, profile: string): Promise<BackendProvider> => {
    const provider = await s.aegis.getProviderForProfile(profile);
    s.providers.set(profile, provider);
    return provider;
  };

  /** Counts the tokens the backend reported (metrics and the access log: never estimates). */
  const countTokens = (call: Call, prompt: number | undefined, completion: number | undefined, entry: AccessLogEntry): void => {
    if (prompt !== undefined) {
      entry.prompt_tokens = prompt;
      metrics.countTokens(call.model, call.profile, 'prompt', prompt);
    }
    if (completion !== undefined) {
      entry.completion_tokens = completion;
      metrics.countTokens(call.model, call.profile, 'completion', completion);
    }
  };

  /** Maps an upstream failure, counts it, and remembers a backend's own rate limit for every replica. */
  const upstreamFailure = async (s: State, call: Call, error: unknown): Promise<GatewayError> => {
    const reason = upstreamReason(error);
    // Cut by the shutdown's deadline: said as such (and logged so), not as the backend's failure.
    if (draining && reason === 'aborted') return shuttingDown();
    const failure = fromError(error, call.model);
    if (reason && reason !== 'aborted') metrics.upstreamErrors.inc({ profile: call.profile, reason });
    if (failure.status === 429 && failure.options.code === 'upstream_rate_limited') {
      // Capped as its Retry-After is (errors.ts): a backend cannot shut a model off for good.
      const ms = Number(failure.options.headers?.['retry-after'] ?? 1) * 1000;
      await s.limiter.store.coolDown(`profile:${call.profile}`, ms).catch(() => undefined);
    }
    // An aborted call was stopped here (the client left, or shutdown cut it): not the backend's failure.
    if (failure.status >= 500 && reason !== 'aborted') {
      logger.warn(`gateway: model "${call.model}" (profile "${call.profile}"): ${scrub(s, describe(error))}`);
      logged.add(failure);
    }
    return failure;
  };
  /** Upstream failures already on the log (upstreamFailure's line): the request's error handler writes no second one. */
  const logged = new WeakSet<GatewayError>();

  const server = http.createServer({ keepAlive: true }, handle);
  server.keepAliveTimeout = 65_000; // longer than common load balancers' idle timeout
  server.headersTimeout = 66_000;

  return {
    server,
    handle,
    metrics,
    get settings() {
      return state.settings;
    },
    get models() {
      return [...state.settings.models.keys()];
    },
    async listen(listenOptions: ListenOptions = {}) {
      const host = listenOptions.host ?? '127.0.0.1';
      const refusal = refusalToListen(host, state.settings, state.aegis.configFile);
      if (refusal) throw new GatewayStartError(refusal);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(listenOptions.port ?? 4000, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const address = server.address() as AddressInfo;
      const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      return { url: `http://${shown}:${address.port}`, port: address.port, host: address.address };
    },
    async reload(next: Aegis) {
      const previous = state;
      /**
       * Why the new configuration may not replace the running one: the gateway is shutting down (a reload
       * that ended after close() would serve again, unclosed), keys on a public address, a cut or half-written
       * backends.yaml that would switch the keys off or serve nothing. Keys off or no model: a restart does it.
       */
      const reloadRefusal = (old: GatewaySettings, settings: GatewaySettings, configFile: string): string | undefined => {
        if (draining) return 'the gateway is shutting down';
        if (server.listening) {
          const listening = refusalToListen((server.address() as AddressInfo).address, settings, configFile);
          if (listening) return listening;
        }
        if (old.keys.length > 0 && settings.keys.length === 0) {
          return `${configFile} has no gateway keys now (the running configuration has ${old.keys.length}): kept the running one, as a cut or half-written file would switch authentication off; to serve without keys, restart`;
        }
        if (settings.models.size === 0) return `${configFile} serves no model now: kept the running configuration; to serve nothing, stop the gateway`;
        return undefined;
      };
      // A reload that fails closes the instance it was given (it would serve nothing, ever).
      const discard = () => next !== previous.aegis && next.close();
      const fresh = await buildState(next, previous).catch((error: unknown) => {
        discard();
        throw error;
      });
      const refusal = reloadRefusal(previous.settings, fresh.settings, next.configFile);
      if (refusal) {
        // The running configuration stays; what was made for the new one is let go.
        fresh.unshareCooldowns();
        if (fresh.limiter.store !== previous.limiter.store && fresh.limiter.store !== options.store) await fresh.limiter.store.close();
        discard();
        throw new GatewayStartError(refusal);
      }
      state = fresh;
      if (previous.limiter.store !== fresh.limiter.store) await previous.limiter.store.close();
      previous.retired = true;
      retireIfUnused(previous);
    },
    async close(closeOptions = {}) {
      if (draining) return;
      draining = true;
      const timeoutMs = closeOptions.timeoutMs ?? state.settings.shutdownTimeoutMs;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight.size > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((resolve) => (idle = resolve)),
          new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
        ]);
        clearTimeout(timer);
        // Past the deadline: cut what is left (their upstream calls are aborted with them), and give each a
        // moment to answer that (a 503, or an error event in a stream) before the connections are closed.
        for (const flight of inFlight) flight.controller.abort(new Error('the gateway is shutting down'));
        if (inFlight.size > 0) {
          await Promise.race([
            new Promise<void>((resolve) => (idle = resolve)),
            new Promise<void>((resolve) => (timer = setTimeout(resolve, CUT_ANSWER_GRACE_MS))),
          ]);
          clearTimeout(timer);
        }
      }
      server.closeAllConnections();
      if (server.listening) await closed;
      await state.limiter.store.close();
      state.aegis.close();
    },
  };
}

const NO_LIMITS: Permit = { release: () => undefined };

/** How long calls cut by the shutdown's deadline get to say so to their clients before the connections close. */
const CUT_ANSWER_GRACE_MS = 2000;

const shuttingDown = () =>
  new GatewayError(503, 'server_error', 'the gateway is shutting down: the call was cut at its shutdown deadline', {
    code: 'shutting_down',
    headers: { connection: 'close' },
  });

/** The status logged for a client that closed its connection before any answer (nginx's). */
const CLIENT_CLOSED = 499;

/** The gateway cannot start as configured (e.g. no keys on a public address). */
export class GatewayStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GatewayStartError';
  }
}

const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' } as const;
const SSE_HEADERS_CLOSING = { ...SSE_HEADERS, connection: 'close' } as const;

/** Resolves in the event loop's next check phase: after the I/O this turn started (a request written) has left. */
function afterIo(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function routeOf(path: string): Route | undefined {
  switch (path) {
    case '/v1/chat/completions':
    case '/chat/completions':
      return 'chat';
    case '/v1/embeddings':
    case '/embeddings':
      return 'embeddings';
    case '/v1/audio/speech':
    case '/audio/speech':
      return 'speech';
    case '/v1/audio/transcriptions':
    case '/audio/transcriptions':
      return 'transcriptions';
    case '/v1/models':
    case '/models':
      return 'models';
    case '/healthz':
    case '/readyz':
    case '/metrics':
      return 'ops';
    default:
      return MODEL_PATH.test(path) ? 'models' : undefined;
  }
}

/** `/v1/models/{id}` (or `/models/{id}`). */
const MODEL_PATH = /^(?:\/v1)?\/models\/(.+)$/;

/** The id in a `/v1/models/{id}` path, decoded; undefined for another path or a malformed escape. */
function modelIdOf(path: string): string | undefined {
  const match = MODEL_PATH.exec(path);
  if (!match) return undefined;
  try {
    return decodeURIComponent(match[1]!);
  } catch {
    return undefined;
  }
}

function methodNotAllowed(req: IncomingMessage, allowed: string): GatewayError {
  return new GatewayError(405, 'invalid_request_error', `${req.method} is not allowed here; use ${allowed}`, { code: 'method_not_allowed', headers: { allow: allowed } });
}

function validRequestId(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(value) ? value : undefined;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Client-facing text: the backends' URLs are the operator's business, not the caller's. */
function publicText(text: string): string {
  return text.replace(/\bhttps?:\/\/[^\s"')]+/g, '<upstream>');
}
