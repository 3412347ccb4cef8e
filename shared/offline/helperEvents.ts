// Events the on-prem helper sends to the service (issue 6: "staged", and after seeding the online
// backups it completes). They arrive on the Storage Queue `strongbox-helper-events` (or over HTTP when a
// queue SAS cannot be issued), at least once and possibly twice or concurrently, so each carries an
// idempotency key and is applied through a claim row (offlineStore.claimEvent): a second delivery of
// a finished event does nothing; a delivery that crashed half-way is finished by the next one, reusing
// what the first created (the Backup job id), and every effect is itself idempotent (a recovery point
// is added only if none names the same vault point).
//
// Envelope, version 1:
//   {"v":1,"id":"<idempotency key>","kind":"staged"|"backupCompleted",
//    "subscriptionId","vaultName","serverName","sentTime","data":{…}}
// A queue message is not authenticated per sender (anyone with the add-only SAS can enqueue), so an
// event is only believed when the data plane agrees: a backup's point must exist in that server's
// vault container, which only that server can write.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { BlobStore } from '../blob/blobStore';
import type { ControlPlane } from '../controlPlane/controlPlane';
import { NAME_RULES } from '../controlPlane/names';
import { MAX_PAGE_SIZE, parsePageRequest, type PageRequest } from '../controlPlane/paging';
import type { StagedPoint } from './offlineBackup';
import { OFFLINE_ERROR_CODES, OfflineError } from './offlineErrors';
import { ofCurrentVault, type OfflineStore } from './offlineStore';

export const HELPER_EVENTS_QUEUE = 'strongbox-helper-events';
/** A claim older than this is taken over (the first delivery crashed). Above the host's function timeout. */
export const EVENT_CLAIM_STALE_MS = 15 * 60 * 1000;

/** Vault point ids (docs/format.md). */
export const POINT_ID = /^\d{13}-[0-9a-f]{12}$/;

const name = (kind: keyof typeof NAME_RULES) =>
  z.string().regex(NAME_RULES[kind].pattern, { error: NAME_RULES[kind].rule });

const StagedPointSchema = z.strictObject({
  itemName: name('itemName'),
  pointId: z.string().regex(POINT_ID, { error: 'must be a vault point id' }),
  sizeBytes: z.number().int().nonnegative(),
});

const base = {
  v: z.literal(1),
  id: z.string().regex(/^[A-Za-z0-9:._-]{8,200}$/, { error: 'must be 8-200 letters, digits or :._-' }),
  subscriptionId: name('subscriptionId'),
  vaultName: name('vaultName'),
  serverName: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/),
  sentTime: z.iso.datetime(),
};

export const HelperEventSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    ...base,
    kind: z.literal('staged'),
    data: z.strictObject({
      importJobName: z.string().regex(/^[a-z0-9][a-z0-9-]{2,62}$/),
      points: z.array(StagedPointSchema).min(1).max(100),
      bytes: z.number().int().nonnegative(),
      files: z.number().int().nonnegative(),
    }),
  }),
  z.strictObject({
    ...base,
    kind: z.literal('backupCompleted'),
    data: z.strictObject({
      itemName: name('itemName'),
      pointId: z.string().regex(POINT_ID, { error: 'must be a vault point id' }),
      pointTime: z.iso.datetime(),
      sourceKind: z.enum(['directoryTree', 'diskImage']),
      bytesRead: z.number().int().nonnegative(),
      bytesUploaded: z.number().int().nonnegative(),
    }),
  }),
]);
export type HelperEvent = z.infer<typeof HelperEventSchema>;

export interface HelperEventDeps {
  readonly cp: ControlPlane;
  readonly store: OfflineStore;
  /** The server's vault container (read only here: is the point really there?). */
  readonly serverVault: (sub: string, vault: string, serverId: string) => BlobStore;
  readonly now: () => Date;
}

export interface EventOutcome {
  /** False when the event had already been applied (a duplicate delivery). */
  readonly applied: boolean;
  readonly outcome: string;
}

