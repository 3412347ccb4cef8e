// Offline seeding's rows, through the StateStore port (Azure Tables in the app, memStateStore in unit
// tests), in their own table so they never touch the control plane's partitions:
//
//   partition `~offline`, row <import job name>          OfflineBackupDoc (names are unique across the
//                                                         service, as the emulator's job table is)
//   partition `~escrow`,  row <keyId>                    a drive key wrapped for the service (never plaintext)
//   partition `~events`,  row sha256(idempotency key)    one helper event's claim and outcome
//   partition <sub>,      row `server|<vault>|<server>`  a registered on-prem server
//   partition <sub>,      row `cred|<vault>|<id>`        a vault credentials file (its secret only hashed)
//
// Every change is a read-modify-write under the row's ETag, retried when another writer won.
import { hasErrorCode } from '../errors';
import { STATE_ERROR, type StateDocument, type StateStore } from '../state/stateStore';
import type { OfflineBackupDoc } from './offlineBackup';
import { OFFLINE_ERROR_CODES, OfflineError } from './offlineErrors';
import { queryAll } from '../state/queryAll';

export const OFFLINE_TABLE = 'StrongboxOffline';
const OFFLINE_PARTITION = '~offline';
const ESCROW_PARTITION = '~escrow';
const EVENTS_PARTITION = '~events';
/** Read-modify-write attempts before giving up on a hot row. */
const UPDATE_ATTEMPTS = 10;

export interface ServerDoc {
  readonly serverName: string;
  readonly subscriptionId: string;
  readonly vaultName: string;
  /**
   * The vault's vaultId when the server registered. Rows are keyed by vault name, and a vault can be
   * deleted and re-created under the same name: a row of an earlier vault is treated as absent
   * (offlineService.ts, "one vault's rows").
   */
  readonly vaultId: string;
  /** 32 hex: the partition of the server's vault container (`server-<serverId>`). */
  readonly serverId: string;
  readonly registrationId: string;
  readonly registeredTime: string;
  readonly registeredBy: string;
  /** itemName (lower case) -> what the server protects under that item. */
  readonly sources: Readonly<Record<string, { readonly kind: string; readonly path: string }>>;
  readonly [field: string]: unknown;
}

export interface CredentialDoc {
  readonly registrationId: string;
  readonly subscriptionId: string;
  readonly vaultName: string;
  /** The vaultId it was issued for: credentials of a deleted vault never register into its successor. */
  readonly vaultId: string;
  /** SHA-256 of the registration secret, hex: the secret itself is shown once and never stored. */
  readonly secretSha256: string;
  readonly issuedTime: string;
  readonly expiresTime: string;
  readonly issuedBy: string;
  readonly [field: string]: unknown;
}

export interface EscrowDoc {
  readonly keyId: string;
  readonly driveId: string;
  /** RSA-OAEP of the drive key for the service's escrow key (driveKeyWrap.ts), base64. */
  readonly wrappedKey: string;
  readonly escrowKid: string;
  readonly importJobName: string;
  readonly [field: string]: unknown;
}

export interface EventClaimDoc {
  readonly id: string;
  readonly state: 'processing' | 'done';
  readonly claimedTime: string;
  /** Ids created by the first attempt (a Backup job), reused by a retry so nothing is created twice. */
  readonly jobId?: string;
  readonly outcome?: string;
  readonly [field: string]: unknown;
}

const k = (s: string) => s.toLowerCase();

/**
 * Whether an offline row (server, credential, import job) belongs to the vault as it is now: rows are
 * keyed by vault name, and a vault can be deleted and re-created under it (offlineService.ts, "one
 * vault's rows"). A row from before rows recorded their vaultId has none and is taken as the
 * vault's own (nothing could re-create a vault under it before that release).
 */
export function ofCurrentVault(row: { readonly vaultId?: unknown }, vaultId: string): boolean {
  return row.vaultId === undefined || row.vaultId === vaultId;
}

