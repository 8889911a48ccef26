import { AegisError, hasCode } from './base.js';
import { OPERATION_CAPABILITIES, OPERATION_OF } from '../contract/capabilities.js';

/** The profile's provider does not offer the operation that was called. */
export class CapabilityNotSupportedError extends AegisError {
  readonly code = 'capability_not_supported' as const;

  constructor(
    readonly providerType: string,
    readonly profile: string,
    readonly operation: string,
  ) {
    super(`provider type "${providerType}" (profile "${profile}") does not support ${shownOperation(operation)}`);
  }

  static isInstance(value: unknown): value is CapabilityNotSupportedError {
    return hasCode(value, 'capability_not_supported');
  }
}

/** A method's capability, as `aegis plugins` and the gateway name it (`getEmbeddings` → `embeddings`). */
const CAPABILITY_OF_METHOD = new Map<string, string>(OPERATION_CAPABILITIES.map((capability) => [OPERATION_OF[capability], capability]));

/** An operation as a message names it: a method with its capability first (`embeddings (getEmbeddings)`), anything else as it is. */
function shownOperation(operation: string): string {
  const capability = CAPABILITY_OF_METHOD.get(operation);
  return capability === undefined ? operation : `${capability} (${operation})`;
}
