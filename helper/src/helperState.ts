// What the helper remembers on this machine, in its state directory (`--state-dir`,
// $STRONGBOX_HELPER_HOME, ~/.strongbox-helper), one JSON file each, written atomically with mode 0600:
//
//   registration.json        the vault and server this machine is registered as (no secrets)
//   sources.json             what is protected: item -> source, policy, offline seeding, last point
//   offline/<job>.json       one offline backup: staging, staged points, drives, shipping details
//   escrow/<keyId>.json      a drive key, wrapped twice: for the service, and under escrow.kek for resume
//   escrow.kek               the helper's local key-encryption key (32 bytes, mode 0600)
//
// Never written here: the passphrase, a plaintext key, a SAS URL, an API token.
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { StagedPoint } from '../../shared/offline/offlineBackup';

export interface Registration {
  readonly serviceUrl: string;
  readonly subscriptionId: string;
  readonly vaultName: string;
  readonly vaultId: string;
  readonly serverName: string;
  readonly serverId: string;
  readonly escrowKey: { readonly kid: string; readonly publicKeyPem: string };
  readonly registeredTime: string;
}

export interface SourceRecord {
  readonly itemName: string;
  readonly kind: 'directoryTree' | 'diskImage';
  readonly path: string;
  readonly policyName: string;
  /** Set when the item's initial backup is seeded offline. */
  readonly offline?: { readonly importJobName: string; readonly staging: string };
  /** The item's newest vault point (the parent of the next backup). */
  readonly lastPointId?: string;
}

export interface OfflineRecord {
  readonly name: string;
  readonly staging: string;
  readonly storageAccount: string;
  readonly container: string;
  readonly itemNames: readonly string[];
  readonly points: readonly StagedPoint[];
  readonly stagedBytes?: number;
  readonly drives: ReadonlyArray<{ index: number; dir: string; driveId: string; keyId: string }>;
  readonly shipping?: {
    readonly carrier: string;
    readonly trackingNumber: string;
    readonly returnAddress: string;
    readonly savedAt: string;
  };
}

async function writeJson(file: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${randomUUID()}.tmp`;
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, file);
}

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

export function helperState(dir: string) {
  const registrationFile = path.join(dir, 'registration.json');
  const sourcesFile = path.join(dir, 'sources.json');
  const offlineFile = (name: string) => path.join(dir, 'offline', `${name}.json`);
  return {
    dir,
    kekPath: path.join(dir, 'escrow.kek'),
    escrowDir: path.join(dir, 'escrow'),
    registration: () => readJson<Registration>(registrationFile),
    saveRegistration: (r: Registration) => writeJson(registrationFile, r),
    async sources(): Promise<Record<string, SourceRecord>> {
      return (await readJson<Record<string, SourceRecord>>(sourcesFile)) ?? {};
    },
    async saveSource(s: SourceRecord): Promise<void> {
      const all = (await readJson<Record<string, SourceRecord>>(sourcesFile)) ?? {};
      all[s.itemName.toLowerCase()] = s;
      await writeJson(sourcesFile, all);
    },
    offlineFile,
    offline: (name: string) => readJson<OfflineRecord>(offlineFile(name)),
    async offlineAll(): Promise<OfflineRecord[]> {
      const names = await readdir(path.join(dir, 'offline')).catch(() => [] as string[]);
      const out: OfflineRecord[] = [];
      for (const n of names.filter((x) => x.endsWith('.json'))) {
        const r = await readJson<OfflineRecord>(path.join(dir, 'offline', n));
        if (r) out.push(r);
      }
      return out;
    },
    async saveOffline(r: OfflineRecord): Promise<string> {
      await writeJson(offlineFile(r.name), r);
      return offlineFile(r.name);
    },
  };
}

export type HelperState = ReturnType<typeof helperState>;
