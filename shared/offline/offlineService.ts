// The service side of offline seeding behind the API (functions/offline/offlineRoutes.ts is only the
// HTTP edge): vault credentials, server registration, data access for helpers, protecting a helper's
// source, the "initiate offline backup" resource, import jobs (drives, shipping details) and helper
// events over HTTP. Everything time-based that has a deadline is decided by the durable orchestration on
// its own clock; this module records facts (drives prepared, shipping entered) and wakes it.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { Principal } from '../auth/tokenVerifier';
import { ApiError } from '../controlPlane/apiErrors';
import type { ControlPlane } from '../controlPlane/controlPlane';
import type { ItemDoc } from '../controlPlane/itemService';
import { NAME_RULES, sameName } from '../controlPlane/names';
import { parseBody } from '../controlPlane/requestValidation';
import { hasErrorCode, StrongboxError } from '../errors';
import { STATE_ERROR } from '../state/stateStore';
import { vaultContainerName } from '../vaultStorage/vaultContainers';
import type { DataAccess, ContainerAccess, QueueAccess } from './dataAccess';
import { JOB_NAME_PATTERN } from './driveFormat';
import { escrowKidOf, type EscrowPublicKey } from './driveKeyWrap';
import { applyHelperEvent, HELPER_EVENTS_QUEUE, POINT_ID, type HelperEventDeps } from './helperEvents';
import type { ImportJob, ImportService } from './importService';
import { normalizeTrackingNumber } from './trackingNumbers';
import {
  TERMINAL_STATES,
  VAULT_CREDENTIALS_VALIDITY_MS,
  jobDetailOf,
  nextActionOf,
  offlineInstanceIdOf,
  type OfflineBackupDoc,
  type StagedPoint,
} from './offlineBackup';
import { OFFLINE_ERROR_CODES } from './offlineErrors';
import { ofCurrentVault, type OfflineStore, type ServerDoc } from './offlineStore';
import {
  CREDENTIALS_FORMAT,
  CREDENTIALS_VERSION,
  REGISTRATION_SECRET_BYTES,
  secretMatches,
  secretSha256,
  type VaultCredentialsFile,
} from './vaultCredentials';

/** How long a helper's data SAS lasts; it asks for a fresh one at the start of every command. */
export const DATA_ACCESS_VALIDITY_MS = 24 * 60 * 60 * 1000;
/** Server names: a host name, as MARS shows them. */
export const SERVER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
/** Azure: storage account names are 3-24 lower-case letters and digits. */
const STORAGE_ACCOUNT = /^[a-z0-9]{3,24}$/;
/** Azure: container names are 3-63 lower-case letters, digits and single hyphens, not at either end. */
const CONTAINER = /^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$/;
const HEX32 = /^[0-9a-f]{32}$/;
const MAX_DRIVES = 100;
/** Control-plane answers meaning an item job is no longer there to annotate. */
const GONE: ReadonlySet<string> = new Set(['JobNotFound', 'VaultNotFound', 'VaultIsBeingDeleted']);

export interface OfflineWorkflowInput {
  readonly subscriptionId: string;
  readonly vaultName: string;
  readonly name: string;
}

/** The durable side, as the API needs it (functions/offline adapts the DurableClient to this). */
export interface OfflineWorkflow {
  /** Starts the orchestration if it is not running yet (same instance id every time). */
  start(instanceId: string, input: OfflineWorkflowInput): Promise<void>;
  /** Tells it that something it waits for has changed. 'finished' if it has already ended. */
  wake(instanceId: string): Promise<'woken' | 'finished' | 'missing'>;
}

export interface OfflineServiceDeps {
  readonly cp: ControlPlane;
  readonly store: OfflineStore;
  /** Throws OFFLINE_SEEDING_UNAVAILABLE (an ApiError) when no ImportService adapter is configured. */
  readonly imports: () => ImportService;
  readonly dataAccess: DataAccess;
  readonly escrowKey: () => Promise<EscrowPublicKey>;
  readonly vaultContainerPrefix: string;
  /** The storage account import jobs can write to (the service's own; it copies from there). */
  readonly importStorageAccount: string;
  readonly helperEvents: Omit<HelperEventDeps, 'now'>;
  readonly now: () => Date;
}

// --- errors --------------------------------------------------------------------------------------------

