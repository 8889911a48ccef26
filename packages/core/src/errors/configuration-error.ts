import { AegisError, hasCode, type AegisErrorOptions } from './base.js';

/** Where in which file a configuration problem is, and what it is. */
export interface ConfigIssue {
  /** Path of the config file (or `.env` file) the problem is in. */
  file?: string;
  /** 1-based line and column. */
  line?: number;
  column?: number;
  /** The profile the problem belongs to, when there is one. */
  profile?: string;
  /** Dotted path of the offending field inside the profile (`options.num_ctx`). */
  field?: string;
  /** What is wrong, and what was expected. Never contains a secret value. */
  message: string;
  /** For a cycle between profiles: the profiles in it, first one repeated at the end. */
  cycle?: string[];
  /**
   * For a `${VAR}` that is not set: the variable's name. The file is fine; this
   * environment lacks the value (`aegis validate` warns unless `--strict`).
   */
  variable?: string;
}

/** Formats an issue as `file:line:col: profile "p", field "f": message`. */
export function formatIssue(issue: ConfigIssue): string {
  const where: string[] = [];
  if (issue.file) {
    let loc = issue.file;
    if (issue.line !== undefined) loc += `:${issue.line}`;
    if (issue.line !== undefined && issue.column !== undefined) loc += `:${issue.column}`;
    where.push(loc);
  }
  const subject: string[] = [];
  if (issue.profile !== undefined) subject.push(`profile "${issue.profile}"`);
  if (issue.field !== undefined) subject.push(`field "${issue.field}"`);
  const head = [where.join(''), subject.join(', ')].filter(Boolean).join(': ');
  return head ? `${head}: ${issue.message}` : issue.message;
}

// A function, not a static method: a class that names itself in its own body is renamed by
// the bundler (`_ConfigurationError`), and the error's `name` comes from the class.
function describeIssues(issues: readonly ConfigIssue[]): string {
  if (issues.length === 1) return formatIssue(issues[0]!);
  return `${issues.length} configuration problems:\n` + issues.map((i) => `  - ${formatIssue(i)}`).join('\n');
}

/**
 * A broken `backends.yaml`, `.env` or profile. Carries every problem found, so
 * a user fixes them all in one pass.
 */
export class ConfigurationError extends AegisError {
  readonly code = 'configuration' as const;
  readonly issues: readonly ConfigIssue[];

  constructor(issuesOrMessage: readonly ConfigIssue[] | string, options: AegisErrorOptions = {}) {
    const issues = typeof issuesOrMessage === 'string' ? [{ message: issuesOrMessage }] : issuesOrMessage;
    super(describeIssues(issues), options);
    this.issues = issues;
  }

  static isInstance(value: unknown): value is ConfigurationError {
    return hasCode(value, 'configuration');
  }
}
