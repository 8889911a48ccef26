export { loadConfig, parseConfigText } from './load-config.js';
export type { LoadConfigOptions, LoadedConfig, PluginSpec, RawProfile } from './types.js';
export { validateProfile, type ValidationResult } from './validate.js';
export {
  locateConfigFile,
  locateConfig,
  CONFIG_ENV_VAR,
  DEFAULT_CONFIG_FILE,
  type LocateConfigOptions,
  type ConfigLocation,
  type ConfigSource,
} from './locate.js';
export { loadEnvFile, mergeEnv, type LoadEnvFileOptions, type EnvFileValues } from './env-file.js';
export { interpolateString, missingVariableMessage, type InterpolationResult, type EnvLookup } from './interpolate.js';
export { parseYamlSource, readStructure, suggest, type YamlSource, type Position, type ConfigStructure } from './yaml-source.js';
export { formatFieldPath } from './yaml-values.js';
export { displayPath } from './paths.js';
export { validateSection, type RawSection, type SectionValidation } from './sections.js';