/** Row key of an event's claim: the key may hold any of its allowed characters, a hash holds none. */
export function eventKeyOf(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

export function parseHelperEvent(raw: unknown): HelperEvent {
  const parsed = HelperEventSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new OfflineError(
    OFFLINE_ERROR_CODES.EVENT_INVALID,
    `helper event: ${issue ? `${issue.path.map(String).join('.') || 'body'} ${issue.message}` : 'invalid'}`,
  );
}

/** The recovery point a backup's vault point becomes; manifestRef names the vault object. */
export function manifestRefOf(pointId: string): string {
  return `points/${pointId}`;
}

/** Adds a recovery point for a vault point unless one already names it. Idempotent. */
export async function addPointOnce(
  cp: ControlPlane,
  sub: string,
  vault: string,
  item: string,
  p: {
    pointId: string;
    pointTime: string;
    sizeBytes: number;
    consistency: 'FileSystemConsistent' | 'CrashConsistent';
  },
): Promise<boolean> {
  const ref = manifestRefOf(p.pointId);
  let page: PageRequest = { top: MAX_PAGE_SIZE };
  let any = false;
  for (;;) {
    const got = await cp.recoveryPoints.list(sub, vault, item, page);
    for (const rp of got.value) {
      any = true;
      if (rp.properties.manifestRef === ref) return false;
    }
    if (got.skipToken === undefined) break;
    page = parsePageRequest(String(MAX_PAGE_SIZE), got.skipToken);
  }
  await cp.recoveryPoints.add(sub, vault, item, {
    recoveryPointTime: p.pointTime,
    recoveryPointType: any ? 'Incremental' : 'Full',
    consistency: p.consistency,
    sizeBytes: p.sizeBytes,
    manifestRef: ref,
  });
  return true;
}

async function applyStaged(
  deps: HelperEventDeps,
  e: Extract<HelperEvent, { kind: 'staged' }>,
): Promise<string> {
  const merged = new Map<string, StagedPoint>();
  await deps.store.updateBackup(e.data.importJobName, (doc) => {
    if (
      doc.subscriptionId.toLowerCase() !== e.subscriptionId.toLowerCase() ||
      doc.vaultName.toLowerCase() !== e.vaultName.toLowerCase() ||
      doc.serverName.toLowerCase() !== e.serverName.toLowerCase()
    ) {
      throw new OfflineError(
        OFFLINE_ERROR_CODES.EVENT_INVALID,
        `offline backup ${e.data.importJobName} is not server ${e.serverName}'s in vault ${e.vaultName}`,
      );
    }
    for (const p of doc.stagedPoints ?? []) merged.set(p.pointId, p);
    for (const p of e.data.points) {
      if (!doc.itemNames.some((i) => i.toLowerCase() === p.itemName.toLowerCase())) {
        throw new OfflineError(
          OFFLINE_ERROR_CODES.EVENT_INVALID,
          `item ${p.itemName} is not part of offline backup ${doc.name}`,
        );
      }
      merged.set(p.pointId, p);
    }
    return {
      ...doc,
      stagedPoints: [...merged.values()],
      staged: { bytes: e.data.bytes, files: e.data.files, reportedTime: deps.now().toISOString() },
      updatedTime: deps.now().toISOString(),
    };
  });
  return `staged ${e.data.points.length} point(s)`;
}

async function applyBackupCompleted(
  deps: HelperEventDeps,
  e: Extract<HelperEvent, { kind: 'backupCompleted' }>,
  key: string,
  claim: { jobId?: string },
): Promise<{ outcome: string; jobId: string }> {
  const server = await deps.store.getServer(e.subscriptionId, e.vaultName, e.serverName);
  // A server row of an earlier vault of the same name is not registered (offlineService.ts).
  const v = server
    ? await deps.cp.vaults.read(e.subscriptionId, e.vaultName).catch(() => undefined)
    : undefined;
  if (!server || !v || !ofCurrentVault(server.doc, v.doc.vaultId)) {
    throw new OfflineError(OFFLINE_ERROR_CODES.EVENT_INVALID, `server ${e.serverName} is not registered`);
  }
  if (server.doc.sources[e.data.itemName.toLowerCase()] === undefined) {
    throw new OfflineError(
      OFFLINE_ERROR_CODES.EVENT_INVALID,
      `item ${e.data.itemName} is not protected by server ${e.serverName}`,
    );
  }
  const vault = deps.serverVault(e.subscriptionId, e.vaultName, server.doc.serverId);
  if ((await vault.stat(manifestRefOf(e.data.pointId))) === undefined) {
    throw new OfflineError(
      OFFLINE_ERROR_CODES.EVENT_INVALID,
      `point ${e.data.pointId} is not in server ${e.serverName}'s vault`,
    );
  }
  let jobId = claim.jobId;
  if (jobId === undefined) {
    jobId = (
      await deps.cp.jobs.start(e.subscriptionId, e.vaultName, {
        operation: 'Backup',
        itemName: e.data.itemName,
      })
    ).name;
    await deps.store.updateEvent(key, {
      id: e.id,
      state: 'processing',
      claimedTime: deps.now().toISOString(),
      jobId,
    });
  }
  const added = await addPointOnce(deps.cp, e.subscriptionId, e.vaultName, e.data.itemName, {
    pointId: e.data.pointId,
    pointTime: e.data.pointTime,
    sizeBytes: e.data.bytesRead,
    consistency: e.data.sourceKind === 'diskImage' ? 'CrashConsistent' : 'FileSystemConsistent',
  });
  await deps.cp.items.apply(e.subscriptionId, e.vaultName, e.data.itemName, {
    kind: 'backupSucceeded',
    at: e.data.pointTime,
  });
  await deps.cp.jobs.finish(e.subscriptionId, e.vaultName, jobId, {
    status: 'Completed',
    bytesTransferred: e.data.bytesUploaded,
  });
  return {
    outcome: added
      ? `recovery point for ${e.data.pointId} added`
      : `recovery point for ${e.data.pointId} existed`,
    jobId,
  };
}

/** Applies one event exactly once in effect. Throws OFFLINE.EVENT_INVALID (never retry) or retryable errors. */
export async function applyHelperEvent(deps: HelperEventDeps, raw: unknown): Promise<EventOutcome> {
  const e = parseHelperEvent(raw);
  const key = eventKeyOf(e.id);
  const { status, claim } = await deps.store.claimEvent(key, e.id, deps.now(), EVENT_CLAIM_STALE_MS);
  if (status === 'done') return { applied: false, outcome: claim.outcome ?? 'already applied' };
  let outcome: string;
  let jobId: string | undefined;
  if (e.kind === 'staged') outcome = await applyStaged(deps, e);
  else ({ outcome, jobId } = await applyBackupCompleted(deps, e, key, claim));
  await deps.store.updateEvent(key, {
    id: e.id,
    state: 'done',
    claimedTime: claim.claimedTime,
    ...(jobId !== undefined ? { jobId } : {}),
    outcome,
  });
  return { applied: true, outcome };
}