export interface OfflineStore {
  getBackup(name: string): Promise<{ doc: OfflineBackupDoc; etag: string } | undefined>;
  /** ALREADY_EXISTS (STATE code) if the name is taken. */
  insertBackup(doc: OfflineBackupDoc): Promise<void>;
  /** `change` returns the new doc, or undefined to leave the row as is. OFFLINE.JOB_NOT_FOUND if absent. */
  updateBackup(
    name: string,
    change: (doc: OfflineBackupDoc) => OfflineBackupDoc | undefined,
  ): Promise<OfflineBackupDoc>;
  listBackups(sub: string, vault: string): Promise<OfflineBackupDoc[]>;

  getServer(
    sub: string,
    vault: string,
    server: string,
  ): Promise<{ doc: ServerDoc; etag: string } | undefined>;
  insertServer(doc: ServerDoc): Promise<void>;
  updateServer(
    sub: string,
    vault: string,
    server: string,
    change: (doc: ServerDoc) => ServerDoc | undefined,
  ): Promise<ServerDoc>;

  getCredential(sub: string, vault: string, id: string): Promise<CredentialDoc | undefined>;
  insertCredential(doc: CredentialDoc): Promise<void>;

  getEscrow(keyId: string): Promise<EscrowDoc | undefined>;
  /** Insert-if-absent; an identical row already there is fine, a different one is OFFLINE.ESCROW_FAILED. */
  putEscrow(doc: EscrowDoc): Promise<void>;

  /**
   * Claims an event: 'new' (go ahead), 'done' (already applied: do nothing), or 'retry' (a previous claim
   * crashed before finishing and is older than `staleMs`: go ahead, reusing its ids).
   * Throws OFFLINE.EVENT_IN_PROGRESS when another delivery holds a fresh claim (try again later).
   */
  claimEvent(
    key: string,
    id: string,
    now: Date,
    staleMs: number,
  ): Promise<{ status: 'new' | 'retry' | 'done'; claim: EventClaimDoc }>;
  updateEvent(key: string, claim: EventClaimDoc): Promise<void>;
}