/** OFFLINE.* codes -> API codes (the OFFLINE block of workflowErrorCodes.ts). Other errors pass through. */
export function toApiError(err: unknown): unknown {
  if (err instanceof ApiError || !(err instanceof StrongboxError)) return err;
  const m = err.message;
  switch (err.code) {
    case OFFLINE_ERROR_CODES.JOB_NOT_FOUND:
      return new ApiError('ImportJobNotFound', m, 'importJobName');
    case OFFLINE_ERROR_CODES.SERVER_NOT_FOUND:
      return new ApiError('ServerNotFound', m, 'serverName');
    case OFFLINE_ERROR_CODES.TRACKING_NUMBER_IN_USE:
      return new ApiError('TrackingNumberInUse', m, 'trackingNumber');
    case OFFLINE_ERROR_CODES.JOB_DELETED:
    case OFFLINE_ERROR_CODES.JOB_EXPIRED:
      return new ApiError('ImportJobExpired', m, 'importJobName');
    case OFFLINE_ERROR_CODES.INVALID_STATE:
      return new ApiError('ImportJobStateConflict', m);
    case OFFLINE_ERROR_CODES.JOB_EXISTS:
      return new ApiError('ImportJobNameInUse', m, 'importJobName');
    case OFFLINE_ERROR_CODES.CREDENTIALS_INVALID:
      return new ApiError('InvalidVaultCredentials', m, 'body.registrationSecret');
    case OFFLINE_ERROR_CODES.EVENT_INVALID:
    case OFFLINE_ERROR_CODES.INVALID_ARGUMENT:
      return new ApiError('InvalidRequestBody', m, 'body');
    case OFFLINE_ERROR_CODES.EVENT_IN_PROGRESS:
      return new ApiError('ConcurrencyConflict', m);
    case OFFLINE_ERROR_CODES.ESCROW_FAILED:
      return new ApiError('InvalidRequestBody', m, 'body.properties.drives');
    case OFFLINE_ERROR_CODES.STORAGE_FAILED:
      return new ApiError('ServiceUnavailable', 'Storage is temporarily unavailable. Retry later.');
    default:
      return err;
  }
}

export const OFFLINE_SEEDING_UNAVAILABLE = () =>
  new ApiError(
    'OfflineSeedingUnavailable',
    'Offline seeding is not available in this deployment: it needs an ImportService (the Azure ' +
      'Import/Export adapter needs the STRONGBOX_IMPORT_* settings) and a drive-key escrow, which has no ' +
      'Azure adapter yet; the local emulator runs with connection-string storage.',
  );

function checkParam(kind: 'serverName' | 'importJobName', value: string): string {
  const ok = kind === 'serverName' ? SERVER_NAME.test(value) : JOB_NAME_PATTERN.test(value);
  if (!ok) {
    throw new ApiError(
      'InvalidResourceName',
      kind === 'serverName'
        ? `serverName '${value}' must be 1-63 letters, digits, '.', '-' or '_', starting with a letter or digit`
        : `importJobName '${value}' must be 3-63 lower-case letters, digits or '-', starting with a letter or digit`,
      kind,
    );
  }
  return value;
}

// --- resources -------------------------------------------------------------------------------------------

export function serverContainerOf(prefix: string, sub: string, vault: string, serverId: string): string {
  return vaultContainerName(prefix, sub, vault, `server-${serverId}`);
}

function serverResourceOf(doc: ServerDoc, container: string) {
  return {
    id: `/subscriptions/${doc.subscriptionId}/vaults/${doc.vaultName}/servers/${doc.serverName}`,
    name: doc.serverName,
    type: 'Strongbox/vaults/servers',
    properties: {
      serverId: doc.serverId,
      registeredTime: doc.registeredTime,
      container,
      protectedSources: Object.entries(doc.sources).map(([item, s]) => ({ itemName: item, ...s })),
    },
  };
}

function deadlinesOf(doc: OfflineBackupDoc) {
  return {
    ...(doc.stagingDeadline ? { staging: doc.stagingDeadline } : {}),
    ...(doc.trackingDeadline ? { trackingNumber: doc.trackingDeadline } : {}),
    ...(doc.drivesDeadline ? { drives: doc.drivesDeadline } : {}),
  };
}

export function offlineBackupResourceOf(doc: OfflineBackupDoc, imp?: ImportJob, shipTo?: string) {
  return {
    id: `/subscriptions/${doc.subscriptionId}/vaults/${doc.vaultName}/offlineBackups/${doc.name}`,
    name: doc.name,
    type: 'Strongbox/vaults/offlineBackups',
    properties: {
      serverName: doc.serverName,
      itemNames: doc.itemNames,
      stagingLocation: doc.stagingLocation,
      importJobName: doc.name,
      storageSubscriptionId: doc.storageSubscriptionId,
      storageAccount: doc.storageAccount,
      container: doc.container,
      state: doc.state,
      jobIds: doc.jobIds,
      deadlines: deadlinesOf(doc),
      ...(doc.scheduledCopyTime ? { scheduledCopyTime: doc.scheduledCopyTime } : {}),
      stagingDeletable: doc.stagingDeletable,
      nextAction: nextActionOf(doc, imp ? snapshotOf(imp, shipTo ?? '') : undefined),
      ...(doc.error ? { error: doc.error } : {}),
      durableInstanceId: doc.durableInstanceId,
      createdTime: doc.createdTime,
      updatedTime: doc.updatedTime,
    },
  };
}

