// The shape every measured tool takes in the benchmark: a fresh repository, an initial backup, an
// incremental after the change, and a full restore of the latest backup.
import type { Measured } from './processMeasure';

export type StepName = 'initial' | 'incremental' | 'incrementalNoCt' | 'restore';

export interface StepOutcome {
  measured: Measured;
  /** Tool-specific figures worth keeping in the JSON (Strongbox's own counters). */
  detail?: Record<string, number | string>;
}

export interface RestoreOutcome extends StepOutcome {
  /** Where the restored image ended up, to hash against the source. */
  restoredPath: string;
}

export interface BackupTool {
  readonly name: string;
  readonly version: string;
  /** Creates the empty repository (not timed). */
  init(): Promise<void>;
  backup(step: 'initial' | 'incremental'): Promise<StepOutcome>;
  restore(targetDir: string): Promise<RestoreOutcome>;
  /** Bytes the repository occupies now. */
  repoBytes(): Promise<number>;
}
