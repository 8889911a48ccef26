import { BaseBackendConfig, z } from '@aegis/core';
import { DEFAULT_FALLBACK_ON, FallbackOnEntry } from './fallback-on.js';

/** The member profiles of a composite profile: names of other profiles in the same backends.yaml. */
const MemberProfiles = z
  .array(z.string().min(1))
  .min(1)
  .superRefine((names, ctx) => {
    names.forEach((name, index) => {
      if (names.indexOf(name) !== index) {
        ctx.addIssue({ code: 'custom', path: [index], message: `profile "${name}" is listed more than once` });
      }
    });
  });

/** Fields every composite profile has, on top of BaseBackendConfig. */
const compositeFields = {
  profiles: MemberProfiles.describe('Names of the member profiles, in order'),
  max_retries: z
    .number()
    .int()
    .min(0)
    .max(20)
    .default(0)
    .describe('Retries of the whole composite call; members already retry per their own profile'),
  idle_timeout: z
    .number()
    .positive()
    .optional()
    .describe('Idle timeout handed to every member; by default each member keeps its own'),
  fallback_on: z
    .array(FallbackOnEntry)
    .min(1)
    .default([...DEFAULT_FALLBACK_ON])
    .describe(
      'Failures that move a call on to the next member: connection, timeout, rate_limit, server_error, not_found, truncated, auth, bad_request, bad_response, or an HTTP status (400-599)',
    ),
};

/** How long a member that keeps failing is skipped; `cooldown_after` failures in a row start it. */
function cooldownFields(after: number) {
  return {
    cooldown: z
      .number()
      .min(0)
      .default(30)
      .describe('Seconds a member that keeps failing (connection, timeout, 429, 5xx) is skipped (0: never)'),
    cooldown_after: z
      .number()
      .int()
      .min(1)
      .max(100)
      .default(after)
      .describe('Failed calls in a row that start a member\'s cooldown'),
  };
}

/** `type: fallback`: try the members in order until one answers. */
export const FallbackConfig = BaseBackendConfig.extend({
  type: z.literal('fallback'),
  ...compositeFields,
  ...cooldownFields(2),
});
export type FallbackConfig = z.infer<typeof FallbackConfig>;

export const BALANCE_STRATEGIES = ['round_robin', 'least_in_flight'] as const;
export type BalanceStrategy = (typeof BALANCE_STRATEGIES)[number];

/** `type: balance`: spread calls over replicas, taking failing ones out of rotation for a while. */
export const BalanceConfig = BaseBackendConfig.extend({
  type: z.literal('balance'),
  ...compositeFields,
  strategy: z.enum(BALANCE_STRATEGIES).default('round_robin').describe('How the next replica is chosen'),
  ...cooldownFields(1),
});
export type BalanceConfig = z.infer<typeof BalanceConfig>;
