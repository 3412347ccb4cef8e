// The DriveKeyEscrow port: hands a drive's key to the service, wrapped, and gets it back on the
// service side when the drive arrives. Like BitLocker recovery keys in Azure Import/Export, the key
// never travels on the drive and is never written to disk in plaintext; only `keyId` is public.
// Adapters: localDriveKeyEscrow (a key-encryption key file, like the vault's localKeyFileProvider);
// serviceDriveKeyEscrow (RSA-OAEP to the service's key). A Key Vault adapter needs a version-2 wrap:
// Key Vault's unwrapKey takes no OAEP label, which is how the drive id is bound today.

export interface DriveKeyEscrow {
  /** Wraps and stores `key` for `driveId`; returns the id the drive label and the import job carry. */
  escrow(driveId: string, key: Buffer): Promise<string>;
  /**
   * The plaintext key, for the helper (resume) and the datacenter (import). The caller zeroes it after
   * use. OFFLINE.ESCROW_FAILED if missing, wrapped for another drive, or tampered with.
   */
  recover(driveId: string, keyId: string): Promise<Buffer>;
}
