import path from 'node:path';
import { ConfigurationError, type ConfigIssue } from '../errors/index.js';
import { loadEnvFile, mergeEnv } from './env-file.js';
import { isModelSetting, isPlainSubstitution } from '../secrets/secret-fields.js';
import { ExpansionBudget, MAX_CONFIG_FILE_BYTES } from './limits.js';
import { defaultEnvFileLabel } from './interpolate.js';
import { locateConfigFile } from './locate.js';
import { displayPath } from './paths.js';
import { sortIssues } from './sort-issues.js';
import { readLimitedFile, tooLargeMessage } from './read-limited.js';
import type { LoadConfigOptions, LoadedConfig, PluginSpec, RawProfile } from './types.js';
import { parseYamlSource, readStructure } from './yaml-source.js';
import { readSection } from './sections.js';
import { HTTP_SECTION, readHttpSection } from './http-section.js';
import { convertNode, pathKey, type Substitution } from './yaml-values.js';

export type { LoadConfigOptions, LoadedConfig, PluginSpec, RawProfile } from './types.js';

/**
 * Finds, reads and parses `backends.yaml` and its env file.
 *
 * Throws a {@link ConfigurationError} when the config file (or an explicit env
 * file) is missing or unreadable, and for YAML syntax errors (all of them at
 * once). Everything else is returned as issues: file-level ones in
 * `issues`, profile-level ones in each profile's `issues`.
 */
export function loadConfig(options: LoadConfigOptions = {}): LoadedConfig {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const processEnv = options.env ?? process.env;
  const file = locateConfigFile({ configPath: options.configPath, cwd, env: processEnv });
  const envFile = loadEnvFile({ envFile: options.envFile, configFile: file, cwd, env: processEnv });
  const env = mergeEnv(processEnv, envFile.values);
  const shown = displayPath(file, cwd);

  const text = readLimitedFile(file, MAX_CONFIG_FILE_BYTES, shown);

  const envFileLabel = envFile.file ? displayPath(envFile.file, cwd) : defaultEnvFileLabel(path.basename(file));
  const loaded = parseSource(text, { file, displayFile: shown, env, envFileLabel });
  if (envFile.file) loaded.envFile = envFile.file;
  // Every value of the env file is a secret (it is where secrets live), but a model name (secrets/secret-fields.ts).
  const secretValues = Object.entries(envFile.values).filter(([name, value]) => value !== '' && !isModelSetting(name, value));
  loaded.envFileValues = [...new Set(secretValues.map(([, value]) => value))];
  return loaded;
}

/**
 * Parses config text without touching the disk. `file` is the name used in
 * messages (and resolved against the working directory for `LoadedConfig.file`);
 * `env` is the environment `${VAR}` references resolve against; `envFileLabel`
 * names where else a missing variable could be set.
 */
export function parseConfigText(
  text: string,
  file: string,
  env: Record<string, string | undefined>,
  envFileLabel?: string,
): LoadedConfig {
  if (text.length > MAX_CONFIG_FILE_BYTES) throw new ConfigurationError(tooLargeMessage(file, MAX_CONFIG_FILE_BYTES));
  return parseSource(text, {
    file: path.resolve(file),
    displayFile: file,
    env,
    envFileLabel: envFileLabel ?? defaultEnvFileLabel(path.basename(file)),
  });
}

interface SourceOptions {
  file: string;
  displayFile: string;
  env: Record<string, string | undefined>;
  envFileLabel: string;
}

function parseSource(text: string, options: SourceOptions): LoadedConfig {
  const source = parseYamlSource(text, options.displayFile);
  const structure = readStructure(source, options.env);
  // One budget for the whole file: an alias bomb spread over many profiles is stopped all the same.
  const budget = new ExpansionBudget();
  const baseDir = path.dirname(options.file);
  // Every `${VAR}` of the file, with the field it went into: the values that may be secrets are learnt (substitutedSecrets).
  const substitutions: Substitution[] = [];

  const toSpec = (p: { spec: string; line: number }): PluginSpec => ({ spec: p.spec, file: options.displayFile, line: p.line, baseDir });
  const plugins = structure.plugins.map(toSpec);
  const allowPlugins = structure.allowPlugins?.map(toSpec);

  const profiles: RawProfile[] = structure.profiles.map((node) => {
    const converted = convertNode(source, node.node, {
      env: options.env,
      envFileLabel: options.envFileLabel,
      profile: node.name,
      budget,
      substitutions,
    });
    const issues: ConfigIssue[] = [...node.issues, ...converted.issues];
    const { fieldPositions, valuePositions } = converted;
    return {
      name: node.name,
      type: node.type,
      // Always a mapping (readStructure only passes mappings): a value left unexpanded is null, never the profile.
      values: (converted.value ?? {}) as Record<string, unknown>,
      file: options.displayFile,
      line: node.line,
      locate(fieldPath) {
        if (fieldPath.length === 0) return { line: node.line, column: node.column };
        const key = pathKey(fieldPath);
        const pos = fieldPositions.get(key) ?? valuePositions.get(key);
        return pos ? { line: pos.line, column: pos.column } : undefined;
      },
      issues: sortIssues(issues),
      substitutedValues: [...new Set(converted.substitutedValues)],
    };
  });

  const sections = Object.fromEntries(
    structure.sections.map((entry) => [entry.name, readSection(source, entry, { env: options.env, envFileLabel: options.envFileLabel, substitutions })]),
  );
  const http = sections[HTTP_SECTION] ? readHttpSection(sections[HTTP_SECTION]) : undefined;
  return {
    file: options.file,
    displayFile: options.displayFile,
    envFileValues: [],
    substitutedSecrets: substitutedSecrets(substitutions),
    plugins,
    allowPlugins,
    profiles,
    sections,
    http,
    issues: sortIssues([...structure.issues, ...(http?.issues ?? [])]),
  };
}

/**
 * The substituted values that may be secrets: all but those that are clearly
 * settings where they are used (a model's name, a host: `isPlainSubstitution`).
 * A value used both ways is a secret.
 */
function substitutedSecrets(substitutions: readonly Substitution[]): string[] {
  const secrets = new Set<string>();
  for (const { variable, value, field } of substitutions) {
    if (value.trim() !== '' && !isPlainSubstitution(variable, value, field)) secrets.add(value);
  }
  return [...secrets];
}
