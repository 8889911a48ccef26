import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * The gateway's Prometheus metrics (prom-client: the de facto Node client),
 * in a registry of its own so two gateways in one process do not mix.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'route' | 'model' | 'status'>;
  readonly duration: Histogram<'route' | 'model'>;
  readonly firstDelta: Histogram<'model'>;
  readonly tokens: Counter<'model' | 'profile' | 'kind'>;
  readonly upstreamErrors: Counter<'profile' | 'reason'>;
  readonly rateLimited: Counter<'key' | 'limit'>;
  readonly inFlight: Gauge<'route'>;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    this.requests = new Counter({ name: 'aegis_gateway_requests_total', help: 'Requests answered, by route, public model and status', labelNames: ['route', 'model', 'status'], registers });
    this.duration = new Histogram({
      name: 'aegis_gateway_request_duration_seconds',
      help: 'Time from request to the end of the answer',
      labelNames: ['route', 'model'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.firstDelta = new Histogram({
      name: 'aegis_gateway_stream_first_delta_seconds',
      help: 'Time from request to the first streamed delta',
      labelNames: ['model'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.tokens = new Counter({ name: 'aegis_gateway_tokens_total', help: 'Tokens reported by the backends', labelNames: ['model', 'profile', 'kind'], registers });
    this.upstreamErrors = new Counter({ name: 'aegis_gateway_upstream_errors_total', help: 'Failed backend calls, by profile and reason', labelNames: ['profile', 'reason'], registers });
    this.rateLimited = new Counter({ name: 'aegis_gateway_rate_limited_total', help: 'Requests refused by a limit', labelNames: ['key', 'limit'], registers });
    this.inFlight = new Gauge({ name: 'aegis_gateway_in_flight_requests', help: 'Requests being answered', labelNames: ['route'], registers });
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'aegis_gateway_' });
  }

  // prom-client looks a label set up by hashing its object on every call; the gateway's label
  // sets are few (routes × models × statuses), so their children are kept, one Map lookup a call.
  private readonly children = new Map<string, { inc(value?: number): void; dec?(value?: number): void; observe?(value: number): void }>();

  private child<T>(kind: string, key: string, make: () => T): T {
    const id = `${kind}\u0000${key}`;
    let found = this.children.get(id) as T | undefined;
    if (found === undefined) {
      found = make();
      this.children.set(id, found as never);
    }
    return found;
  }

  /** The in-flight gauge of a route. */
  inFlightOf(route: string | undefined): { inc(): void; dec(): void } {
    return this.child('inflight', route ?? '', () => this.inFlight.labels({ route } as { route: string }));
  }

  /** Counts an answered request and observes its duration. */
  answered(route: string | undefined, model: string, status: number, seconds: number): void {
    const r = route as string;
    this.child('requests', `${route ?? ''}\u0000${model}\u0000${status}`, () => this.requests.labels({ route: r, model, status: String(status) })).inc();
    this.child('duration', `${route ?? ''}\u0000${model}`, () => this.duration.labels({ route: r, model })).observe!(seconds);
  }

  /** Observes a stream's time to its first delta. */
  firstDeltaOf(model: string, seconds: number): void {
    this.child('firstDelta', model, () => this.firstDelta.labels({ model })).observe!(seconds);
  }

  /** Counts tokens of one kind. */
  countTokens(model: string, profile: string, kind: 'prompt' | 'completion', value: number): void {
    this.child('tokens', `${model}\u0000${profile}\u0000${kind}`, () => this.tokens.labels({ model, profile, kind })).inc(value);
  }
}
