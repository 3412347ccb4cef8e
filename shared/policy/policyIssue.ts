/** One reason a policy was rejected. */
export interface PolicyIssue {
  /** Dotted path of the field, e.g. "retention.weekly.daysOfWeek.1"; "" for the policy itself. */
  readonly path: string;
  /** Starts with the field's path and names the rule it breaks. */
  readonly message: string;
}

export function issueAt(path: readonly PropertyKey[], rule: string): PolicyIssue {
  const dotted = path.map(String).join('.');
  return { path: dotted, message: `${dotted === '' ? 'policy' : dotted} ${rule}` };
}
