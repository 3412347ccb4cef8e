// Guest agent versions. The platform reports the agent's version as a dotted string
// ("2.10.0.8"); compare numerically, part by part, because "2.10" is newer than "2.9".

/**
 * Strongbox's own floor for the guest agent (our decision, not an Azure constant): agents older than
 * this cannot run the backup extension's freeze. The local fabric's "old" agent sits below it.
 */
export const MIN_GUEST_AGENT_VERSION = '2.2.20';

/** Negative, zero or positive like a sort comparator. Missing parts count as 0; non-numeric parts as 0. */
export function compareAgentVersions(a: string, b: string): number {
  const pa = a.split('.').map((p) => Number.parseInt(p, 10) || 0);
  const pb = b.split('.').map((p) => Number.parseInt(p, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i += 1) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

export function isAgentVersionSupported(version: string | undefined): boolean {
  return version !== undefined && compareAgentVersions(version, MIN_GUEST_AGENT_VERSION) >= 0;
}
