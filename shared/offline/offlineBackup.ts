// The "offline backup" resource: one admin's decision to seed a server's first backup by shipping drives
// (Azure Backup's "Initiate offline backup"), and the workflow state that the durable orchestration moves
// along. Pure: documents, states, deadlines and the "what must the admin do next" text. Storage is in
// offlineStore.ts; the API logic in offlineService.ts; the orchestration in functions/offline.

/** Named safety limits of the workflow (docs/offline-seeding.md "Deadlines"). */
export const DAY_MS = 24 * 60 * 60 * 1000;
/** Azure Import/Export: the tracking number must be entered within 14 days of creating the import job. */
export const TRACKING_NUMBER_DEADLINE_MS = 14 * DAY_MS;
/** Azure Import/Export: the drives must reach the datacenter within 14 days of the shipping details. */
export const DRIVES_DEADLINE_MS = 14 * DAY_MS;
/**
 * Ours: staging and diskprep must create the import job within 30 days of initiating the offline backup
 * (terabytes take days to stage; a forgotten initiation must not hold the item forever).
 */
export const STAGING_DEADLINE_MS = 30 * DAY_MS;
/**
 * durable-functions has known trouble with single timers longer than 6 days, so every long wait is a chain
 * of timers of at most this length (issue 6).
 */
export const MAX_TIMER_MS = 5 * DAY_MS;
/** How often the import job's status is polled while drives are in transit or being imported. */
export const IMPORT_POLL_INTERVAL_MS = DAY_MS;
/** The vault credentials file is valid this long (Azure: 10 days). */
export const VAULT_CREDENTIALS_VALIDITY_MS = 10 * DAY_MS;

export const OFFLINE_BACKUP_STATES = [
  'WaitingForStaging',
  'WaitingForShipping',
  'InTransit',
  'WaitingForScheduledBackup',
  'CopyingToVault',
  'Completed',
  'Expired',
  'Failed',
] as const;
export type OfflineBackupState = (typeof OFFLINE_BACKUP_STATES)[number];

export const TERMINAL_STATES: ReadonlySet<OfflineBackupState> = new Set(['Completed', 'Expired', 'Failed']);

/** The job text the portal shows for an item whose initial backup is seeded offline (issue 6). */
export const WAITING_FOR_IMPORT_DETAIL = 'Waiting for import job to complete';
export const COPYING_DETAIL = 'Copying the imported data into the vault';

export interface StagedPoint {
  readonly itemName: string;
  /** The vault point id (docs/format.md: 13-digit ms, '-', 12 hex). */
  readonly pointId: string;
  readonly sizeBytes: number;
}

export interface PreparedDriveRecord {
  readonly driveIndex: number;
  readonly driveId: string;
  readonly keyId: string;
}

export interface OfflineBackupDoc {
  /** The import job name, unique in the subscription. */
  readonly name: string;
  readonly subscriptionId: string;
  readonly vaultName: string;
  /** The vault's vaultId at creation (see ServerDoc.vaultId). */
  readonly vaultId: string;
  readonly serverName: string;
  /** The serverId of the registration it was created under: a server re-registered since is another. */
  readonly serverId: string;
  readonly itemNames: readonly string[];
  readonly stagingLocation: string;
  readonly storageAccount: string;
  readonly storageSubscriptionId: string;
  readonly container: string;
  readonly state: OfflineBackupState;
  /** itemName (lower case) -> the item's OfflineSeeding job id. */
  readonly jobIds: Readonly<Record<string, string>>;
  readonly durableInstanceId: string;
  readonly createdTime: string;
  readonly updatedTime: string;
  /** Set by the helper through the API (import job created with these drives). */
  readonly drives?: readonly PreparedDriveRecord[];
  readonly importJobCreatedTime?: string;
  readonly stagedPoints?: readonly StagedPoint[];
  readonly staged?: { readonly bytes: number; readonly files: number; readonly reportedTime: string };
  readonly shipping?: {
    readonly carrier: string;
    readonly trackingNumber: string;
    readonly enteredTime: string;
  };
  /** Deadlines and milestones on the workflow's timeline (the orchestration's clock). */
  readonly stagingDeadline?: string;
  readonly trackingDeadline?: string;
  readonly drivesDeadline?: string;
  readonly importCompletedTime?: string;
  readonly scheduledCopyTime?: string;
  readonly copy?: {
    readonly objectsCopied: number;
    readonly objectsSkipped: number;
    readonly bytesCopied: number;
  };
  readonly stagingDeletable: boolean;
  readonly error?: { readonly code: string; readonly message: string };
  readonly [field: string]: unknown;
}

