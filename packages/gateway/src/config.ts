/**
 * The `gateway:` section of backends.yaml: its schema (owned here, not by
 * core), the checks that need the rest of the file (profile names, keys from
 * the environment), and the settings the server runs with.
 */
import { createHash } from 'node:crypto';
import { ConfigurationError, formatIssue, validateSection, z, type Aegis, type ConfigIssue, type RawSection } from '@aegis/core';
import type { CorsSettings } from './cors.js';

export const SECTION = 'gateway';

const positiveInt = z.number().int().positive();

const limitFields = {
  /** Requests per minute (sliding window). */
  requests_per_minute: positiveInt.optional(),
  /** Prompt + completion tokens per minute (sliding window; checked before a call, counted after). */
  tokens_per_minute: positiveInt.optional(),
  /** Calls in flight at once, per replica. */
  max_concurrent: positiveInt.optional(),
};

const keySchema = z.object({
  /** Shown in logs and metrics instead of the key. */
  name: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a key name is 1-64 letters, digits, "_", "." or "-"'),
  /** `${VAR}`: the key itself comes from .env or the environment, never from this file. */
  key: z.string().min(16, 'a gateway key must be at least 16 characters long'),
  /** Public model names this key may use (default: all). */
  models: z.array(z.string().min(1)).optional(),
  ...limitFields,
});

