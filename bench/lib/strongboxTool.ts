// Strongbox as a measured tool: each step is a child Node process (strongboxStep.js) under GNU time,
// so its wall time, CPU and peak RSS are measured exactly like restic's and borg's. The incremental
// is given the recorded change as change tracking; a second incremental without it reads and hashes
// the whole image.
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { ByteRange } from '../../shared/vault';
import type { BackupTool, RestoreOutcome, StepOutcome } from './benchTool';
import type { RecordedChange } from './changeTracking';
import { duBytes, run, runMeasured, type Measured } from './processMeasure';
import type { StepInput, StepReport, StepSpec, StoreSpec } from './strongboxStepSpec';

const STEP_ENTRY = path.join(__dirname, 'strongboxStep.js');
/** Tokens of the recorded change tracking: the first backup gets every range, the next the change. */
const BASE_TOKEN = 'bench-base';
const CHANGE_TOKEN = 'bench-change-1';

export interface StrongboxPaths {
  workDir: string;
  image: string;
  imageBytes: number;
  /** The 1% change, as written by the generator. */
  changed: readonly ByteRange[];
}

export interface StrongboxTarget {
  store: StoreSpec;
  /** The folder that holds the repository's bytes (a local store, or Azurite's --location). */
  dataDir: string;
}

export class StrongboxTool implements BackupTool {
  readonly name: string;
  readonly version = `strongbox (node ${process.version})`;
  private readonly keyFile: string;
  private readonly baseChangeFile: string;
  private readonly incrementalChangeFile: string;
  private initialPointId: string | undefined;
  private latestPointId: string | undefined;

  constructor(
    private readonly paths: StrongboxPaths,
    private readonly target: StrongboxTarget,
    /** Sets the tool's name in the report, e.g. 'strongbox' or 'strongbox-noct'. */
    label = 'strongbox',
    /** Give backups the recorded change tracking (true) or make them read everything (false). */
    private readonly changeTracking = true,
    /** Another instance's key file, when this one works on a copy of its repository. */
    keyFile?: string,
  ) {
    this.name = label;
    this.keyFile = keyFile ?? path.join(paths.workDir, `${label}.kek`);
    this.baseChangeFile = path.join(paths.workDir, `${label}.change-base.json`);
    this.incrementalChangeFile = path.join(paths.workDir, `${label}.change-1.json`);
  }

  get keyFilePath(): string {
    return this.keyFile;
  }

  /** An instance that continues from this one's initial point on a copy of the repository. */
  forkedOnto(target: StrongboxTarget, label: string, changeTracking: boolean): StrongboxTool {
    const fork = new StrongboxTool(this.paths, target, label, changeTracking, this.keyFile);
    fork.initialPointId = this.initialPointId;
    fork.latestPointId = this.initialPointId;
    return fork;
  }

  async init(): Promise<void> {
    const base: RecordedChange = {
      since: null,
      token: BASE_TOKEN,
      ranges: [{ offset: 0, length: this.paths.imageBytes }],
    };
    const change: RecordedChange = {
      since: BASE_TOKEN,
      token: CHANGE_TOKEN,
      ranges: [...this.paths.changed],
    };
    await writeFile(this.baseChangeFile, JSON.stringify(base));
    await writeFile(this.incrementalChangeFile, JSON.stringify(change));
    await run(process.execPath, [STEP_ENTRY, JSON.stringify(this.spec({ op: 'init' }))]);
  }

  async backup(step: 'initial' | 'incremental'): Promise<StepOutcome> {
    const parentPointId = step === 'incremental' ? this.initialPointId : undefined;
    if (step === 'incremental' && parentPointId === undefined) throw new Error('incremental before initial');
    const changeFile = step === 'initial' ? this.baseChangeFile : this.incrementalChangeFile;
    const { measured, report } = await this.runStep({
      op: 'backup',
      image: this.paths.image,
      ...(parentPointId === undefined ? {} : { parentPointId }),
      ...(this.changeTracking ? { changeFile } : {}),
    });
    if (report.pointId === undefined) throw new Error('strongbox backup reported no point id');
    if (step === 'initial') this.initialPointId = report.pointId;
    this.latestPointId = report.pointId;
    return { measured, detail: detailOf(report) };
  }

  async restore(targetDir: string): Promise<RestoreOutcome> {
    if (this.latestPointId === undefined) throw new Error('restore before any backup');
    const restoredPath = path.join(targetDir, 'restored.img');
    await mkdir(targetDir, { recursive: true });
    const { measured, report } = await this.runStep({
      op: 'restore',
      pointId: this.latestPointId,
      target: restoredPath,
    });
    return { measured, restoredPath, detail: detailOf(report) };
  }

  repoBytes(): Promise<number> {
    return duBytes(this.target.dataDir);
  }

  private spec(step: StepInput): StepSpec {
    return { ...step, store: this.target.store, keyFile: this.keyFile };
  }

  private async runStep(step: StepInput): Promise<{ measured: Measured; report: StepReport }> {
    const measured = await runMeasured(process.execPath, [STEP_ENTRY, JSON.stringify(this.spec(step))], {
      timeReport: path.join(this.paths.workDir, `${this.name}.time`),
    });
    const last = measured.stdout.trim().split('\n').pop() ?? '';
    return { measured, report: JSON.parse(last) as StepReport };
  }
}

function detailOf(report: StepReport): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const [k, v] of Object.entries(report)) {
    if (typeof v === 'number') out[k] = Math.round(v);
    else if (typeof v === 'string' && k !== 'op') out[k] = v;
  }
  return out;
}
