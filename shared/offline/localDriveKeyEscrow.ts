// DriveKeyEscrow adapter for the local emulator: wraps each drive key with the vault's local KEK-file
// provider (AES-256-GCM, associated data bound to the drive id and the key id, docs/format.md "Keys")
// and stores the envelope as `<dir>/<keyId>.json`. The directory stands for the service's key store.
import { mkdir, open, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { localKeyFileProvider } from '../vault';
import type { DriveKeyEscrow } from './driveKeyEscrow';
import { OFFLINE_ERROR_CODES, OfflineError } from './offlineErrors';

export interface LocalDriveKeyEscrowOptions {
  /** The key-encryption key file (32 raw bytes, mode 0600; created on first use). */
  kekPath: string;
  /** Where wrapped keys are kept. */
  dir: string;
}

const KEY_ID_PATTERN = /^[0-9a-f]{1,64}$/;

export function localDriveKeyEscrow(opts: LocalDriveKeyEscrowOptions): DriveKeyEscrow {
  const provider = localKeyFileProvider(opts.kekPath);
  const fileOf = (keyId: string): string => {
    if (!KEY_ID_PATTERN.test(keyId)) {
      throw new OfflineError(OFFLINE_ERROR_CODES.ESCROW_FAILED, `malformed key id ${JSON.stringify(keyId)}`);
    }
    return path.join(opts.dir, `${keyId}.json`);
  };
  return {
    async escrow(driveId, key) {
      await mkdir(path.dirname(opts.kekPath), { recursive: true });
      await mkdir(opts.dir, { recursive: true });
      // WrapContext.vaultId is the AAD binding; for drives it is the drive id.
      const wrapped = await provider.wrap(key, { vaultId: driveId });
      const handle = await open(fileOf(wrapped.keyId), 'wx', 0o600);
      try {
        await handle.writeFile(wrapped.wrapped);
        await handle.sync();
      } finally {
        await handle.close();
      }
      return wrapped.keyId;
    },
    async recover(driveId, keyId) {
      let wrapped: Buffer;
      try {
        wrapped = await readFile(fileOf(keyId));
      } catch (err) {
        throw new OfflineError(
          OFFLINE_ERROR_CODES.ESCROW_FAILED,
          `no escrowed key ${keyId} for drive ${driveId}`,
          { driveId },
          { cause: err },
        );
      }
      try {
        return await provider.unwrap({ keyId, wrapped }, { vaultId: driveId });
      } catch (err) {
        throw new OfflineError(
          OFFLINE_ERROR_CODES.ESCROW_FAILED,
          `escrowed key ${keyId} does not unwrap for drive ${driveId}: ${(err as Error).message}`,
          { driveId },
          { cause: err },
        );
      }
    },
  };
}
