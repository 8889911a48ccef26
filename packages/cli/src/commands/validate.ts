import { ConfigurationError, displayPath, looksLikeCredential, type Aegis, type ConfigIssue, type ProfileSummary } from '@aegis/core';
import type { CommandContext } from '../context.js';
import { formatIssueLine } from '../errors.js';

export interface ValidateOptions {
  /** false with --no-import: profiles are checked against the schemas plugins ship; no plugin code runs. */
  import?: boolean;
  /** --strict / --no-strict; unset: strict when the environment says CI (`CI=true`). */
  strict?: boolean;
}

/** Whether an unset variable is an error: `--strict`, or on CI unless `--no-strict`. */
export function isStrict(options: ValidateOptions, env: Record<string, string | undefined>): boolean {
  if (options.strict !== undefined) return options.strict;
  const ci = (env.CI ?? '').trim().toLowerCase();
  return ci !== '' && ci !== '0' && ci !== 'false';
}

/**
 * `aegis validate`: every problem of the configuration, one per line, then a
 * summary; exit 1 when there is any. A secret whose `${VAR}` is simply not set
 * in this environment (a key you have not exported) is not a problem of the
 * file: it is a warning ("not usable here: set OPENAI_API_KEY") and exit 0,
 * unless `--strict` (or CI=true) makes it an error. Secret fields: those the
 * plugin marks secret, and credential-named ones (`api_key`, `token`, ...);
 * with --no-import, only the credential-named ones. An unset variable in any
 * other field (a URL, a type) stays an error.
 */
export async function run(ctx: CommandContext, options: ValidateOptions = {}): Promise<number> {
  const aegis = await ctx.aegis();
  const withCode = options.import !== false;
  const strict = isStrict(options, ctx.env);
  let issues: readonly ConfigIssue[];
  let profiles: ProfileSummary[] = [];
  let count = 0;
  let file: string | undefined;
  try {
    file = displayPath(aegis.configFile, ctx.cwd);
    if (withCode) profiles = await aegis.profiles();
    count = withCode ? profiles.length : aegis.profileNames().length;
    issues = await aegis.validate({ importPlugins: withCode });
    issues = [...issues, ...(await gatewayIssues(aegis, withCode))];
  } catch (error) {
    // A config file that is missing or cannot be parsed: its problems are reported like any other,
    // and the summary names the file they are in (a syntax error's backends.yaml, a .env that is not UTF-8).
    if (!ConfigurationError.isInstance(error)) throw error;
    issues = error.issues;
    // Issues name files as the messages show them already.
    file = issues.find((issue) => issue.file !== undefined)?.file;
  }
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  const secretFields = new Map(profiles.map((p) => [p.name, new Set(p.secretFields)]));
  const isSecret = (issue: ConfigIssue): boolean => {
    if (issue.profile === undefined && GATEWAY_KEY_FIELD.test(issue.field ?? '')) return true;
    const key = issue.field?.split(/[.[]/)[0];
    if (key === undefined || issue.profile === undefined) return false;
    return looksLikeCredential(key) || secretFields.get(issue.profile)?.has(key) === true;
  };
  const unset = strict ? [] : issues.filter((issue) => issue.variable !== undefined && isSecret(issue));
  const problems = issues.filter((issue) => !unset.includes(issue));
  // A problem in no file (no config file at all) reads like every other message of the CLI.
  for (const issue of problems) ctx.out.line(issue.file === undefined ? `aegis: ${formatIssueLine(issue)}` : formatIssueLine(issue));
  for (const issue of unset) ctx.out.line(`warning: ${formatIssueLine({ ...issue, message: notUsableHere(issue) })}`);
  const variables = [...new Set(unset.map((issue) => issue.variable!))];
  const notHere = new Set(unset.map((issue) => issue.profile).filter((p) => p !== undefined));
  const gatewayNotHere = unset.some((issue) => issue.profile === undefined);
  const unusableHere = [notHere.size > 0 ? String(notHere.size) : '', gatewayNotHere ? 'the gateway' : ''].filter(Boolean).join(' and ');
  const unsetNote =
    variables.length > 0
      ? `; ${unusableHere} not usable here until ${variables.join(', ')} ${variables.length === 1 ? 'is' : 'are'} set (--strict makes that an error)`
      : '';
  if (problems.length === 0) {
    const verdict = variables.length > 0 ? `${plural(count, 'profile')}, no problems` : `${plural(count, 'profile')} OK`;
    ctx.out.line(`${file}: ${verdict}${withCode ? '' : ' (checked against the schemas plugins ship)'}${unsetNote}`);
    return 0;
  }
  const unusable = profiles.filter((p) => !p.usable).length;
  const detail = profiles.length > 0 ? ` (${unusable} of ${plural(profiles.length, 'profile')} unusable)` : '';
  ctx.out.line(`${file ?? 'aegis'}: ${plural(problems.length, 'problem')}${detail}${unsetNote}`);
  return 1;
}

/** A gateway key (`gateway.keys[0].key`): a secret whose unset variable is a warning, as a profile's key. */
const GATEWAY_KEY_FIELD = /^gateway\.keys\[\d+\]\.key$/;

/**
 * The problems of the file's `gateway:` section, checked as `aegis serve`
 * checks it (its fields, keys written in clear, models naming no profile),
 * when the file has one; the gateway's package is loaded only then.
 */
async function gatewayIssues(aegis: Aegis, importPlugins: boolean): Promise<readonly ConfigIssue[]> {
  if (!aegis.configSection('gateway')) return [];
  const { loadGatewaySettings } = await import('@aegis/gateway');
  try {
    await loadGatewaySettings(aegis, { importPlugins });
    return [];
  } catch (error) {
    if (ConfigurationError.isInstance(error)) return error.issues;
    throw error;
  }
}

/** `not usable here: set OPENAI_API_KEY (in the environment or in a .env file beside backends.yaml)` */
function notUsableHere(issue: ConfigIssue): string {
  const where = /\(set it (in [^)]*)\)\s*$/.exec(issue.message)?.[1] ?? 'in the environment or in a .env file';
  return `not usable here: set ${issue.variable} (${where})`;
}
