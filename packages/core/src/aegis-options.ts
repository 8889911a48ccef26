import type { Logger, LogLevel } from './contract/logger.js';
import type { HttpClientOptions } from './http/client.js';
import type { AegisPlugin } from './plugins/define-plugin.js';
import type { SharedCooldowns } from './contract/shared-cooldowns.js';

export interface AegisOptions {
  /** Path of backends.yaml; else `AEGIS_BACKENDS`, else `./backends.yaml`. */
  configPath?: string;
  /** Path of the .env file; else `.env` beside backends.yaml. */
  envFile?: string;
  /** Working directory: where `./backends.yaml` and the application's package.json are looked for. */
  cwd?: string;
  /** Environment used for `${VAR}` (default `process.env`). */
  env?: Record<string, string | undefined>;
  /** Plugins passed in code (for bundlers, or to override an installed one). */
  plugins?: AegisPlugin[];
  /**
   * Plugin packages one can install, by the provider type each provides
   * (`{ acme: 'aegis-provider-acme' }`). Only used to explain an unknown
   * type: when it is one of these (or close to one), the message names the
   * package to install. Core names no package of its own; the `aegis` CLI
   * passes its catalog of the first-party plugins.
   */
  knownPlugins?: Readonly<Record<string, string>>;
  /** Skip discovery of installed plugin packages (only `plugins` and `plugins:` in backends.yaml). */
  discover?: boolean;
  /** How long importing one plugin may take before it fails with a PluginError (default 20 s; also `AEGIS_PLUGIN_IMPORT_TIMEOUT_MS`). */
  pluginImportTimeoutMs?: number;
  logger?: Logger;
  /** Level of the default logger (default from `AEGIS_LOG_LEVEL`, else `warn`). */
  logLevel?: LogLevel;
  /** The connection pool: comes before the `http:` section of backends.yaml. */
  http?: HttpClientOptions;
  /**
   * Defaults for the connection pool that the `http:` section of backends.yaml
   * may change (`http` above overrides both): what an application suits (a
   * gateway, many streams at once), the file's operator can still set.
   */
  httpDefaults?: HttpClientOptions;
  /**
   * Cooldowns shared with other processes serving the same configuration
   * (replicas behind a load balancer): providers that cool something down
   * announce it here and apply what the others announce. Default: each
   * process keeps its own. Can also be attached later: `aegis.shareCooldowns`.
   */
  sharedCooldowns?: SharedCooldowns;
}
