import { ConfigurationError, displayPath, type ConfigIssue, type ProfileSummary } from '@aegis/core';
import type { CommandContext } from '../context.js';
import { formatIssueLine } from '../errors.js';

export interface ValidateOptions {
  /** false with --no-import: profiles are checked against the schemas plugins ship; no plugin code runs. */
  import?: boolean;
}

/** `aegis validate`: every problem of the configuration, one per line, then a summary; exit 1 when there is any. */
export async function run(ctx: CommandContext, options: ValidateOptions = {}): Promise<number> {
  const aegis = await ctx.aegis();
  const withCode = options.import !== false;
  let issues: readonly ConfigIssue[];
  let profiles: ProfileSummary[] = [];
  let count = 0;
  let file: string | undefined;
  try {
    file = displayPath(aegis.configFile, ctx.cwd);
    if (withCode) profiles = await aegis.profiles();
    count = withCode ? profiles.length : aegis.profileNames().length;
    issues = await aegis.validate({ importPlugins: withCode });
  } catch (error) {
    // A config file that is missing or cannot be parsed: its problems are reported like any other.
    if (!ConfigurationError.isInstance(error)) throw error;
    issues = error.issues;
  }
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
  if (issues.length === 0) {
    ctx.out.line(`${file}: ${plural(count, 'profile')} OK${withCode ? '' : ' (checked against the schemas plugins ship)'}`);
    return 0;
  }
  for (const issue of issues) ctx.out.line(formatIssueLine(issue));
  const unusable = profiles.filter((p) => !p.usable).length;
  const detail = profiles.length > 0 ? ` (${unusable} of ${plural(profiles.length, 'profile')} unusable)` : '';
  ctx.out.line(`${file ?? 'configuration'}: ${plural(issues.length, 'problem')}${detail}`);
  return 1;
}
