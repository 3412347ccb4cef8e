// DriveKeyEscrow adapter of the service: drive keys arrive wrapped for the service's escrow key (the
// helper wrapped them with its public half, driveKeyWrap.ts) and are stored so, one row per key id.
// recover() unwraps with the private half when the datacenter imports the drive. The service never
// receives a plaintext drive key, so escrow() refuses: the helper side has its own adapter.
import type { DriveKeyEscrow } from './driveKeyEscrow';
import { unwrapDriveKey, type EscrowKeyPair } from './driveKeyWrap';
import { OFFLINE_ERROR_CODES, OfflineError } from './offlineErrors';
import type { OfflineStore } from './offlineStore';

export function serviceDriveKeyEscrow(
  store: OfflineStore,
  keyPair: () => Promise<EscrowKeyPair>,
): DriveKeyEscrow {
  return {
    escrow(driveId) {
      return Promise.reject(
        new OfflineError(
          OFFLINE_ERROR_CODES.ESCROW_FAILED,
          `the service only accepts drive keys wrapped for it (drive ${driveId})`,
          { driveId },
        ),
      );
    },
    async recover(driveId, keyId) {
      const row = await store.getEscrow(keyId);
      if (!row || row.driveId !== driveId) {
        throw new OfflineError(
          OFFLINE_ERROR_CODES.ESCROW_FAILED,
          `no escrowed key ${keyId} for drive ${driveId}`,
          { driveId },
        );
      }
      const pair = await keyPair();
      if (row.escrowKid !== pair.kid) {
        throw new OfflineError(
          OFFLINE_ERROR_CODES.ESCROW_FAILED,
          `the key of drive ${driveId} was wrapped for escrow key ${row.escrowKid}, not the service's ${pair.kid}`,
          { driveId },
        );
      }
      return unwrapDriveKey(pair.privateKey, driveId, row.wrappedKey);
    },
  };
}