function snapshotOf(imp: ImportJob, shipTo: string) {
  return {
    state: imp.state,
    shipTo,
    ...(imp.deletedAt ? { deletedAt: imp.deletedAt } : {}),
    drives: imp.drives,
  };
}

export function importJobResourceOf(doc: OfflineBackupDoc, imp: ImportJob | undefined, shipTo: string) {
  const indexOf = (driveId: string) => doc.drives?.find((d) => d.driveId === driveId)?.driveIndex;
  return {
    id: `/subscriptions/${doc.subscriptionId}/vaults/${doc.vaultName}/importJobs/${doc.name}`,
    name: doc.name,
    type: 'Strongbox/vaults/importJobs',
    properties: {
      offlineBackupState: doc.state,
      state: imp ? imp.state : 'NotCreated',
      ...(imp?.deletedAt ? { deleted: { time: imp.deletedAt, reason: imp.deleteReason ?? '' } } : {}),
      serverName: doc.serverName,
      itemNames: doc.itemNames,
      storageAccount: doc.storageAccount,
      container: doc.container,
      shipTo,
      ...(doc.shipping
        ? { shipping: { carrier: doc.shipping.carrier, trackingNumber: doc.shipping.trackingNumber } }
        : {}),
      drives: (imp?.drives ?? []).map((d) => ({
        driveIndex: indexOf(d.driveId) ?? null,
        driveId: d.driveId,
        state: d.state,
        bytesTransferred: d.bytesTransferred,
        filesTransferred: d.filesTransferred,
        errors: d.errors,
      })),
      bytesCopied: imp?.bytesTransferred ?? 0,
      bytesCopiedToVault: doc.copy?.bytesCopied ?? 0,
      deadlines: deadlinesOf(doc),
      ...(doc.scheduledCopyTime ? { scheduledCopyTime: doc.scheduledCopyTime } : {}),
      nextAction: nextActionOf(doc, imp ? snapshotOf(imp, shipTo) : undefined),
      stagingDeletable: doc.stagingDeletable,
      ...(doc.error ? { error: doc.error } : {}),
    },
  };
}

// --- request bodies ------------------------------------------------------------------------------------

const RegisterBody = z.strictObject({
  registrationId: z.string().regex(HEX32, { error: 'must be 32 hex characters (from the credentials file)' }),
  registrationSecret: z.string().min(1, { error: 'is required (from the credentials file)' }),
});

const itemName = z.string().regex(NAME_RULES.itemName.pattern, { error: NAME_RULES.itemName.rule });

const ProtectBody = z.strictObject({
  itemName,
  source: z.strictObject({
    kind: z.enum(['directoryTree', 'diskImage'], { error: 'must be "directoryTree" or "diskImage"' }),
    path: z.string().min(1).max(1024),
  }),
  policyName: z.string().regex(NAME_RULES.policyName.pattern, { error: NAME_RULES.policyName.rule }),
});

const OfflineBackupBody = z.strictObject({
  properties: z.strictObject({
    serverName: z.string().regex(SERVER_NAME, { error: 'must be a registered server name' }),
    itemNames: z.array(itemName).min(1, { error: 'must name at least one item' }).max(50),
    stagingLocation: z.string().min(1, { error: 'is required' }).max(1024),
    storageAccount: z
      .string()
      .regex(STORAGE_ACCOUNT, { error: 'must be 3-24 lower-case letters and digits' }),
    storageSubscriptionId: z
      .string()
      .regex(NAME_RULES.subscriptionId.pattern, { error: NAME_RULES.subscriptionId.rule })
      .optional(),
    container: z.string().regex(CONTAINER, {
      error: 'must be 3-63 lower-case letters, digits and single hyphens (an Azure container name)',
    }),
  }),
});

