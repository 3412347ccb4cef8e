// What the benchmark asks one Strongbox child process to do. Each step runs in its own process so
// that its peak RSS and CPU are the step's alone, like a restic or borg invocation.
export type StoreSpec =
  { kind: 'local'; dir: string } | { kind: 'azurite'; connectionString: string; container: string };

/** What to do, without where: the tool adds the store and the key file. */
export type StepInput =
  | { op: 'init' }
  | { op: 'backup'; image: string; parentPointId?: string; changeFile?: string }
  | { op: 'restore'; pointId: string; target: string };

export type StepSpec = StepInput & { store: StoreSpec; keyFile: string };

/** The last line a step child prints. */
export interface StepReport {
  op: StepSpec['op'];
  /** Time spent in openVault (reads config, key and every index). */
  openMs: number;
  /** Time spent in backup() or restore() itself. */
  opMs: number;
  /** process.resourceUsage().maxRSS, in bytes: a cross-check of GNU time's figure. */
  selfMaxRssBytes: number;
  pointId?: string;
  bytesRead?: number;
  bytesNewStored?: number;
  blocksNew?: number;
  blocksDedup?: number;
  blocksZero?: number;
  packsWritten?: number;
  bytesWritten?: number;
}
