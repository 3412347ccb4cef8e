// Scheduled verify of VM vaults (reliability.md row 6: "daily random 2 % read-verify per vault, full
// re-verify every 30 days"). Three parts:
//   - `verifyPlan` (pure): what one vault's run on one day does: sample or full, the seed, the job id.
//     Everything is derived from (vault, day[, run id]) so a repeated tick or a retried activity makes
//     the same job and reads the same packs.
//   - `startVerifyJob` / `verifyVmVault`: the I/O, one activity each.
//   - the false-alarm guard (`withoutVanishedPoints`, `confirmedBy`, both pure): verify runs beside
//     retention and backups without holding any item's turn, so what it reads can change under it.
// docs/verify.md has the design and the limits.
import { createHash } from 'node:crypto';
import { uuidV7 } from '../controlPlane/controlPlanePorts';
import { listPointIds, verify, type DamageReport } from '../vault';
import { diskPointsOf } from './protection';
import { vaultItemNames } from './retention';
import type { VmDeps } from './vmDeps';
import { ok, type Outcome } from './vmErrors';

const DAY_MS = 86_400_000;

/** reliability.md row 6: the share of a vault's packs a daily run downloads and authenticates. */
export const VERIFY_SAMPLE_SHARE = 0.02;
/** reliability.md row 6: every pack of a vault is read at least once in this many days. */
export const FULL_VERIFY_EVERY_DAYS = 30;
/** How many affected recovery points a job message lists before it says "and N more". */
const POINTS_NAMED_MAX = 10;

export type VerifySample = '2%' | 'full';

