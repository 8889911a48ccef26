import { AegisError, hasCode, type AegisErrorOptions } from './base.js';

export type PluginErrorKind =
  | 'not_found'
  | 'load_failed'
  | 'incompatible_api'
  | 'duplicate_type'
  | 'invalid_plugin'
  | 'not_allowed';

export interface PluginErrorDetails extends AegisErrorOptions {
  kind: PluginErrorKind;
  /** The provider type concerned, when known. */
  type?: string;
  /** The package name(s) or local path(s) concerned. */
  packages?: string[];
}

/** A provider plugin could not be found, loaded or used. */
export class PluginError extends AegisError {
  readonly code = 'plugin' as const;
  readonly kind: PluginErrorKind;
  readonly type?: string;
  readonly packages: readonly string[];

  constructor(message: string, details: PluginErrorDetails) {
    super(message, details);
    this.kind = details.kind;
    this.type = details.type;
    this.packages = details.packages ?? [];
  }

  static isInstance(value: unknown): value is PluginError {
    return hasCode(value, 'plugin');
  }
}
