export { AegisError, type AegisErrorCode, type AegisErrorOptions } from './base.js';
export { ConfigurationError, formatIssue, type ConfigIssue } from './configuration-error.js';
export { PluginError, type PluginErrorKind, type PluginErrorDetails } from './plugin-error.js';
export { CapabilityNotSupportedError } from './capability-error.js';
export {
  ProviderError,
  PlannerError,
  isRetryableStatus,
  type ProviderErrorDetails,
  type ProviderErrorReason,
} from './provider-error.js';
export { InvalidToolArgumentsError, type InvalidToolArgumentsDetails } from './tool-error.js';
export { StructuredOutputError, type StructuredOutputDetails, type StructuredOutputIssue } from './structured-output-error.js';
