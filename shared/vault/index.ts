// The vault data plane's public surface. Everything else in this folder is an implementation detail.
export {
  createVault,
  DEFAULT_BLOCK_SIZE_BYTES,
  DEFAULT_PACK_TARGET_BYTES,
  type CreateVaultOptions,
} from './createVault';
export { openVault } from './openVault';
export { backup, type BackupOptions, type BackupResult } from './backup';
export { restore, type RestoreOptions, type RestoreResult } from './restore';
export { verify, type DamageReport, type VerifyOptions } from './verify';
export {
  QUARANTINE_REASON,
  loadQuarantine,
  type QuarantineReason,
  type QuarantineRecord,
} from './quarantine';
export {
  GC_SAFETY_MARGIN_MS,
  REPACK_UNUSED_FRACTION,
  planPrune,
  readVaultSnapshot,
  type PlanPruneOptions,
  type PruneDamage,
  type PrunePlan,
  type VaultSnapshot,
} from './planPrune';
export {
  PRUNE_GRACE_MS,
  executePrune,
  prune,
  type ExecutePruneOptions,
  type PruneOptions,
  type PruneResult,
} from './executePrune';
export { POINT_WRITE_WINDOW_MS } from './commitPoint';
export { UNINDEXED_PACK_MAX_AGE_MS, refreshIndex, type TornPack } from './refreshIndex';
export type {
  BackupSource,
  ByteRange,
  ChangedRanges,
  ChangedRangesResult,
  DirectoryTreeSource,
  DiskImageSource,
  DiskReader,
} from './backupSource';
export {
  DEFAULT_SEGMENT_BYTES,
  backupDiskSegment,
  commitDiskBackup,
  planDiskBackup,
  pointIdOfPlan,
  type BackupDiskSegmentOptions,
  type CommitDiskBackupOptions,
  type CommitDiskBackupResult,
  type DiskBackupPlan,
  type DiskBackupSegment,
  type DiskSegmentResult,
  type PlanDiskBackupInput,
  type SegmentResult,
} from './diskSegments';
export {
  RESTORE_WRITE_MAX_BYTES,
  RESTORE_WRITES_IN_FLIGHT,
  restoreDisk,
  type DiskWriter,
  type RestoreDiskOptions,
  type RestoreDiskResult,
} from './restoreDisk';
export type { KeyProvider, WrapContext, WrappedKey } from './keyProvider';
export { localKeyFileProvider } from './localKeyFileProvider';
export { keyVaultKeyProvider, type KeyVaultKeyOps } from './keyVaultKeyProvider';
export { passphraseKeyProvider, MIN_PASSPHRASE_CHARS } from './passphraseKeyProvider';
export { listPointIds, readPoint, type RecoveryPoint } from './recoveryPoint';
export type { Progress, ProgressCallback } from './progress';
export type { Vault } from './vault';
export { VAULT_ERROR_CODES, KEY_ERROR_CODES, VaultError } from './vaultErrors';
