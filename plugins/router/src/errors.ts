import { AegisError, CapabilityNotSupportedError, ProviderError } from '@aegis/core';

/** One member's failure inside a composite call. */
export interface MemberFailure {
  /** The member profile's name. */
  readonly profile: string;
  /** What it threw: usually a ProviderError labelled with the member profile, or a CapabilityNotSupportedError. */
  readonly error: unknown;
}

/**
 * Every member a composite profile tried failed (each with a retryable error
 * or by not supporting the operation). A ProviderError, so `ProviderError.isInstance`
 * recognises it; besides:
 *
 * - `attempts`: each tried member and what it threw, in the order they were tried;
 * - `retryable`, `status`, `retryAfterMs`, `reason`: those of the last ProviderError among them;
 * - `cause`: the last member's error;
 * - the message has one clause per member: `"a": POST … failed with HTTP 503 …; "b": … connection refused …`.
 *
 * Recognise it with `MembersFailedError.isInstance(e)` (never `instanceof`).
 */
export class MembersFailedError extends ProviderError {
  readonly attempts: readonly MemberFailure[];

  constructor(message: string, attempts: readonly MemberFailure[]) {
    const last = [...attempts].reverse().find((a) => ProviderError.isInstance(a.error))?.error as ProviderError | undefined;
    super(message, {
      cause: attempts.at(-1)?.error,
      retryable: last?.retryable ?? false,
      status: last?.status,
      retryAfterMs: last?.retryAfterMs,
      reason: last?.reason ?? 'bad_response',
    });
    this.attempts = attempts;
  }

  /** True for a MembersFailedError from any installed copy of this plugin. */
  static override isInstance(value: unknown): value is MembersFailedError {
    return ProviderError.isInstance(value) && Array.isArray((value as { attempts?: unknown }).attempts);
  }
}

/** What a member's failure says, without the `profile "x" (type): ` prefix core puts on it. */
export function describeFailure(failure: MemberFailure): string {
  const { error } = failure;
  if (CapabilityNotSupportedError.isInstance(error)) return `does not support ${error.operation}`;
  if (ProviderError.isInstance(error) && error.profile !== undefined) {
    const prefix = `profile "${error.profile}" (${error.providerType}): `;
    return error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
  }
  if (AegisError.isAegisError(error) || error instanceof Error) return error.message;
  return String(error);
}

/** `"a": HTTP 503 …; "b": connection refused …` */
export function describeFailures(failures: readonly MemberFailure[]): string {
  return failures.map((f) => `"${f.profile}": ${describeFailure(f)}`).join('; ');
}
