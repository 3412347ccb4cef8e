// A ChangedRanges adapter for the benchmark (shared/vault/backupSource.ts): the generator records
// exactly which bytes the 1% change wrote, the way a hypervisor's change tracking would. Each answer
// is valid only for the token it was recorded against; anything else is 'unknown' (read everything).
import { readFile } from 'node:fs/promises';
import type { BackupSource, ByteRange, ChangedRanges, ChangedRangesResult } from '../../shared/vault';

export interface RecordedChange {
  /** The token this change is relative to; null means "every written range" (the first backup). */
  since: string | null;
  /** The token to hand out with the ranges, for the next backup. */
  token: string;
  ranges: ByteRange[];
}

export function recordedChangedRanges(change: RecordedChange): ChangedRanges {
  return {
    changedRanges(_source: BackupSource, sinceToken: string | undefined): Promise<ChangedRangesResult> {
      const matches = (sinceToken ?? null) === change.since;
      return Promise.resolve(matches ? { ranges: change.ranges, token: change.token } : 'unknown');
    },
  };
}

export async function readRecordedChange(file: string): Promise<RecordedChange> {
  const parsed = JSON.parse(await readFile(file, 'utf8')) as RecordedChange;
  if (!Array.isArray(parsed.ranges) || typeof parsed.token !== 'string') {
    throw new Error(`${file} is not a recorded change`);
  }
  return parsed;
}