export function offlineStore(store: StateStore): OfflineStore {
  const T = OFFLINE_TABLE;

  async function rmw<D extends StateDocument>(
    pk: string,
    rk: string,
    notFound: () => Error,
    change: (doc: D) => D | undefined,
  ): Promise<D> {
    for (let attempt = 1; ; attempt += 1) {
      const row = await store.get<D>(T, pk, rk);
      if (!row) throw notFound();
      const next = change(row.value);
      if (next === undefined) return row.value;
      try {
        await store.update(T, pk, rk, next, row.etag);
        return next;
      } catch (err) {
        if (!hasErrorCode(err, STATE_ERROR.PRECONDITION_FAILED) || attempt >= UPDATE_ATTEMPTS) throw err;
      }
    }
  }

  const backupNotFound = (name: string) => () =>
    new OfflineError(OFFLINE_ERROR_CODES.JOB_NOT_FOUND, `offline backup ${name} does not exist`);

  return {
    async getBackup(name) {
      const row = await store.get<OfflineBackupDoc>(T, OFFLINE_PARTITION, k(name));
      return row ? { doc: row.value, etag: row.etag } : undefined;
    },
    async insertBackup(doc) {
      // Lower-case copies for the listing filter: names are case-insensitive (ARM), filters are not.
      await store.insert(T, OFFLINE_PARTITION, k(doc.name), {
        ...doc,
        subscriptionKey: k(doc.subscriptionId),
        vaultKey: k(doc.vaultName),
      });
    },
    updateBackup(name, change) {
      return rmw<OfflineBackupDoc>(OFFLINE_PARTITION, k(name), backupNotFound(name), change);
    },
    async listBackups(sub, vault) {
      const rows = await queryAll<OfflineBackupDoc>(store, T, OFFLINE_PARTITION, {
        where: [
          { field: 'subscriptionKey', op: 'eq', value: k(sub) },
          { field: 'vaultKey', op: 'eq', value: k(vault) },
        ],
      });
      return rows.map((e) => e.value);
    },

    async getServer(sub, vault, server) {
      const row = await store.get<ServerDoc>(T, k(sub), `server|${k(vault)}|${k(server)}`);
      return row ? { doc: row.value, etag: row.etag } : undefined;
    },
    async insertServer(doc) {
      await store.insert(T, k(doc.subscriptionId), `server|${k(doc.vaultName)}|${k(doc.serverName)}`, doc);
    },
    updateServer(sub, vault, server, change) {
      return rmw<ServerDoc>(
        k(sub),
        `server|${k(vault)}|${k(server)}`,
        () => new OfflineError(OFFLINE_ERROR_CODES.SERVER_NOT_FOUND, `server ${server} is not registered`),
        change,
      );
    },

    async getCredential(sub, vault, id) {
      return (await store.get<CredentialDoc>(T, k(sub), `cred|${k(vault)}|${k(id)}`))?.value;
    },
    async insertCredential(doc) {
      await store.insert(T, k(doc.subscriptionId), `cred|${k(doc.vaultName)}|${k(doc.registrationId)}`, doc);
    },

    async getEscrow(keyId) {
      return (await store.get<EscrowDoc>(T, ESCROW_PARTITION, k(keyId)))?.value;
    },
    async putEscrow(doc) {
      try {
        await store.insert(T, ESCROW_PARTITION, k(doc.keyId), doc);
      } catch (err) {
        if (!hasErrorCode(err, STATE_ERROR.ALREADY_EXISTS)) throw err;
        const existing = (await store.get<EscrowDoc>(T, ESCROW_PARTITION, k(doc.keyId)))?.value;
        if (
          existing?.wrappedKey !== doc.wrappedKey ||
          existing.driveId !== doc.driveId ||
          existing.importJobName !== doc.importJobName
        ) {
          throw new OfflineError(
            OFFLINE_ERROR_CODES.ESCROW_FAILED,
            `key id ${doc.keyId} is already escrowed for another drive`,
            { driveId: doc.driveId },
          );
        }
      }
    },

    async claimEvent(key, id, now, staleMs) {
      const claim: EventClaimDoc = { id, state: 'processing', claimedTime: now.toISOString() };
      try {
        await store.insert(T, EVENTS_PARTITION, key, claim);
        return { status: 'new', claim };
      } catch (err) {
        if (!hasErrorCode(err, STATE_ERROR.ALREADY_EXISTS)) throw err;
      }
      for (let attempt = 1; ; attempt += 1) {
        const row = await store.get<EventClaimDoc>(T, EVENTS_PARTITION, key);
        if (!row) throw new OfflineError(OFFLINE_ERROR_CODES.EVENT_IN_PROGRESS, `event ${id} claim vanished`);
        if (row.value.state === 'done') return { status: 'done', claim: row.value };
        if (now.getTime() - Date.parse(row.value.claimedTime) < staleMs) {
          throw new OfflineError(
            OFFLINE_ERROR_CODES.EVENT_IN_PROGRESS,
            `event ${id} is being applied by another delivery; retry later`,
          );
        }
        const taken: EventClaimDoc = { ...row.value, claimedTime: now.toISOString() };
        try {
          await store.update(T, EVENTS_PARTITION, key, taken, row.etag);
          return { status: 'retry', claim: taken };
        } catch (err) {
          if (!hasErrorCode(err, STATE_ERROR.PRECONDITION_FAILED) || attempt >= UPDATE_ATTEMPTS) throw err;
        }
      }
    },
    async updateEvent(key, claim) {
      await store.upsert(T, EVENTS_PARTITION, key, claim);
    },
  };
}