/** Where the import job stands, as far as the next action depends on it (a subset of ImportJob). */
export interface ImportSnapshot {
  readonly state: string;
  readonly shipTo: string;
  readonly deletedAt?: string;
  readonly drives: ReadonlyArray<{
    readonly driveId: string;
    readonly state: string;
    readonly errors: ReadonlyArray<{
      readonly code: string;
      readonly file?: string;
      readonly message: string;
    }>;
  }>;
}

/** One sentence: what the admin must do now (or that nothing is needed). Pure. */
export function nextActionOf(doc: OfflineBackupDoc, imp?: ImportSnapshot): string {
  const staging = doc.stagingLocation;
  switch (doc.state) {
    case 'WaitingForStaging':
      return (
        `Back up to the staging location (strongbox-helper backup), then prepare drives ` +
        `(strongbox-helper diskprep s:${staging})` +
        (doc.stagingDeadline ? ` before ${doc.stagingDeadline}.` : '.')
      );
    case 'WaitingForShipping':
      return (
        `Ship the drives to ${imp?.shipTo ?? 'the datacenter'} and enter the carrier and tracking number ` +
        `(strongbox-helper diskprep u:)` +
        (doc.trackingDeadline ? ` by ${doc.trackingDeadline}.` : '.')
      );
    case 'InTransit': {
      const failed = (imp?.drives ?? [])
        .map((d, i) => ({ d, i: doc.drives?.find((x) => x.driveId === d.driveId)?.driveIndex ?? i }))
        .filter(({ d }) => d.state === 'Failed');
      if (failed.length > 0) {
        return failed
          .map(
            ({ d, i }) =>
              `Drive ${i} (${d.driveId}) failed: ${d.errors.map((e) => (e.file ? `${e.file}: ${e.code}` : e.code)).join('; ')}. ` +
              `Re-prepare it (strongbox-helper diskprep s:${staging} --drive-index ${i} --drive <dir>) and ship it again.`,
          )
          .join(' ');
      }
      if (imp?.state === 'Shipping') {
        return `Nothing; the drives must reach the datacenter by ${doc.drivesDeadline ?? 'the deadline'}.`;
      }
      return 'Nothing; the datacenter is importing the drives.';
    }
    case 'WaitingForScheduledBackup':
      return `Nothing; the imported data is copied into the vault at the next scheduled backup (${doc.scheduledCopyTime ?? 'soon'}).`;
    case 'CopyingToVault':
      return 'Nothing; the imported data is being copied into the vault.';
    case 'Completed':
      return `Delete the staging location ${staging}; the initial backup is in the vault and backups continue online.`;
    case 'Expired':
      return `${doc.error?.message ?? 'The offline backup expired.'} Run strongbox-helper backup to send the initial backup online, or initiate a new offline backup.`;
    case 'Failed':
      return `${doc.error?.message ?? 'The offline backup failed.'} Run strongbox-helper backup to send the initial backup online, or initiate a new offline backup.`;
  }
}

/** The item's job text for a state. */
export function jobDetailOf(state: OfflineBackupState): string {
  return state === 'CopyingToVault' ? COPYING_DETAIL : WAITING_FOR_IMPORT_DETAIL;
}

/** The workflow's durable instance id: one per offline backup, deterministic, so starting twice is harmless. */
export function offlineInstanceIdOf(subscriptionId: string, vaultName: string, name: string): string {
  return `offline:${subscriptionId}:${vaultName}:${name}`.toLowerCase();
}
