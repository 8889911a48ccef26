/** The version of this @aegis/core (kept in step with its package.json by a test). */
export const CORE_VERSION = '0.1.0';
