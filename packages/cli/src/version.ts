/** The version of @aegis/cli (kept in step with its package.json by a test). */
export const CLI_VERSION = '0.1.0';
