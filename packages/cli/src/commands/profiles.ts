import { displayPath, type ProfileSummary } from '@aegis/core';
import { issueMessage } from '../errors.js';
import type { CommandContext } from '../context.js';
import { formatTable, printJson } from '../output.js';

export interface ProfilesOptions {
  json?: boolean;
}

/** `aegis profiles`: every profile, whether it is usable and why not. Exits 0 even when some are not. */
export async function run(ctx: CommandContext, options: ProfilesOptions): Promise<number> {
  const aegis = await ctx.aegis();
  const profiles = await aegis.profiles();
  if (options.json) {
    printJson(ctx.out, profiles);
    return 0;
  }
  if (profiles.length === 0) {
    ctx.err.line(`aegis: no profiles in ${displayPath(aegis.configFile, ctx.cwd)}`);
    return 0;
  }
  const rows = profiles.map((p) => [p.name, p.type, p.usable ? 'yes' : 'no', p.description ?? '', whyNot(p)]);
  for (const line of formatTable(['NAME', 'TYPE', 'USABLE', 'DESCRIPTION', 'PROBLEM'], rows)) ctx.out.line(line);
  if (profiles.some((p) => !p.usable)) ctx.err.line('aegis: run "aegis validate" to see every problem');
  return 0;
}

/** The first issue of an unusable profile, on one line, without the file and profile it is listed under. */
function whyNot(profile: ProfileSummary): string {
  // A problem with `type` (no plugin provides it) comes first: until it is fixed the others cannot be.
  const issues = [...profile.issues].sort((a, b) => Number(b.field === 'type') - Number(a.field === 'type'));
  const [first, ...more] = issues;
  if (!first) return '';
  // Shown under the profile's own name: the file and profile are left out, the line kept.
  const where = [first.line !== undefined ? `line ${first.line}` : '', first.field !== undefined ? `field "${first.field}"` : '']
    .filter(Boolean)
    .join(', ');
  return (where ? `${where}: ` : '') + issueMessage(first) + (more.length > 0 ? ` (+${more.length} more)` : '');
}
