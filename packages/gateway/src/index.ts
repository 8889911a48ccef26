/**
 * @aegis/gateway: an OpenAI-compatible HTTP gateway over the profiles of an
 * AEGIS instance (`aegis serve`, or `createGateway(aegis)` in an application).
 */
export { createGateway, GatewayStartError, type Gateway, type GatewayOptions, type ListenOptions } from './gateway.js';
export { gatewaySectionSchema, loadGatewaySettings, refusalToListen, isLoopback, type GatewaySection, type GatewaySettings, type KeySpec, type Limits } from './config.js';
export { GatewayError, type OpenAIErrorBody } from './errors.js';
export { MemoryLimitStore, type LimitStore } from './limits/store.js';
export { RedisLimitStore, type RedisLimitStoreOptions } from './limits/redis-store.js';
export { RedisCooldowns, type RedisCooldownsOptions } from './limits/redis-cooldowns.js';
export { Limiter, WINDOW_MS, type Permit } from './limits/limiter.js';
export { GatewayMetrics } from './metrics.js';
export type { AccessLogEntry, AccessLogSink } from './access-log.js';
