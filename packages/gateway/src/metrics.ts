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
}
