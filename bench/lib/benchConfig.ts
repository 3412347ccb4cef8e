// The one place the backup benchmark reads its environment and arguments (STYLE.md §10).
import * as os from 'node:os';

export type BenchTarget = 'local' | 'azurite';

export interface BenchConfig {
  /** Size of the generated disk image in MiB (default 2048, performance.md's data set). */
  readonly imageMiB: number;
  /** Where Strongbox writes: a local directory, or a disk-backed Azurite (peers always use directories). */
  readonly target: BenchTarget;
  /** Seeds the image generator and the 1% change; the same seed gives the same bytes. */
  readonly seed: number;
  /** Parent folder of the run's temp directory; must be on the disk being measured. */
  readonly workRoot: string;
  /** Keep the temp directory (image and repositories) after the run, for inspection. */
  readonly keepWork: boolean;
  /** Tools to run, in order; `BENCH_TOOLS=strongbox,restic` runs a subset. */
  readonly tools: readonly ToolName[];
  /** Whole runs (fresh repositories each); figures are medians over them (performance.md: ≥ 3). */
  readonly runs: number;
}

export const TOOL_NAMES = ['strongbox', 'restic', 'borg'] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

const DEFAULT_IMAGE_MIB = 2048;
const DEFAULT_SEED = 2024;
const DEFAULT_RUNS = 3;

function positiveInt(raw: string | undefined, fallback: number, name: string): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive integer, got '${raw}'`);
  return n;
}

function targetFrom(argv: readonly string[], env: NodeJS.ProcessEnv): BenchTarget {
  const i = argv.indexOf('--target');
  const raw = i >= 0 ? argv[i + 1] : env.BENCH_TARGET;
  if (raw === undefined || raw === '' || raw === 'local') return 'local';
  if (raw === 'azurite') return 'azurite';
  throw new Error(`unknown target '${raw}' (use local or azurite)`);
}

function toolsFrom(raw: string | undefined): ToolName[] {
  if (raw === undefined || raw === '') return [...TOOL_NAMES];
  const names = raw.split(',').map((s) => s.trim());
  for (const n of names) {
    if (!(TOOL_NAMES as readonly string[]).includes(n)) throw new Error(`unknown tool '${n}' in BENCH_TOOLS`);
  }
  return names as ToolName[];
}

export function readBenchConfig(argv: readonly string[], env: NodeJS.ProcessEnv): BenchConfig {
  const imageMiB = positiveInt(env.BENCH_IMAGE_MB, DEFAULT_IMAGE_MIB, 'BENCH_IMAGE_MB');
  // Image extents are whole 256 KiB units and the change needs room for its 64 KiB writes.
  if (imageMiB < 16) throw new Error('BENCH_IMAGE_MB must be at least 16');
  return Object.freeze({
    imageMiB,
    target: targetFrom(argv, env),
    seed: positiveInt(env.BENCH_SEED, DEFAULT_SEED, 'BENCH_SEED'),
    workRoot: env.BENCH_WORK_DIR || os.tmpdir(),
    keepWork: env.BENCH_KEEP === '1',
    tools: Object.freeze(toolsFrom(env.BENCH_TOOLS)),
    runs: positiveInt(env.BENCH_RUNS, DEFAULT_RUNS, 'BENCH_RUNS'),
  });
}
