import { ProviderError, type ProviderErrorDetails } from './provider-error.js';

/** What an `InvalidToolArgumentsError` says about the call. */
export interface InvalidToolArgumentsDetails extends Omit<ProviderErrorDetails, 'reason'> {
  /** The tool the model called. */
  toolName: string;
  /** The call's id (the backend's, or the one core generated). */
  toolCallId?: string;
  /** The arguments exactly as the backend sent them. */
  rawArguments: string;
}

/**
 * The backend sent a tool call whose arguments are not a JSON object (the
 * chat APIs warn the model may produce invalid JSON). A `ProviderError`
 * with reason `invalid_tool_arguments`, not retryable by default, that keeps
 * the tool's name and the raw text so an agent can show it or ask again.
 * Recognised by `InvalidToolArgumentsError.isInstance` (marker, code and
 * reason), never by `instanceof`.
 */
export class InvalidToolArgumentsError extends ProviderError {
  readonly toolName: string;
  readonly toolCallId?: string;
  readonly rawArguments: string;

  constructor(message: string, details: InvalidToolArgumentsDetails) {
    super(message, { ...details, reason: 'invalid_tool_arguments', retryable: details.retryable ?? false });
    this.toolName = details.toolName;
    this.toolCallId = details.toolCallId;
    this.rawArguments = details.rawArguments;
  }

  static override isInstance(value: unknown): value is InvalidToolArgumentsError {
    return ProviderError.isInstance(value) && value.reason === 'invalid_tool_arguments';
  }
}