export interface VerifyPlan {
  /** The UTC day of the run, YYYY-MM-DD. */
  readonly day: string;
  readonly sample: VerifySample;
  readonly readData: number | true;
  /** 31-bit seed of the pack sample (shared/vault verify): same vault, day and run → same packs. */
  readonly seed: number;
  readonly jobId: string;
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

function vaultKey(sub: string, vault: string): string {
  return `${sub.toLowerCase()}/${vault.toLowerCase()}`;
}

/**
 * True on the vault's full-verify day: (days since the epoch + a hash of the vault) % 30 === 0. The
 * hash spreads vaults over the 30 days, so one day does not read every vault in full.
 */
export function isFullVerifyDay(sub: string, vault: string, dayNumber: number): boolean {
  const phase = digest(`verify-phase|${vaultKey(sub, vault)}`).readUInt32BE(0) % FULL_VERIFY_EVERY_DAYS;
  return (dayNumber + phase) % FULL_VERIFY_EVERY_DAYS === 0;
}

/**
 * One vault's run at `at` (pure, so orchestrators may call it). `runId` names an on-demand run (it
 * gets its own job and sample); the scheduled run has none. `full` forces a full read.
 */
export function verifyPlan(
  sub: string,
  vault: string,
  at: Date,
  opts: { readonly full?: boolean; readonly runId?: string } = {},
): VerifyPlan {
  const dayNumber = Math.floor(at.getTime() / DAY_MS);
  const day = new Date(dayNumber * DAY_MS).toISOString().slice(0, 10);
  const full = opts.full === true || isFullVerifyDay(sub, vault, dayNumber);
  const run = `${vaultKey(sub, vault)}|${day}|${opts.runId ?? 'scheduled'}`;
  return {
    day,
    sample: full ? 'full' : '2%',
    readData: full ? true : VERIFY_SAMPLE_SHARE,
    seed: digest(`verify-seed|${run}`).readUInt32BE(0) >>> 1,
    // A UUIDv7 stamped with the day's start (job ids sort by time) whose random part is the run's
    // hash: a second tick on the same day names the same job instead of making another.
    jobId: uuidV7(new Date(dayNumber * DAY_MS), digest(`verify-job|${run}`).subarray(0, 10)),
  };
}

/**
 * Creates the run's Verify job unless it exists. `ended` when it exists and has ended: that vault was
 * verified already today (a tick fired twice, or the host restarted after the run), so skip it.
 */
export async function startVerifyJob(
  deps: VmDeps,
  input: { sub: string; vault: string; jobId: string; durableInstanceId: string },
): Promise<{ ended: boolean }> {
  const job = await deps.cp.jobs.ensure(input.sub, input.vault, {
    jobId: input.jobId,
    operation: 'Verify',
    durableInstanceId: input.durableInstanceId,
    status: 'InProgress',
  });
  const status = job.properties.status;
  return { ended: status !== 'InProgress' && status !== 'Queued' };
}

export type VerifyInfo = Readonly<Record<string, string | number | boolean>>;

/** A verify that ran: clean, or damaged with the detail for the job's VerifyFoundDamage message. */
export interface VerifyFindings {
  readonly damaged: boolean;
  /** The job's extendedInfo. */
  readonly info: VerifyInfo;
  /** Names the first damaged block or pack and the recovery points affected (no remediation). */
  readonly detail?: string;
}

export interface VerifyVaultInput {
  readonly sub: string;
  readonly vault: string;
  readonly readData: number | true;
  readonly seed: number;
  readonly sample: VerifySample;
}

/**
 * Verifies one vault's VM data. Damage is a finding, not a failure; a permanent key failure is thrown
 * for the activity's keyFailuresAsOutcome; storage errors are thrown (retried: the same seed reads the
 * same packs).
 *
 * Work: a sample run reads every index, point and manifest, the header of every referenced pack, and
 * 2 % of the packs; a full run downloads every referenced pack once, in this one activity (the limit is
 * in docs/verify.md).
 */
export async function verifyVmVault(deps: VmDeps, input: VerifyVaultInput): Promise<Outcome<VerifyFindings>> {
  const { sub, vault } = input;
  // A Vault of its own: verify re-reads the indexes itself, and must not refresh a view a restore uses.
  const v = await deps.dataPlane.openExclusive(sub, vault);
  const base = { sample: input.sample, seed: input.seed };
  if (!v) {
    return ok({
      damaged: false,
      info: { ...base, pointsChecked: 0, packsChecked: 0, packsRead: 0, blocksRead: 0 },
    });
  }
  // Broken copies are quarantined (self-healing: the next backups store them again; a record made by
  // a concurrent prune's repack names a pack that is gone, and the next prune drops it).
  const first = await verify(v, { readData: input.readData, seed: input.seed, quarantine: true });
  let guarded = withoutVanishedPoints(first, new Set(await listPointIds(v)));
  if (hasStructuralLoss(guarded.report)) {
    // A second, structure-only look (cheap: no pack data): what a concurrent backup or prune caused
    // is gone in it; what is still missing is damage.
    const again = await verify(v, { readData: false, seed: input.seed });
    const confirmed = confirmedBy(guarded.report, again);
    const rechecked = withoutVanishedPoints(confirmed.report, new Set(await listPointIds(v)));
    guarded = {
      report: rechecked.report,
      discarded: guarded.discarded + confirmed.discarded + rechecked.discarded,
    };
  }
  const r = guarded.report;
  const info = {
    ...base,
    pointsChecked: first.pointsChecked,
    packsChecked: first.packsChecked,
    packsRead: first.packsRead,
    blocksRead: first.blocksRead,
    ...(guarded.discarded > 0 ? { findingsDiscarded: guarded.discarded } : {}),
  };
  if (r.ok) return ok({ damaged: false, info });
  const names = await recoveryPointNames(deps, sub, vault);
  return ok({
    damaged: true,
    info: { ...info, ...damageCounts(r) },
    detail: describeDamage(vault, r, names),
  });
}

// ---- the false-alarm guard (pure) ------------------------------------------------------------------

export interface GuardedReport {
  readonly report: DamageReport;
  /** Findings dropped as caused by concurrent work, not damage. */
  readonly discarded: number;
}

function withOk(r: DamageReport): DamageReport {
  return {
    ...r,
    ok:
      r.missingBlocks.length === 0 &&
      r.missingPacks.length === 0 &&
      r.corruptBlocks.length === 0 &&
      r.damagedPacks.length === 0 &&
      r.unreadableIndexes.length === 0 &&
      r.unreadablePoints.length === 0,
  };
}

function countFindings(r: DamageReport): number {
  return (
    r.missingBlocks.length +
    r.missingPacks.length +
    r.corruptBlocks.length +
    r.damagedPacks.length +
    r.unreadableIndexes.length +
    r.unreadablePoints.length
  );
}

/**
 * Drops findings that only concern points that no longer exist: retention deleted them while verify
 * ran (prune deletes a point, then the packs only it held), so a block or pack that went with its last
 * point is not damage. A finding with no point ids is kept (nothing says it is harmless).
 */
export function withoutVanishedPoints(r: DamageReport, existing: ReadonlySet<string>): GuardedReport {
  const gone = (pointIds: readonly string[]) =>
    pointIds.length > 0 && pointIds.every((p) => !existing.has(p));
  const report = withOk({
    ...r,
    missingBlocks: r.missingBlocks.filter((f) => !gone(f.pointIds)),
    missingPacks: r.missingPacks.filter((f) => !gone(f.pointIds)),
    corruptBlocks: r.corruptBlocks.filter((f) => !gone(f.pointIds)),
    damagedPacks: r.damagedPacks.filter((f) => !gone(f.pointIds)),
    unreadablePoints: r.unreadablePoints.filter((f) => existing.has(f.pointId)),
  });
  return { report, discarded: countFindings(r) - countFindings(report) };
}

/**
 * Findings a concurrent writer can cause although nothing is damaged: a block of a point committed
 * after verify loaded the indexes (missing block), a pack prune repacked and deleted after verify
 * loaded the old index (missing pack), an index blob prune deleted while verify listed them.
 */
function hasStructuralLoss(r: DamageReport): boolean {
  return r.missingBlocks.length + r.missingPacks.length + r.unreadableIndexes.length > 0;
}

/**
 * Keeps a missing block, missing pack or unreadable index only if `again` (a later structure-only
 * verify) reports it too. The other findings are kept as they are: packs are immutable once written
 * and named by a random id, so a block that fails authentication, a truncated pack or a header that
 * disagrees with the index cannot come from concurrent work.
 */
export function confirmedBy(r: DamageReport, again: DamageReport): GuardedReport {
  const blocks = new Set(again.missingBlocks.map((f) => f.blockId));
  const packs = new Set(again.missingPacks.map((f) => f.packId));
  const indexes = new Set(again.unreadableIndexes.map((f) => f.indexId));
  const report = withOk({
    ...r,
    missingBlocks: r.missingBlocks.filter((f) => blocks.has(f.blockId)),
    missingPacks: r.missingPacks.filter((f) => packs.has(f.packId)),
    unreadableIndexes: r.unreadableIndexes.filter((f) => indexes.has(f.indexId)),
  });
  return { report, discarded: countFindings(r) - countFindings(report) };
}

// ---- the job's words (pure) --------------------------------------------------------------------------

export function damageCounts(r: DamageReport): VerifyInfo {
  return {
    missingBlocks: r.missingBlocks.length,
    missingPacks: r.missingPacks.length,
    corruptBlocks: r.corruptBlocks.length,
    damagedPacks: r.damagedPacks.length,
    unreadableIndexes: r.unreadableIndexes.length,
    unreadablePoints: r.unreadablePoints.length,
  };
}

/** The first finding, most specific first, in words. */
function firstFinding(r: DamageReport): string {
  const c = r.corruptBlocks[0];
  if (c) return `block ${c.blockId} in pack ${c.packId} is corrupt (${c.reason})`;
  const mp = r.missingPacks[0];
  if (mp) return `pack ${mp.packId} is missing (${mp.blockIds.length} referenced blocks)`;
  const mb = r.missingBlocks[0];
  if (mb) return `block ${mb.blockId} is in no index`;
  const d = r.damagedPacks[0];
  if (d) return `pack ${d.packId} is damaged (${d.reason})`;
  const p = r.unreadablePoints[0];
  if (p) return `disk point ${p.pointId} is unreadable (${p.reason})`;
  const i = r.unreadableIndexes[0];
  if (i) return `index ${i.indexId} is unreadable (${i.reason})`;
  return 'no damage';
}

/**
 * "Verify found damage in vault v1: block … in pack … is corrupt (…); recovery points affected:
 * web01/rp-1, …; 1 corrupt block". Disk points with no recovery point (one being deleted by
 * retention, or a backup's that never committed) are named as disk points.
 */
export function describeDamage(vault: string, r: DamageReport, names: ReadonlyMap<string, string>): string {
  const affected = new Set<string>();
  const add = (pointIds: readonly string[]) => {
    for (const p of pointIds) affected.add(names.get(p) ?? `disk point ${p}`);
  };
  for (const f of r.corruptBlocks) add(f.pointIds);
  for (const f of r.missingPacks) add(f.pointIds);
  for (const f of r.missingBlocks) add(f.pointIds);
  for (const f of r.damagedPacks) add(f.pointIds);
  add(r.unreadablePoints.map((f) => f.pointId));
  const list = [...affected];
  const named = list.slice(0, POINTS_NAMED_MAX).join(', ');
  const more = list.length > POINTS_NAMED_MAX ? ` and ${list.length - POINTS_NAMED_MAX} more` : '';
  const counts = Object.entries(damageCounts(r))
    .filter(([, n]) => n !== 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  const points = list.length > 0 ? `recovery points affected: ${named}${more}` : 'no recovery point named';
  return `Verify found damage in vault ${vault}: ${firstFinding(r)}; ${points}; ${counts}`;
}

/** Data-plane point id → "<item>/<recovery point id>", over every item of the vault. */
async function recoveryPointNames(deps: VmDeps, sub: string, vault: string): Promise<Map<string, string>> {
  const names = new Map<string, string>();
  for (const item of await vaultItemNames(deps, sub, vault)) {
    for (const p of await deps.cp.recoveryPoints.listAll(sub, vault, item)) {
      for (const id of diskPointsOf(p)) names.set(id, `${item}/${p.id}`);
    }
  }
  return names;
}