const ImportJobBody = z.strictObject({
  properties: z.strictObject({
    drives: z
      .array(
        z.strictObject({
          driveIndex: z.number().int().nonnegative(),
          driveId: z.string().regex(HEX32, { error: 'must be 32 hex characters' }),
          keyId: z.string().regex(HEX32, { error: 'must be 32 hex characters' }),
          wrappedKey: z.string().regex(/^[A-Za-z0-9+/]{40,1400}={0,2}$/, { error: 'must be base64' }),
        }),
      )
      .min(1, { error: 'must list at least one drive' })
      .max(MAX_DRIVES),
    escrowKeyId: z.string().min(1),
    points: z
      .array(
        z.strictObject({
          itemName,
          pointId: z.string().regex(POINT_ID, { error: 'must be a vault point id' }),
          sizeBytes: z.number().int().nonnegative(),
        }),
      )
      .max(100)
      .optional(),
  }),
});

const ShippingBody = z.strictObject({
  carrier: z.string().trim().min(1, { error: 'is required' }).max(100),
  trackingNumber: z
    .string()
    .transform(normalizeTrackingNumber)
    .pipe(z.string().regex(/^[A-Z0-9-]{4,64}$/, { error: 'must be 4-64 letters, digits or dashes' })),
  returnAddress: z.string().trim().min(1, { error: 'is required' }).max(500),
});

// --- the service -----------------------------------------------------------------------------------------

