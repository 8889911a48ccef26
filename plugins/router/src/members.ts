import { ConfigurationError, PluginError, type BackendProvider, type ConfigIssue, type ProviderContext } from '@aegis/core';

/** A member of a composite profile: its profile name and its provider. */
export interface Member {
  readonly name: string;
  readonly provider: BackendProvider;
  /** Position in the composite's `profiles` list. */
  readonly index: number;
}

/**
 * Resolves every member profile through core, so that `aegis validate` (which
 * builds every provider) reports unknown members and cycles. All problems are
 * gathered into one ConfigurationError:
 *
 * - an unknown member becomes an issue of the composite profile, field `profiles[i]`,
 *   naming the member;
 * - a cycle (`a → b → a`) and a member's own configuration problems are passed on
 *   as core reported them (they name the file:line of the profile concerned);
 * - a member whose plugin cannot be loaded becomes an issue of the composite profile.
 */
export async function resolveMembers(composite: string, names: readonly string[], context: ProviderContext): Promise<Member[]> {
  const members: Member[] = [];
  const issues: ConfigIssue[] = [];
  let firstCause: unknown;
  for (const [index, name] of names.entries()) {
    try {
      members.push({ name, index, provider: await context.getProvider(name) });
    } catch (error) {
      if (ConfigurationError.isInstance(error)) {
        issues.push(...error.issues.map((issue) => unknownMemberIssue(issue, composite, name, index) ?? issue));
      } else if (PluginError.isInstance(error)) {
        issues.push({ profile: composite, field: `profiles[${index}]`, message: `member "${name}" cannot be used: ${error.message}` });
      } else {
        throw error;
      }
      firstCause ??= error;
    }
  }
  if (issues.length > 0) throw new ConfigurationError(dedupe(issues), { cause: firstCause });
  return members;
}

/** Core's "no profile named x" issue for member x, restated as a problem of the composite profile. */
function unknownMemberIssue(issue: ConfigIssue, composite: string, member: string, index: number): ConfigIssue | undefined {
  if (issue.profile !== member || !issue.message.startsWith(`no profile named "${member}"`)) return undefined;
  return {
    file: issue.file,
    profile: composite,
    field: `profiles[${index}]`,
    message: `unknown member profile "${member}": ${issue.message}`,
  };
}

function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  return issues.filter(
    (issue, i) => issues.findIndex((o) => o.message === issue.message && o.profile === issue.profile && o.line === issue.line) === i,
  );
}
