import { AegisError, hasCode } from './base.js';

/** The profile's provider does not offer the operation that was called. */
export class CapabilityNotSupportedError extends AegisError {
  readonly code = 'capability_not_supported' as const;

  constructor(
    readonly providerType: string,
    readonly profile: string,
    readonly operation: string,
  ) {
    super(`provider type "${providerType}" (profile "${profile}") does not support ${operation}`);
  }

  static isInstance(value: unknown): value is CapabilityNotSupportedError {
    return hasCode(value, 'capability_not_supported');
  }
}