export function offlineService(deps: OfflineServiceDeps) {
  const { cp, store } = deps;

  async function mustBackup(sub: string, vault: string, name: string): Promise<OfflineBackupDoc> {
    checkParam('importJobName', name);
    await cp.vaults.read(sub, vault);
    const row = await store.getBackup(name);
    // Another vault's or subscription's job is "not found" here: names never confirm others' resources.
    // So is a job of an earlier vault of the same name (one vault's rows, below).
    const v = await cp.vaults.read(sub, vault);
    if (
      !row ||
      !sameName(row.doc.subscriptionId, sub) ||
      !sameName(row.doc.vaultName, vault) ||
      !sameVault(row.doc, v)
    ) {
      throw new ApiError('ImportJobNotFound', `The import job '${name}' was not found.`, 'importJobName');
    }
    return row.doc;
  }

  const sameVault = (row: { readonly vaultId?: unknown }, v: { doc: { vaultId: string } }): boolean =>
    ofCurrentVault(row, v.doc.vaultId);

  // One vault's rows. Offline rows are keyed by vault name, and a vault can be deleted (once it holds
  // no items) and re-created under the same name. Its credentials, servers and import jobs are not
  // deleted with it (they live in the offline table, which the control plane does not know); instead
  // each row records the vaultId it was made for, and a row whose vaultId is not the current vault's
  // is treated as absent. So a credentials file of the deleted vault cannot register a server into
  // the new one, an old server is "not registered", and old import jobs are not listed (their names
  // stay taken: import job names are unique across the service).
  async function mustServer(sub: string, vault: string, server: string): Promise<ServerDoc> {
    checkParam('serverName', server);
    const v = await cp.vaults.read(sub, vault);
    const row = await store.getServer(sub, vault, server);
    if (!row || !sameVault(row.doc, v)) {
      throw new ApiError('ServerNotFound', `The server '${server}' is not registered.`, 'serverName');
    }
    return row.doc;
  }

  /** Sets `statusDetail` on the item jobs that are still running (best effort: a job row is theirs). */
  async function annotateJobs(doc: OfflineBackupDoc, detail: string): Promise<void> {
    for (const jobId of Object.values(doc.jobIds)) {
      try {
        await cp.jobs.annotate(doc.subscriptionId, doc.vaultName, jobId, detail);
      } catch (err) {
        // The job (or its vault) is gone: nothing to annotate.
        if (!(err instanceof ApiError && GONE.has(err.code))) throw err;
      }
    }
  }

  async function importJobOf(doc: OfflineBackupDoc): Promise<ImportJob | undefined> {
    if (doc.importJobCreatedTime === undefined) return undefined;
    try {
      return await deps.imports().getJob(doc.name);
    } catch (err) {
      if (hasErrorCode(err, OFFLINE_ERROR_CODES.JOB_NOT_FOUND)) return undefined;
      throw err;
    }
  }

  const shipTo = (): string => {
    try {
      return deps.imports().shipToAddress();
    } catch {
      return '';
    }
  };

  return {
    annotateJobs,

    async issueCredentials(principal: Principal, sub: string, vault: string): Promise<VaultCredentialsFile> {
      const v = await cp.vaults.read(sub, vault);
      const escrow = await deps.escrowKey();
      const now = deps.now();
      const registrationId = randomBytes(16).toString('hex');
      const registrationSecret = randomBytes(REGISTRATION_SECRET_BYTES).toString('base64url');
      const expiresTime = new Date(now.getTime() + VAULT_CREDENTIALS_VALIDITY_MS).toISOString();
      await store.insertCredential({
        registrationId,
        subscriptionId: v.doc.subscriptionId,
        vaultName: v.doc.name,
        vaultId: v.doc.vaultId,
        secretSha256: secretSha256(registrationSecret),
        issuedTime: now.toISOString(),
        expiresTime,
        issuedBy: principal.id,
      });
      return {
        format: CREDENTIALS_FORMAT,
        version: CREDENTIALS_VERSION,
        subscriptionId: v.doc.subscriptionId,
        vaultName: v.doc.name,
        vaultId: v.doc.vaultId,
        registrationId,
        registrationSecret,
        issuedTime: now.toISOString(),
        expiresTime,
        escrowKey: { kid: escrow.kid, publicKeyPem: escrow.publicKeyPem },
      };
    },

    async registerServer(principal: Principal, sub: string, vault: string, server: string, body: unknown) {
      checkParam('serverName', server);
      const b = parseBody(RegisterBody, body);
      const v = await cp.vaults.read(sub, vault);
      const cred = await store.getCredential(sub, vault, b.registrationId);
      const now = deps.now();
      if (!cred || !sameVault(cred, v) || !secretMatches(b.registrationSecret, cred.secretSha256)) {
        throw new ApiError(
          'InvalidVaultCredentials',
          'The vault credentials are not valid for this vault; download new ones (POST .../vaultCredentials).',
          'body.registrationSecret',
        );
      }
      if (now.getTime() >= Date.parse(cred.expiresTime)) {
        throw new ApiError(
          'InvalidVaultCredentials',
          `The vault credentials expired at ${cred.expiresTime} (they are valid for 10 days); download new ones.`,
          'body.registrationSecret',
        );
      }
      const fresh: ServerDoc = {
        serverName: server,
        subscriptionId: v.doc.subscriptionId,
        vaultName: v.doc.name,
        vaultId: v.doc.vaultId,
        serverId: randomBytes(16).toString('hex'),
        registrationId: b.registrationId,
        registeredTime: now.toISOString(),
        registeredBy: principal.id,
        sources: {},
      };
      let doc: ServerDoc | undefined = (await store.getServer(sub, vault, server))?.doc;
      if (!doc) {
        try {
          await store.insertServer(fresh);
          doc = fresh;
        } catch (err) {
          if (!hasErrorCode(err, STATE_ERROR.ALREADY_EXISTS)) throw err;
          doc = (await store.getServer(sub, vault, server))?.doc;
        }
      }
      if (doc && (!sameVault(doc, v) || doc.registrationId !== b.registrationId)) {
        doc = await store.updateServer(sub, vault, server, (d) =>
          !sameVault(d, v)
            ? // A server of an earlier vault of this name: registered anew, with a new id and container.
              fresh
            : // Re-registering (a reinstalled helper): the server keeps its id, and so its vault container.
              {
                ...d,
                registrationId: b.registrationId,
                registeredTime: now.toISOString(),
                registeredBy: principal.id,
              },
        );
      }
      if (!doc) throw new ApiError('ConcurrencyConflict', 'The server was registered concurrently; retry.');
      const container = serverContainerOf(deps.vaultContainerPrefix, sub, vault, doc.serverId);
      await deps.dataAccess.ensureContainer(container);
      return serverResourceOf(doc, container);
    },

    async getServer(sub: string, vault: string, server: string) {
      const doc = await mustServer(sub, vault, server);
      return serverResourceOf(doc, serverContainerOf(deps.vaultContainerPrefix, sub, vault, doc.serverId));
    },

    async dataAccessFor(sub: string, vault: string, server: string) {
      const doc = await mustServer(sub, vault, server);
      const container = serverContainerOf(deps.vaultContainerPrefix, sub, vault, doc.serverId);
      const now = deps.now();
      await deps.dataAccess.ensureContainer(container);
      const blob: ContainerAccess = await deps.dataAccess.containerSas(
        container,
        now,
        DATA_ACCESS_VALIDITY_MS,
      );
      const events: QueueAccess | undefined = await deps.dataAccess.queueSas(
        HELPER_EVENTS_QUEUE,
        now,
        DATA_ACCESS_VALIDITY_MS,
      );
      return { serverId: doc.serverId, container, blob, ...(events ? { events } : {}) };
    },

    async protect(sub: string, vault: string, server: string, body: unknown) {
      const s = await mustServer(sub, vault, server);
      const b = parseBody(ProtectBody, body);
      const sourceId = `strongbox-helper://${s.serverName}/${b.source.kind}/${b.source.path}`;
      // Omit<> over ItemDoc's index signature erases its named fields; they are there (itemResourceOf).
      const props = (r: { properties: unknown }) => r.properties as ItemDoc & { protectionStatus: string };
      let item;
      try {
        item = await cp.items.get(sub, vault, b.itemName);
      } catch (err) {
        if (!hasErrorCode(err, 'ProtectedItemNotFound')) throw err;
        await cp.items.register(sub, vault, {
          name: b.itemName,
          sourceId,
          friendlyName: `${s.serverName}: ${b.source.path}`,
        });
        item = await cp.items.get(sub, vault, b.itemName);
      }
      if (props(item).sourceId !== sourceId) {
        throw new ApiError(
          'ResourceAlreadyExists',
          `The item '${b.itemName}' already protects another source (${props(item).sourceId}).`,
          'body.itemName',
        );
      }
      const policy = props(item).policyName;
      if (policy === undefined || !sameName(policy, b.policyName)) {
        item = await cp.items.apply(sub, vault, b.itemName, {
          kind:
            props(item).protectionState === 'ProtectionStopped' ? 'resumeProtection' : 'configureProtection',
          policyName: b.policyName,
        });
      }
      await store.updateServer(sub, vault, server, (d) =>
        d.sources[b.itemName.toLowerCase()]?.path === b.source.path
          ? undefined
          : {
              ...d,
              sources: {
                ...d.sources,
                [b.itemName.toLowerCase()]: { kind: b.source.kind, path: b.source.path },
              },
            },
      );
      return item;
    },

    async putOfflineBackup(
      workflow: OfflineWorkflow,
      sub: string,
      vault: string,
      name: string,
      body: unknown,
    ) {
      checkParam('importJobName', name);
      const b = parseBody(OfflineBackupBody, body).properties;
      deps.imports(); // refuse early when offline seeding is not available here
      if (b.storageAccount !== deps.importStorageAccount) {
        throw new ApiError(
          'InvalidRequestBody',
          `properties.storageAccount must be '${deps.importStorageAccount}': the service copies imported data from its own storage account`,
          'properties.storageAccount',
        );
      }
      const v = await cp.vaults.read(sub, vault);
      const server = await mustServer(sub, vault, b.serverName);
      const itemNames = [...new Set(b.itemNames.map((i) => i.toLowerCase()))];
      for (const i of itemNames) {
        if (server.sources[i] === undefined) {
          throw new ApiError(
            'InvalidRequestBody',
            `properties.itemNames: '${i}' is not a source protected by server '${server.serverName}' (protect it first)`,
            'properties.itemNames',
          );
        }
      }
      const existing = (await store.getBackup(name))?.doc;
      if (existing) {
        if (
          !sameName(existing.subscriptionId, sub) ||
          !sameName(existing.vaultName, vault) ||
          !sameVault(existing, v)
        ) {
          throw new ApiError(
            'ImportJobNameInUse',
            `The import job name '${name}' is already in use.`,
            'importJobName',
          );
        }
        for (const [field, was, now] of [
          ['serverName', existing.serverName, b.serverName],
          ['stagingLocation', existing.stagingLocation, b.stagingLocation],
          ['storageAccount', existing.storageAccount, b.storageAccount],
          ['container', existing.container, b.container],
        ] as const) {
          if (field === 'serverName' ? !sameName(was, now) : was !== now) {
            throw new ApiError(
              'PropertyCannotBeChanged',
              `properties.${field} cannot be changed once the offline backup is initiated (it is '${was}').`,
              `properties.${field}`,
            );
          }
        }
      }
      // The items must wait for their first backup and not be in another offline backup.
      const others = (await store.listBackups(sub, vault)).filter(
        (d) => sameVault(d, v) && !TERMINAL_STATES.has(d.state) && d.name !== name,
      );
      const added = itemNames.filter((i) => !existing?.itemNames.some((x) => sameName(x, i)));
      for (const i of added) {
        const it = (await cp.items.get(sub, vault, i)).properties as unknown as ItemDoc & {
          protectionStatus: string;
        };
        if (it.protectionState !== 'ProtectedInitialBackupPending' || it.recoveryPointCount > 0) {
          throw new ApiError(
            'InvalidStateTransition',
            `The item '${i}' is ${it.protectionStatus}; offline seeding is only for an item's initial backup.`,
            'properties.itemNames',
          );
        }
        const busy = others.find((d) => d.itemNames.some((x) => sameName(x, i)));
        if (busy) {
          throw new ApiError(
            'OfflineBackupInProgress',
            `The item '${i}' is already being seeded by offline backup '${busy.name}' (${busy.state}).`,
            'properties.itemNames',
          );
        }
      }
      if (existing && added.length > 0 && existing.state !== 'WaitingForStaging') {
        throw new ApiError(
          'ImportJobStateConflict',
          `Items can be added only before drives are prepared; offline backup '${name}' is ${existing.state}.`,
          'properties.itemNames',
        );
      }
      const instanceId = offlineInstanceIdOf(v.doc.subscriptionId, v.doc.name, name);
      const now = deps.now().toISOString();
      const jobIds: Record<string, string> = { ...(existing?.jobIds ?? {}) };
      for (const i of added) {
        const job = await cp.jobs.start(sub, vault, {
          operation: 'OfflineSeeding',
          itemName: i,
          durableInstanceId: instanceId,
        });
        jobIds[i] = job.name;
      }
      let doc: OfflineBackupDoc;
      if (!existing) {
        doc = {
          name,
          subscriptionId: v.doc.subscriptionId,
          vaultName: v.doc.name,
          vaultId: v.doc.vaultId,
          serverName: server.serverName,
          serverId: server.serverId,
          itemNames,
          stagingLocation: b.stagingLocation,
          storageAccount: b.storageAccount,
          storageSubscriptionId: b.storageSubscriptionId ?? v.doc.subscriptionId,
          container: b.container,
          state: 'WaitingForStaging',
          jobIds,
          durableInstanceId: instanceId,
          createdTime: now,
          updatedTime: now,
          stagingDeletable: false,
        };
        try {
          await store.insertBackup(doc);
        } catch (err) {
          if (!hasErrorCode(err, STATE_ERROR.ALREADY_EXISTS)) throw err;
          throw new ApiError(
            'ConcurrencyConflict',
            `The import job '${name}' was created concurrently; retry.`,
          );
        }
      } else {
        doc = await store.updateBackup(name, (d) =>
          added.length === 0
            ? undefined
            : {
                ...d,
                itemNames: [...d.itemNames, ...added],
                jobIds: { ...d.jobIds, ...jobIds },
                updatedTime: now,
              },
        );
      }
      await annotateJobs(doc, jobDetailOf(doc.state));
      // Always (re)start: idempotent, and it finishes a PUT that crashed between the insert and the start.
      if (!TERMINAL_STATES.has(doc.state))
        await workflow.start(instanceId, {
          subscriptionId: doc.subscriptionId,
          vaultName: doc.vaultName,
          name,
        });
      const firstJob = Object.values(doc.jobIds)[0] ?? '';
      return { created: !existing, jobId: firstJob, resource: offlineBackupResourceOf(doc) };
    },

    async getOfflineBackup(sub: string, vault: string, name: string) {
      const doc = await mustBackup(sub, vault, name);
      return offlineBackupResourceOf(doc, await importJobOf(doc), shipTo());
    },

    async listOfflineBackups(sub: string, vault: string) {
      const v = await cp.vaults.read(sub, vault);
      const docs = (await store.listBackups(sub, vault)).filter((d) => sameVault(d, v));
      return Promise.all(docs.map(async (d) => offlineBackupResourceOf(d, await importJobOf(d), shipTo())));
    },

    async putImportJob(workflow: OfflineWorkflow, sub: string, vault: string, name: string, body: unknown) {
      const doc = await mustBackup(sub, vault, name);
      const b = parseBody(ImportJobBody, body).properties;
      const imports = deps.imports();
      const escrow = await deps.escrowKey();
      if (b.escrowKeyId !== escrow.kid) {
        throw new ApiError(
          'InvalidRequestBody',
          `properties.escrowKeyId: the drive keys were wrapped for escrow key ${b.escrowKeyId}, but the service's is ${escrow.kid}; download new vault credentials`,
          'properties.escrowKeyId',
        );
      }
      const indexes = b.drives.map((d) => d.driveIndex).sort((x, y) => x - y);
      if (indexes.some((x, i) => x !== i)) {
        throw new ApiError(
          'InvalidRequestBody',
          'properties.drives: driveIndex must run 0, 1, 2, … without gaps',
          'properties.drives',
        );
      }
      if (doc.state !== 'WaitingForStaging' && doc.state !== 'WaitingForShipping') {
        throw new ApiError(
          doc.state === 'Expired' ? 'ImportJobExpired' : 'ImportJobStateConflict',
          `The import job '${name}' is ${doc.state}; its drives can no longer change. ${nextActionOf(doc)}`,
        );
      }
      const points: StagedPoint[] = b.points ?? [...(doc.stagedPoints ?? [])];
      for (const i of doc.itemNames) {
        if (!points.some((p) => sameName(p.itemName, i))) {
          throw new ApiError(
            'ImportJobStateConflict',
            `Item '${i}' has no staged backup yet: run strongbox-helper backup (offline) before preparing drives.`,
            'properties.points',
          );
        }
      }
      const drives = [...b.drives].sort((x, y) => x.driveIndex - y.driveIndex);
      for (const d of drives) {
        await store.putEscrow({
          keyId: d.keyId,
          driveId: d.driveId,
          wrappedKey: d.wrappedKey,
          escrowKid: escrowKidOf(escrow.publicKeyPem),
          importJobName: name,
        });
      }
      await imports.createJob(
        {
          name,
          storageAccount: doc.storageAccount,
          container: doc.container,
          drives: drives.map((d) => ({ driveId: d.driveId, keyId: d.keyId })),
        },
        deps.now(),
      );
      const now = deps.now().toISOString();
      const updated = await store.updateBackup(name, (d) => {
        if (d.state !== 'WaitingForStaging' && d.state !== 'WaitingForShipping') {
          throw new ApiError('ImportJobStateConflict', `The import job '${name}' is ${d.state}.`);
        }
        return {
          ...d,
          state: 'WaitingForShipping',
          drives: drives.map((x) => ({ driveIndex: x.driveIndex, driveId: x.driveId, keyId: x.keyId })),
          stagedPoints: points,
          importJobCreatedTime: d.importJobCreatedTime ?? now,
          updatedTime: now,
        };
      });
      await workflow.wake(updated.durableInstanceId);
      return importJobResourceOf(updated, await importJobOf(updated), shipTo());
    },

    async putShipping(workflow: OfflineWorkflow, sub: string, vault: string, name: string, body: unknown) {
      const doc = await mustBackup(sub, vault, name);
      const b = parseBody(ShippingBody, body);
      const refuse = (d: OfflineBackupDoc) => {
        if (d.state === 'Expired' || d.state === 'Failed') {
          throw new ApiError(
            'ImportJobExpired',
            `The import job '${name}' is ${d.state}: ${d.error?.message ?? ''}`.trim(),
            'importJobName',
          );
        }
        if (d.state === 'WaitingForStaging') {
          throw new ApiError(
            'ImportJobStateConflict',
            `Prepare the drives first (strongbox-helper diskprep s:${d.stagingLocation}).`,
          );
        }
        if (d.state !== 'WaitingForShipping' && d.shipping?.trackingNumber !== b.trackingNumber) {
          throw new ApiError(
            'ImportJobStateConflict',
            `The import job '${name}' is ${d.state}; shipping details can no longer change.`,
          );
        }
      };
      refuse(doc);
      // The uniqueness rule: one conditional insert in the import service (409 -> TrackingNumberInUse).
      await deps.imports().updateShipping(name, b, deps.now());
      const now = deps.now().toISOString();
      const updated = await store.updateBackup(name, (d) => {
        refuse(d);
        if (d.shipping?.trackingNumber === b.trackingNumber) return undefined;
        return {
          ...d,
          state: 'InTransit',
          shipping: { carrier: b.carrier, trackingNumber: b.trackingNumber, enteredTime: now },
          updatedTime: now,
        };
      });
      if ((await workflow.wake(updated.durableInstanceId)) === 'finished') {
        // It ended (expired) between our checks and the wake: say so rather than pretend it proceeds.
        const after = await mustBackup(sub, vault, name);
        if (after.state === 'Expired' || after.state === 'Failed') refuse(after);
      }
      return importJobResourceOf(updated, await importJobOf(updated), shipTo());
    },

    async getImportJob(sub: string, vault: string, name: string) {
      const doc = await mustBackup(sub, vault, name);
      return importJobResourceOf(doc, await importJobOf(doc), shipTo());
    },

    async listImportJobs(sub: string, vault: string) {
      const v = await cp.vaults.read(sub, vault);
      const docs = (await store.listBackups(sub, vault)).filter((d) => sameVault(d, v));
      return Promise.all(docs.map(async (d) => importJobResourceOf(d, await importJobOf(d), shipTo())));
    },

    async postEvent(sub: string, vault: string, server: string, body: unknown) {
      await mustServer(sub, vault, server);
      const e = body as { subscriptionId?: unknown; vaultName?: unknown; serverName?: unknown };
      if (
        typeof e?.subscriptionId !== 'string' ||
        !sameName(e.subscriptionId, sub) ||
        typeof e.vaultName !== 'string' ||
        !sameName(e.vaultName, vault) ||
        typeof e.serverName !== 'string' ||
        !sameName(e.serverName, server)
      ) {
        throw new ApiError(
          'InvalidRequestBody',
          'body: subscriptionId, vaultName and serverName must match the route',
          'body',
        );
      }
      return applyHelperEvent({ ...deps.helperEvents, now: deps.now }, body);
    },
  };
}

export type OfflineService = ReturnType<typeof offlineService>;
