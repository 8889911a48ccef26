/**
 * Cooldowns shared between processes that serve the same configuration.
 *
 * A plugin may take something out of use for a while after it kept failing (the
 * router skips a member profile for its `cooldown`). By default that state
 * lives in the provider, in one process. An application that runs several
 * replicas of one backends.yaml (a gateway behind a load balancer) passes a
 * `SharedCooldowns` (`createAegis({ sharedCooldowns })` or
 * `aegis.shareCooldowns(...)`), and a plugin reads it from its context
 * (`context.sharedCooldowns`, absent with an older core): what one replica
 * starts, the others apply too.
 *
 * - Keys are chosen by the plugin that announces them: stable across replicas
 *   (made of profile names, never of URLs or credentials), and prefixed with the
 *   plugin's own namespace (`router:...`).
 * - Durations travel, not instants: replicas' clocks need not agree.
 * - Both methods return at once and never throw: a plugin's choice stays
 *   synchronous and in memory; when the shared store cannot be reached, a
 *   cooldown applies in the process that started it only.
 */
export interface SharedCooldowns {
  /** `key` is cooling down for the next `ms` milliseconds (a longer cooldown already running is kept). */
  announce(key: string, ms: number): void;
  /**
   * Calls `listener` for each cooldown still running that this object knows of
   * (before `subscribe` returns), then for each one announced from then on:
   * by another replica, or here (two AEGIS instances of one process on one
   * board, as during a gateway's reload). Returns the function that ends the
   * subscription.
   */
  subscribe(listener: CooldownListener): () => void;
}

/** `key` is cooling down for `ms` more milliseconds from now (apply the longer of this and what you have). */
export type CooldownListener = (key: string, ms: number) => void;
