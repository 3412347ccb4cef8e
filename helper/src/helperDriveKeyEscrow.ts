// DriveKeyEscrow adapter of the helper. Each new drive key is wrapped twice and kept as
// `escrow/<keyId>.json` in the helper's state directory:
//   - for the service: RSA-OAEP under the service's escrow key from the vault credentials
//     (driveKeyWrap.ts); this is what goes to the service with the import job, never the key itself;
//   - for this machine: AES-GCM under the helper's local key file, so an interrupted diskprep can
//     resume (recover) the drive without asking the service, which never hands keys back.
import { mkdir, open, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { DriveKeyEscrow } from '../../shared/offline/driveKeyEscrow';
import { wrapDriveKey } from '../../shared/offline/driveKeyWrap';
import { OFFLINE_ERROR_CODES, OfflineError } from '../../shared/offline/offlineErrors';
import { localKeyFileProvider } from '../../shared/vault';

interface EscrowFile {
  readonly driveId: string;
  readonly keyId: string;
  /** The local envelope (JSON, base64 of its bytes). */
  readonly local: string;
  /** RSA-OAEP for the service, base64. */
  readonly service: string;
  readonly escrowKid: string;
}

const KEY_ID = /^[0-9a-f]{32}$/;

export interface HelperEscrow extends DriveKeyEscrow {
  /** The drive key wrapped for the service (what the import job carries). */
  wrappedForService(keyId: string): Promise<{ driveId: string; wrappedKey: string; escrowKid: string }>;
}

export function helperDriveKeyEscrow(opts: {
  kekPath: string;
  dir: string;
  service: { kid: string; publicKeyPem: string };
}): HelperEscrow {
  const provider = localKeyFileProvider(opts.kekPath);
  const fileOf = (keyId: string) => {
    if (!KEY_ID.test(keyId)) {
      throw new OfflineError(OFFLINE_ERROR_CODES.ESCROW_FAILED, `malformed key id ${JSON.stringify(keyId)}`);
    }
    return path.join(opts.dir, `${keyId}.json`);
  };
  const read = async (keyId: string, driveId?: string): Promise<EscrowFile> => {
    let f: EscrowFile;
    try {
      f = JSON.parse(await readFile(fileOf(keyId), 'utf8')) as EscrowFile;
    } catch (err) {
      throw new OfflineError(
        OFFLINE_ERROR_CODES.ESCROW_FAILED,
        `no escrowed key ${keyId}${driveId ? ` for drive ${driveId}` : ''} in ${opts.dir}`,
        driveId ? { driveId } : {},
        { cause: err },
      );
    }
    if (driveId !== undefined && f.driveId !== driveId) {
      throw new OfflineError(OFFLINE_ERROR_CODES.ESCROW_FAILED, `key ${keyId} belongs to another drive`, {
        driveId,
      });
    }
    return f;
  };
  return {
    async escrow(driveId, key) {
      await mkdir(path.dirname(opts.kekPath), { recursive: true, mode: 0o700 });
      await mkdir(opts.dir, { recursive: true, mode: 0o700 });
      // WrapContext.vaultId is the AAD binding; for drives it is the drive id.
      const local = await provider.wrap(key, { vaultId: driveId });
      const content: EscrowFile = {
        driveId,
        keyId: local.keyId,
        local: Buffer.from(local.wrapped).toString('base64'),
        service: wrapDriveKey(opts.service.publicKeyPem, driveId, key),
        escrowKid: opts.service.kid,
      };
      const handle = await open(fileOf(local.keyId), 'wx', 0o600);
      try {
        await handle.writeFile(JSON.stringify(content, null, 2));
        await handle.sync();
      } finally {
        await handle.close();
      }
      return local.keyId;
    },
    async recover(driveId, keyId) {
      const f = await read(keyId, driveId);
      try {
        return await provider.unwrap(
          { keyId, wrapped: Buffer.from(f.local, 'base64') },
          { vaultId: driveId },
        );
      } catch (err) {
        throw new OfflineError(
          OFFLINE_ERROR_CODES.ESCROW_FAILED,
          `key ${keyId} of drive ${driveId} does not unwrap: ${(err as Error).message}`,
          { driveId },
          { cause: err },
        );
      }
    },
    async wrappedForService(keyId) {
      const f = await read(keyId);
      return { driveId: f.driveId, wrappedKey: f.service, escrowKid: f.escrowKid };
    },
  };
}
