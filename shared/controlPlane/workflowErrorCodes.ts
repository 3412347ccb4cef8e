// API error codes of the workflows, one block per workflow so that each area adds its own codes without
// touching the others'. apiErrors.ts merges them into the one code -> status map. Codes are public API:
// never rename or reuse one.

/** VM protection (issue 5): discover, register, protect, back up, restore, stop protection. */
export const VM_API_ERROR_STATUS = {
  /** A discovery of the vault's VMs is already running; one runs per vault at a time. */
  DiscoveryInProgress: 409,
  /** The VM is not among the vault's discovered VMs (run discovery; only the vault's region is listed). */
  VmNotDiscovered: 409,
  /** The VM was discovered in another region than the vault's. */
  VmNotInVaultRegion: 409,
  /** The VM is already an item of the vault. */
  VmAlreadyRegistered: 409,
  /** Back up now / stop protection of an item that is not protected (only registered, or stopped). */
  ItemNotProtected: 409,
  /**
   * The item is soft deleted: it can only be read, undeleted (POST .../undelete) or, with soft delete
   * Disabled on the vault, deleted for good.
   */
  ItemSoftDeleted: 409,
  /** The vault is immutable (Enabled or Locked): deleting backup data or shortening retention is refused. */
  BlockedByImmutableVault: 409,
} as const;

/** Offline seeding (issue 6): import jobs, shipping details, tracking numbers. */
export const OFFLINE_API_ERROR_STATUS = {
  /** The vault credentials file's secret is wrong, unknown to this vault, or expired (10 days). */
  InvalidVaultCredentials: 400,
  ServerNotFound: 404,
  ImportJobNotFound: 404,
  /** Another import job already uses this tracking number (enforced by a conditional write). */
  TrackingNumberInUse: 409,
  /** The import job expired (a deadline passed) or failed; it takes nothing more. */
  ImportJobExpired: 409,
  /** The request does not fit the import job's current state (the message says what would). */
  ImportJobStateConflict: 409,
  /** Import job names are unique across the service. */
  ImportJobNameInUse: 409,
  /** An item can be in one active offline backup at a time. */
  OfflineBackupInProgress: 409,
  /** This deployment has no ImportService adapter (the Azure Import/Export one is not implemented). */
  OfflineSeedingUnavailable: 501,
} as const;
