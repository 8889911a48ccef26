/** Injection tokens of the services each AEGIS instance's container holds. */
export const TOKENS = {
  Options: Symbol.for('aegis.options'),
  Logger: Symbol.for('aegis.logger'),
  Secrets: Symbol.for('aegis.secrets'),
  Http: Symbol.for('aegis.http'),
  Cooldowns: Symbol.for('aegis.cooldowns'),
} as const;
