import { ProviderError, type ProviderErrorDetails } from './provider-error.js';

/** One way the answer misses the schema: where (a JSON pointer, `''` for the whole) and what. */
export interface StructuredOutputIssue {
  path: string;
  message: string;
}

/** What a `StructuredOutputError` keeps. */
export interface StructuredOutputDetails extends Omit<ProviderErrorDetails, 'reason'> {
  /** The answer exactly as the backend sent it. */
  text: string;
  /** What is wrong with it: not JSON at all (one issue at `''`), or each place it misses the schema. */
  issues: StructuredOutputIssue[];
}

/**
 * A completion asked for JSON (`responseFormat: { type: 'json', schema? }`)
 * got an answer that is not JSON, or JSON that does not match the schema. A
 * `ProviderError` with reason `invalid_structured_output`, not retryable by
 * default (a router's fallback tries the next member for it only when its
 * `fallback_on` says so). Keeps the raw text and the issues. Recognised by
 * `StructuredOutputError.isInstance` (marker, code and reason), never by
 * `instanceof`.
 */
export class StructuredOutputError extends ProviderError {
  readonly text: string;
  readonly issues: StructuredOutputIssue[];

  constructor(message: string, details: StructuredOutputDetails) {
    super(message, { ...details, reason: 'invalid_structured_output', retryable: details.retryable ?? false });
    this.text = details.text;
    this.issues = details.issues;
  }

  static override isInstance(value: unknown): value is StructuredOutputError {
    return ProviderError.isInstance(value) && value.reason === 'invalid_structured_output';
  }
}