/** What a browser sends as `Origin`: scheme, host and port, nothing more (a path or a trailing "/" would never match). */
const origin = z
  .string()
  .regex(/^https?:\/\/[^/?#\s]+$/i, 'an origin such as "https://app.example.com" (scheme://host[:port], no path, no trailing "/"; for any origin write origins: "*")');

const corsSchema = z.object({
  /** Browser origins that may call the gateway; "*": any (keys still apply). */
  origins: z.union([z.literal('*'), z.array(origin).min(1)]),
  /** Seconds a browser may reuse a preflight's answer. */
  max_age: z.number().int().nonnegative().default(600),
});

export const gatewaySectionSchema = z.object({
  /** Public model name → profile. Default: every usable profile under its own name. */
  models: z.record(z.string().min(1), z.string().min(1)).optional(),
  /** Who may call; none: no authentication (only allowed on a loopback address). */
  keys: z.array(keySchema).optional(),
  /** Limits every key gets unless it sets its own. */
  default_limits: z.object(limitFields).optional(),
  /** Shared state (rate-limit counters, upstream cooldowns) for several replicas. */
  redis_url: z.string().regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL').optional(),
  redis_prefix: z.string().min(1).default('aegis:gateway:'),
  /** Largest request body accepted, in bytes (transcription uploads included). */
  max_body_bytes: positiveInt.default(25 * 1024 * 1024),
  /** Seconds in-flight calls get to finish on SIGTERM before they are cut. */
  shutdown_timeout: z.number().positive().default(30),
  /** Answers for browser apps (preflights, Access-Control-Allow-Origin); none: no CORS headers at all. */
  cors: corsSchema.optional(),
});

export type GatewaySection = z.output<typeof gatewaySectionSchema>;

export interface Limits {
  requestsPerMinute?: number;
  tokensPerMinute?: number;
  maxConcurrent?: number;
}

export interface KeySpec {
  name: string;
  /** SHA-256 of the key: what requests are compared against (in constant time). */
  digest: Buffer;
  /** Public model names it may use; undefined: all. */
  models?: ReadonlySet<string>;
  limits: Limits;
}

export interface GatewaySettings {
  /** Public model name → profile, in the order they are listed. */
  models: ReadonlyMap<string, string>;
  keys: readonly KeySpec[];
  redisUrl?: string;
  redisPrefix: string;
  maxBodyBytes: number;
  shutdownTimeoutMs: number;
  /** CORS for browser apps; undefined: none. */
  cors?: CorsSettings;
  /** Profiles left out because they are not usable (and the public name they were to be served under, when the section named one). */
  skipped: { profile: string; model?: string; reason: string }[];
  /** Values to scrub from every output (keys, the Redis URL's password). */
  secrets: string[];
}

export function digestOf(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/**
 * Reads and checks the `gateway:` section of the instance's backends.yaml.
 * Throws a ConfigurationError with every problem (file:line each). Imports
 * the plugins (to tell which profiles are usable), unless `importPlugins` is
 * false (`aegis validate --no-import`): then every profile the file names
 * counts as usable.
 */
export async function loadGatewaySettings(aegis: Aegis, { importPlugins = true }: { importPlugins?: boolean } = {}): Promise<GatewaySettings> {
  // Reading the section loads the file: a YAML syntax error throws here.
  const raw = aegis.configSection(SECTION);
  const issues: ConfigIssue[] = [];
  let section: GatewaySection = gatewaySectionSchema.parse({});
  // Reported with the section's other problems, also when one of its fields (an unset variable) stops the checks below.
  const inClear = raw ? keysInClear(raw) : [];
  if (raw) {
    const validated = validateSection(raw, gatewaySectionSchema);
    if (validated.ok) section = validated.config;
    else issues.push(...validated.issues, ...inClear);
  }
  if (issues.length > 0) throw new ConfigurationError(issues);
  issues.push(...inClear);

  const summaries = importPlugins ? await aegis.profiles() : aegis.profileNames().map((name) => ({ name, usable: true, issues: [] }));
  const usable = new Map(summaries.map((p) => [p.name, p]));
  const skipped: GatewaySettings['skipped'] = [];
  const models = new Map<string, string>();
  if (section.models) {
    for (const [publicName, profile] of Object.entries(section.models)) {
      const summary = usable.get(profile);
      if (!summary) {
        issues.push(at(raw!, ['models', publicName], `no profile named "${profile}"; profiles in this file: ${[...usable.keys()].join(', ') || '(none)'}`));
        continue;
      }
      // Not usable (an unset key, say): left out, as without a models: section, rather than listed and failing every call.
      if (summary.usable) models.set(publicName, profile);
      else skipped.push({ profile, model: publicName, reason: firstProblem(summary) });
    }
  } else {
    for (const summary of summaries) {
      if (summary.usable) models.set(summary.name, summary.name);
      else skipped.push({ profile: summary.name, reason: firstProblem(summary) });
    }
  }

  const secrets: string[] = [];
  const keys: KeySpec[] = [];
  const names = new Set<string>();
  const digests = new Set<string>();
  (section.keys ?? []).forEach((key, index) => {
    secrets.push(key.key);
    if (names.has(key.name)) issues.push(at(raw!, ['keys', index, 'name'], `duplicate key name "${key.name}"`));
    names.add(key.name);
    const digest = digestOf(key.key);
    if (digests.has(digest.toString('hex'))) issues.push(at(raw!, ['keys', index, 'key'], `key "${key.name}" has the same value as another key`));
    digests.add(digest.toString('hex'));
    (key.models ?? []).forEach((model, m) => {
      if (!models.has(model)) issues.push(at(raw!, ['keys', index, 'models', m], `unknown model "${model}"; served models: ${[...models.keys()].join(', ') || '(none)'}`));
    });
    const defaults = section.default_limits ?? {};
    keys.push({
      name: key.name,
      digest,
      models: key.models ? new Set(key.models) : undefined,
      limits: {
        requestsPerMinute: key.requests_per_minute ?? defaults.requests_per_minute,
        tokensPerMinute: key.tokens_per_minute ?? defaults.tokens_per_minute,
        maxConcurrent: key.max_concurrent ?? defaults.max_concurrent,
      },
    });
  });
  if (issues.length > 0) throw new ConfigurationError(issues);

  if (section.redis_url) {
    try {
      const password = new URL(section.redis_url).password;
      if (password) secrets.push(decodeURIComponent(password));
    } catch {
      /* the schema checked the scheme; a URL that does not parse fails at connect time */
    }
  }
  return {
    models,
    keys,
    redisUrl: section.redis_url,
    redisPrefix: section.redis_prefix,
    maxBodyBytes: section.max_body_bytes,
    shutdownTimeoutMs: section.shutdown_timeout * 1000,
    cors: section.cors && corsSettingsOf(section.cors),
    skipped,
    secrets,
  };
}

/**
 * A key must come whole from one `${VAR}`: written in clear it would sit in a
 * file that is often committed. Read from the section as written, so it is
 * found whatever else is wrong with the section.
 */
function keysInClear(raw: RawSection): ConfigIssue[] {
  const keys = (raw.values as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) return [];
  return keys.flatMap((entry: unknown, index) => {
    const { name, key } = (entry ?? {}) as { name?: unknown; key?: unknown };
    if (typeof key !== 'string' || key === '' || raw.substitutedValues.includes(key)) return [];
    const variable = `AEGIS_GATEWAY_KEY${typeof name === 'string' && name ? `_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}` : ''}`;
    return [at(raw, ['keys', index, 'key'], `write the key as a reference, e.g. key: \${${variable}}, and set that variable in .env or the environment; a key is never written in backends.yaml`)];
  });
}

function corsSettingsOf(cors: NonNullable<GatewaySection['cors']>): CorsSettings {
  return { origins: cors.origins === '*' ? '*' : new Set(cors.origins.map((o) => o.toLowerCase())), maxAgeSeconds: cors.max_age };
}

function at(section: RawSection, path: (string | number)[], message: string): ConfigIssue {
  const pos = section.locate(path) ?? section.locate(path.slice(0, -1)) ?? { line: section.line };
  const field = path.reduce<string>((out, p) => (typeof p === 'number' ? `${out}[${p}]` : `${out}.${p}`), section.name);
  return { file: section.file, ...pos, field, message };
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost', '::ffff:127.0.0.1']);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Why the gateway must not listen on `host` with these settings, if it must not. */
export function refusalToListen(host: string, settings: GatewaySettings, configFile: string): string | undefined {
  if (settings.keys.length > 0 || isLoopback(host)) return undefined;
  return (
    `refusing to listen on ${host} without keys: anyone who reaches it could use every backend. ` +
    `Add keys to the "gateway:" section of ${configFile}, e.g.\n` +
    `  gateway:\n    keys:\n      - name: my-app\n        key: \${AEGIS_GATEWAY_KEY}\n` +
    `and set AEGIS_GATEWAY_KEY (at least 16 characters, e.g. from \`openssl rand -hex 24\`) in .env or the environment; ` +
    `or listen on 127.0.0.1 only.`
  );
}

/** What makes a profile unusable, with the field it is about (`field "api_key": ...`; the log line names the profile). */
function firstProblem(summary: { issues: readonly ConfigIssue[] }): string {
  const issue = summary.issues[0];
  return issue ? formatIssue({ field: issue.field, message: issue.message }) : 'unusable';
}
