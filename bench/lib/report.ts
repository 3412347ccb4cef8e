// Turns measured steps into the figures, the target ratios with pass/miss, a readable table,
// and the final JSON line. MB = 10^6 bytes, as in performance.md.
import type { StepName } from './benchTool';
import type { Measured } from './processMeasure';

const MB = 1e6;
/** Issue 3: Strongbox's peak RSS must stay below this, in every step. */
export const PEAK_RSS_TARGET_BYTES = 512 * MB;

export interface StepFigures {
  /** 1-based run number; 0 for a median over runs. */
  run: number;
  tool: string;
  step: StepName;
  wallS: number;
  /** Source image MB per second of wall time. */
  MBps: number;
  cpuS: number;
  peakRssMB: number;
  addedMB: number;
  repoMB: number;
  /** Restores only: the `sync` right after (restic and borg do not fsync; Strongbox does). */
  syncAfterS?: number;
  /** Azurite mode: CPU seconds the Azurite process used during the step. */
  azuriteCpuS?: number;
  detail?: Record<string, number | string>;
}

export interface RatioRow {
  measure: string;
  strongbox: number | null;
  restic: number | null;
  ratio: number | null;
  target: string;
  /** null when a figure is missing (e.g. restic could not be installed). */
  pass: boolean | null;
}

const round = (n: number, digits = 2): number => Number(n.toFixed(digits));

