import { BaseBackendConfig, z } from '@aegis/core';

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
};

/** `type: fallback`: try the members in order until one answers. */
export const FallbackConfig = BaseBackendConfig.extend({
  type: z.literal('fallback'),
  ...compositeFields,
});
export type FallbackConfig = z.infer<typeof FallbackConfig>;

export const BALANCE_STRATEGIES = ['round_robin', 'least_in_flight'] as const;
export type BalanceStrategy = (typeof BALANCE_STRATEGIES)[number];

/** `type: balance`: spread calls over replicas, taking failing ones out of rotation for a while. */
export const BalanceConfig = BaseBackendConfig.extend({
  type: z.literal('balance'),
  ...compositeFields,
  strategy: z.enum(BALANCE_STRATEGIES).default('round_robin').describe('How the next replica is chosen'),
  cooldown: z
    .number()
    .min(0)
    .default(30)
    .describe('Seconds a replica that failed with a retryable error stays out of rotation'),
});
export type BalanceConfig = z.infer<typeof BalanceConfig>;