export function figuresOf(
  run: number,
  tool: string,
  step: StepName,
  m: Measured,
  sourceBytes: number,
  repoBefore: number,
  repoAfter: number,
): StepFigures {
  return {
    run,
    tool,
    step,
    wallS: round(m.wallMs / 1000),
    MBps: Math.round(sourceBytes / MB / (m.wallMs / 1000)),
    cpuS: round((m.userMs + m.sysMs) / 1000),
    peakRssMB: Math.round(m.maxRssBytes / MB),
    addedMB: round((repoAfter - repoBefore) / MB, 1),
    repoMB: round(repoAfter / MB, 1),
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const MEDIAN_KEYS = [
  'wallS',
  'MBps',
  'cpuS',
  'peakRssMB',
  'addedMB',
  'repoMB',
  'syncAfterS',
  'azuriteCpuS',
] as const;

/** One row per tool and step: the median of each figure over the runs (run = 0). */
export function medians(steps: readonly StepFigures[]): StepFigures[] {
  const groups = new Map<string, StepFigures[]>();
  for (const s of steps) {
    const key = `${s.tool}\u0000${s.step}`;
    groups.set(key, [...(groups.get(key) ?? []), s]);
  }
  return [...groups.values()].map((group) => {
    const first = group[0]!;
    const out: StepFigures = { ...first, run: 0 };
    delete out.detail;
    for (const k of MEDIAN_KEYS) {
      const values = group.map((s) => s[k]).filter((v): v is number => v !== undefined);
      if (values.length > 0) out[k] = round(median(values), 2);
    }
    // Peak RSS is a limit, not a typical value: keep the worst run's.
    out.peakRssMB = Math.max(...group.map((s) => s.peakRssMB));
    return out;
  });
}

function find(steps: readonly StepFigures[], tool: string, step: StepName): StepFigures | undefined {
  return steps.find((s) => s.tool === tool && s.step === step);
}

function ratioRow(
  measure: string,
  strongbox: number | undefined,
  restic: number | undefined,
  limit: number,
  target: string,
): RatioRow {
  if (strongbox === undefined || restic === undefined || restic === 0) {
    return { measure, strongbox: strongbox ?? null, restic: restic ?? null, ratio: null, target, pass: null };
  }
  const ratio = round(strongbox / restic, 3);
  return { measure, strongbox, restic, ratio, target, pass: ratio <= limit };
}

/** The targets, comparing Strongbox (with change tracking) to restic. */
export function targetRatios(steps: readonly StepFigures[]): RatioRow[] {
  const sb = (step: StepName): StepFigures | undefined => find(steps, 'strongbox', step);
  const rs = (step: StepName): StepFigures | undefined => find(steps, 'restic', step);
  const sbSteps = steps.filter((s) => s.tool.startsWith('strongbox'));
  const peak = sbSteps.length > 0 ? Math.max(...sbSteps.map((s) => s.peakRssMB)) : undefined;
  return [
    ratioRow('initial backup time (s)', sb('initial')?.wallS, rs('initial')?.wallS, 0.67, '≤ 0.67× restic'),
    ratioRow(
      'incremental (CT) time (s)',
      sb('incremental')?.wallS,
      rs('incremental')?.wallS,
      0.1,
      '≤ 0.1× restic',
    ),
    ratioRow(
      'incremental (CT) added (MB)',
      sb('incremental')?.addedMB,
      rs('incremental')?.addedMB,
      0.1,
      '≤ 0.1× restic',
    ),
    ratioRow('restore time (s)', sb('restore')?.wallS, rs('restore')?.wallS, 0.67, '≤ 0.67× restic'),
    ratioRow('repository size (MB)', sb('incremental')?.repoMB, rs('incremental')?.repoMB, 1, '≤ restic'),
    {
      measure: 'peak RSS, any step (MB)',
      strongbox: peak ?? null,
      restic: null,
      ratio: null,
      target: `< ${PEAK_RSS_TARGET_BYTES / MB} MB`,
      pass: peak === undefined ? null : peak < PEAK_RSS_TARGET_BYTES / MB,
    },
  ];
}

/** Informational ratios that are not targets: Strongbox without change tracking, and borg. */
export function otherRatios(steps: readonly StepFigures[]): Record<string, number | null> {
  const r = (
    a: StepFigures | undefined,
    b: StepFigures | undefined,
    k: 'wallS' | 'addedMB',
  ): number | null => (a && b && b[k] !== 0 ? round(a[k] / b[k], 3) : null);
  const noCt = find(steps, 'strongbox-noct', 'incrementalNoCt');
  return {
    incrementalNoCtTimeVsRestic: r(noCt, find(steps, 'restic', 'incremental'), 'wallS'),
    incrementalNoCtAddedVsRestic: r(noCt, find(steps, 'restic', 'incremental'), 'addedMB'),
    initialTimeVsBorg: r(find(steps, 'strongbox', 'initial'), find(steps, 'borg', 'initial'), 'wallS'),
    incrementalTimeVsBorg: r(
      find(steps, 'strongbox', 'incremental'),
      find(steps, 'borg', 'incremental'),
      'wallS',
    ),
    restoreTimeVsBorg: r(find(steps, 'strongbox', 'restore'), find(steps, 'borg', 'restore'), 'wallS'),
  };
}

function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const fmt = (n: number | null | undefined): string => (n === null || n === undefined ? '–' : String(n));

export function stepsTable(steps: readonly StepFigures[]): string {
  return table(
    [
      'run',
      'tool',
      'step',
      'wall s',
      'MB/s',
      'CPU s',
      'peak RSS MB',
      'added MB',
      'repo MB',
      'sync after s',
      'Azurite CPU s',
    ],
    steps.map((s) => [
      s.run === 0 ? 'median' : String(s.run),
      s.tool,
      s.step,
      fmt(s.wallS),
      fmt(s.MBps),
      fmt(s.cpuS),
      fmt(s.peakRssMB),
      s.step === 'restore' ? '–' : fmt(s.addedMB),
      fmt(s.repoMB),
      fmt(s.syncAfterS),
      fmt(s.azuriteCpuS),
    ]),
  );
}

export function ratiosTable(rows: readonly RatioRow[]): string {
  return table(
    ['measure', 'strongbox', 'restic', 'ratio', 'target', 'result'],
    rows.map((r) => [
      r.measure,
      fmt(r.strongbox),
      fmt(r.restic),
      fmt(r.ratio),
      r.target,
      r.pass === null ? 'n/a' : r.pass ? 'pass' : 'MISS',
    ]),
  );
}
