// ImportService adapter for production: Azure Import/Export jobs through ARM
// (@azure/arm-storageimportexport), authenticated with the app's managed identity only (no credential
// chain). The ARM calls go through a narrow seam (ImportJobsApi) so tests replace them without a network.
//
// What Azure does that the emulator does itself: receive the drives, move the job through its states and
// copy the data. So `deliverDrive` and `advance` have nothing to do here, and `poll` is a plain read.
// What we still do ourselves: the tracking-number rule (one conditional insert in the same
// `<prefix>importtracking` table and row shape as localImportService, BEFORE the ARM update), and the
// fields of our port ARM has no place for (container, key ids, deadlines, delete reason), kept in the
// job's ARM tags.
//
// KNOWN GAP (docs/offline-seeding.md, "Production ImportService"): Azure imports only drives prepared
// by WAImportExport (BitLocker + its journal and dataset CSVs). Our drives carry our own format
// (driveFormat.ts: per-drive AES key, escrowed), which Azure cannot read. This adapter speaks the Jobs
// API faithfully, but a real import of our drives needs a WAImportExport preparation path first.
//
// SDK errors are translated here into OFFLINE.* codes (STYLE §3).
import { TableClient } from '@azure/data-tables';
import { ManagedIdentityCredential, type TokenCredential } from '@azure/identity';
import {
  StorageImportExport,
  type DriveStatus,
  type JobResponse,
  type Location,
  type PutJobParameters,
  type ReturnAddress,
  type UpdateJobParameters,
} from '@azure/arm-storageimportexport';
import {
  DEFAULT_IMPORT_SCHEDULE,
  type CreateImportJobRequest,
  type ImportDriveState,
  type ImportDriveStatus,
  type ImportJob,
  type ImportJobState,
  type ImportService,
  type ShippingDetails,
} from './importService';
import {
  normalizeTrackingNumber,
  reserveTrackingNumber as reserveInTable,
  TRACKING_PATTERN,
  type TrackingTable as TrackingCalls,
} from './trackingNumbers';
import { OFFLINE_ERROR_CODES, OfflineError, type OfflineErrorCode } from './offlineErrors';

/** Azure Import/Export: an import job lists at most ten drives. */
export const ARM_MAX_DRIVES_PER_JOB = 10;
/** Azure Resource Manager: a tag value is at most 256 characters. */
const ARM_TAG_VALUE_MAX_CHARS = 256;
/** Same rule as the emulator (localImportService): what a carrier's number may look like once normalized. */
/** Where Azure writes copy logs in the storage account (a virtual directory in the `waimportexport` container). */
const DIAGNOSTICS_PATH = 'waimportexport';

/** Our fields that ARM's Job has no property for, as tag names (tags are the job's only free-form storage). */
export const TAGS = {
  container: 'strongbox-container',
  createdAt: 'strongbox-created',
  shippingDeadline: 'strongbox-shipping-deadline',
  deletedAt: 'strongbox-deleted',
  deleteReason: 'strongbox-delete-reason',
  /** One tag per drive: `strongbox-key-<driveId>` = the escrowed key id. */
  keyPrefix: 'strongbox-key-',
} as const;

/** The seam: the few job operations this adapter needs, bound to one resource group. */
export interface ImportJobsApi {
  get(jobName: string): Promise<JobResponse>;
  create(jobName: string, body: PutJobParameters): Promise<JobResponse>;
  update(jobName: string, body: UpdateJobParameters): Promise<JobResponse>;
  location(locationName: string): Promise<Location>;
}

/** The two calls of the tracking table (a @azure/data-tables TableClient satisfies it). */
export type TrackingTable = TrackingCalls & Pick<TableClient, 'createTable'>;

/** The real seam, over the SDK client. */
export function armImportJobsApi(client: StorageImportExport, resourceGroup: string): ImportJobsApi {
  return {
    get: (name) => client.jobs.get(name, resourceGroup),
    create: (name, body) => client.jobs.create(name, resourceGroup, body),
    update: (name, body) => client.jobs.update(name, resourceGroup, body),
    location: (loc) => client.locations.get(loc),
  };
}

export interface AzureImportServiceOptions {
  jobs: ImportJobsApi;
  tracking: TrackingTable;
  /** Subscription and resource group of the storage account data is imported into (its ARM id is built from them). */
  subscriptionId: string;
  resourceGroup: string;
  /** Azure region of the jobs (and of the storage account): picks the datacenter drives are shipped to. */
  location: string;
  /**
   * The drive's BitLocker recovery key for `driveList[].bitLockerKey`. Absent (today): the field is left
   * out, because our drives are not BitLocker volumes (see the header) and the only key we have is our own
   * per-drive AES key, which Azure cannot use and which must never leave the escrow.
   */
  bitLockerKeyOf?: (driveId: string, keyId: string) => Promise<string>;
  shippingDeadlineMs?: number;
}

export interface AzureImportServiceSettings {
  subscriptionId: string;
  resourceGroup: string;
  location: string;
  /** Client id of the user-assigned identity; absent means the system-assigned one. */
  managedIdentityClientId?: string;
  /** Table service endpoint of the app's storage account (the tracking table lives there). */
  tableEndpoint: string;
  /** Table name prefix: the tracking table is `<prefix>importtracking`, as in localImportService. */
  tablePrefix: string;
  /** Tests only. */
  credential?: TokenCredential;
}

/** Builds the adapter over the SDK with the app's managed identity (ManagedIdentityCredential only). */
export function azureImportServiceFromSettings(s: AzureImportServiceSettings): ImportService {
  const credential =
    s.credential ??
    (s.managedIdentityClientId === undefined
      ? new ManagedIdentityCredential()
      : new ManagedIdentityCredential({ clientId: s.managedIdentityClientId }));
  const client = new StorageImportExport(credential, s.subscriptionId);
  return azureImportService({
    jobs: armImportJobsApi(client, s.resourceGroup),
    tracking: new TableClient(s.tableEndpoint, `${s.tablePrefix}importtracking`, credential),
    subscriptionId: s.subscriptionId,
    resourceGroup: s.resourceGroup,
    location: s.location,
  });
}

// ---- error translation ------------------------------------------------------------------------------

interface RestErrorLike {
  statusCode?: number;
  code?: string;
  message?: string;
}

function statusOf(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null ? (err as RestErrorLike).statusCode : undefined;
}

/** Worth retrying: throttling, timeouts, server errors and failures with no response at all. */
export function isTransient(status: number | undefined): boolean {
  return status === undefined || status === 408 || status === 429 || status >= 500;
}

/**
 * ARM error → OFFLINE.* error. `notFound` and `conflict` name what 404 and 409 mean for this call.
 * 401/403 and transient failures become STORAGE_FAILED (the API answers 503, retry later): offlineErrors has
 * no code for "the identity lacks a role", so the message says it.
 */
export function translateArmError(
  what: string,
  err: unknown,
  meaning: { notFound?: OfflineErrorCode; conflict?: OfflineErrorCode } = {},
): OfflineError {
  if (err instanceof OfflineError) return err;
  const status = statusOf(err);
  const armCode = typeof err === 'object' && err !== null ? (err as RestErrorLike).code : undefined;
  const detail = `${status !== undefined ? `HTTP ${status}` : 'no response'}${armCode ? ` ${armCode}` : ''}`;
  const make = (code: OfflineErrorCode, message: string) =>
    new OfflineError(code, message, {}, { cause: err });
  if (status === 404 && meaning.notFound) return make(meaning.notFound, `${what}: not found (${detail})`);
  if (status === 409) {
    return make(meaning.conflict ?? OFFLINE_ERROR_CODES.INVALID_STATE, `${what}: conflict (${detail})`);
  }
  if (status === 400) {
    // ARM's own message says which property it refused; it never holds our secrets (we send none).
    const m = (err as RestErrorLike).message ?? '';
    return make(
      OFFLINE_ERROR_CODES.INVALID_ARGUMENT,
      `${what}: Azure refused the request (${detail}) ${m}`.trim(),
    );
  }
  if (status === 401 || status === 403) {
    return make(
      OFFLINE_ERROR_CODES.STORAGE_FAILED,
      `${what}: the app's managed identity is not allowed to manage Import/Export jobs (${detail})`,
    );
  }
  return make(
    OFFLINE_ERROR_CODES.STORAGE_FAILED,
    `${what} failed${isTransient(status) ? ' (transient, retry)' : ''} (${detail})`,
  );
}

// ---- state mapping ----------------------------------------------------------------------------------

/** ARM job state → our state, and whether the job is over without an import (cancelled or deleted). */
export const ARM_JOB_STATES: Readonly<Record<string, { state: ImportJobState; cancelled: boolean }>> = {
  Creating: { state: 'Creating', cancelled: false },
  Shipping: { state: 'Shipping', cancelled: false },
  Received: { state: 'Received', cancelled: false },
  Transferring: { state: 'Transferring', cancelled: false },
  Packaging: { state: 'Packaging', cancelled: false },
  Completed: { state: 'Completed', cancelled: false },
  // Azure: "Closed" = drives shipped back after errors; per-drive states say which failed.
  Closed: { state: 'Completed', cancelled: false },
  // Our port has no "cancelled" state: a cancelled job is reported as over (Completed) with deletedAt set,
  // and every consumer checks deletedAt first (offlineSteps.pollImport).
  ClosedOrCancelled: { state: 'Completed', cancelled: true },
  Cancelled: { state: 'Completed', cancelled: true },
  Deleted: { state: 'Completed', cancelled: true },
};

export function mapJobState(armState: string | undefined): { state: ImportJobState; cancelled: boolean } {
  const m = ARM_JOB_STATES[armState ?? ''];
  if (!m) {
    throw new OfflineError(
      OFFLINE_ERROR_CODES.INVALID_STATE,
      `Azure Import/Export reported an unknown job state '${armState ?? '(none)'}'`,
    );
  }
  return m;
}

/** Azure DriveState (Specified, Received, NeverReceived, Transferring, Completed, CompletedMoreInfo, ShippedBack). */
export function mapDrive(d: DriveStatus, keyId: string): ImportDriveStatus {
  const id = d.driveId ?? '';
  // A log URL is a blob in our account; drop any query string so no SAS reaches a job record or a log.
  const log = d.errorLogUri ? ` (error log: ${d.errorLogUri.split('?')[0] ?? ''})` : '';
  const copyOk = d.copyStatus === undefined || d.copyStatus === 'Completed';
  let state: ImportDriveState;
  let message: string | undefined;
  switch (d.state) {
    case 'Specified':
      state = 'Specified';
      break;
    case 'Received':
      state = 'Received';
      break;
    case 'Transferring':
      state = 'Transferring';
      break;
    case 'Completed':
    case 'ShippedBack':
      state = copyOk ? 'Completed' : 'Failed';
      if (!copyOk) message = `drive ${id}: copy status ${d.copyStatus ?? ''}${log}`;
      break;
    case 'CompletedMoreInfo':
      // Azure finished with errors or warnings: the data may be partial, so the drive does not count.
      state = 'Failed';
      message = `drive ${id}: completed with errors (copy status ${d.copyStatus ?? 'unknown'})${log}`;
      break;
    case 'NeverReceived':
      state = 'Failed';
      message = `drive ${id}: never received by the datacenter`;
      break;
    default:
      state = 'Failed';
      message = `drive ${id}: unknown drive state '${d.state ?? '(none)'}'${log}`;
  }
  return {
    driveId: id,
    keyId,
    state,
    errors: message ? [{ code: OFFLINE_ERROR_CODES.FILE_CORRUPT, message }] : [],
    bytesTransferred: d.bytesSucceeded ?? 0,
    // Azure reports bytes per drive, not files; the file count is known only from our own journal.
    filesTransferred: 0,
  };
}

// ---- addresses --------------------------------------------------------------------------------------

const ADDRESS_FIELDS = [
  'recipientName',
  'streetAddress1',
  'city',
  'postalCode',
  'countryOrRegion',
  'phone',
  'email',
] as const;

/**
 * Our port carries the return address as one string; ARM wants its parts. Accepted form: seven parts
 * separated by newlines or semicolons: recipient; street; city; postal code; country; phone; email.
 */
export function parseReturnAddress(text: string): ReturnAddress {
  const parts = text
    .split(/[\n;]/)
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (parts.length !== ADDRESS_FIELDS.length) {
    throw new OfflineError(
      OFFLINE_ERROR_CODES.INVALID_ARGUMENT,
      'returnAddress: Azure Import/Export needs seven parts separated by ";" or new lines: ' +
        'recipient; street; city; postal code; country; phone; email',
    );
  }
  const [recipientName, streetAddress1, city, postalCode, countryOrRegion, phone, email] = parts as [
    string,
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  return { recipientName, streetAddress1, city, postalCode, countryOrRegion, phone, email };
}

function formatAddress(a: Partial<Record<string, unknown>>, fields: readonly string[]): string {
  return fields
    .map((f) => a[f])
    .filter((v): v is string => typeof v === 'string' && v.trim() !== '')
    .join('; ');
}

const SHIP_TO_FIELDS = [
  'recipientName',
  'streetAddress1',
  'streetAddress2',
  'city',
  'stateOrProvince',
  'postalCode',
  'countryOrRegion',
  'phone',
];

// ---- the adapter ------------------------------------------------------------------------------------

type Tags = Record<string, string>;

function tagsOf(res: JobResponse): Tags {
  const out: Tags = {};
  for (const [k, v] of Object.entries(res.tags ?? {})) if (typeof v === 'string') out[k] = v;
  return out;
}

const tagValue = (s: string): string => s.slice(0, ARM_TAG_VALUE_MAX_CHARS);

export function azureImportService(opts: AzureImportServiceOptions): ImportService {
  const shippingDeadlineMs = opts.shippingDeadlineMs ?? DEFAULT_IMPORT_SCHEDULE.shippingDeadlineMs;
  const storageAccountId = (account: string) =>
    `/subscriptions/${opts.subscriptionId}/resourceGroups/${opts.resourceGroup}` +
    `/providers/Microsoft.Storage/storageAccounts/${account}`;
  let shipTo: string | undefined;
  let shipToLoad: Promise<void> | undefined;
  // shipToAddress() is synchronous in the port: the location's address is fetched once, in the background
  // of the first job call, and a job's own shippingInformation (authoritative) replaces it when read.
  const loadShipTo = (): void => {
    shipToLoad ??= opts.jobs.location(opts.location).then(
      (loc) => {
        shipTo ??= formatAddress(loc as Record<string, unknown>, SHIP_TO_FIELDS);
      },
      () => {
        shipToLoad = undefined; // retried on the next call; the address is not worth failing a job call
      },
    );
  };

  let trackingReady: Promise<void> | undefined;
  const ensureTracking = (): Promise<void> =>
    (trackingReady ??= (async () => {
      try {
        await opts.tracking.createTable();
      } catch (err) {
        trackingReady = undefined;
        throw translateArmError('creating the tracking table', err);
      }
    })());

  function toJob(res: JobResponse): ImportJob {
    const p = res.properties ?? {};
    const tags = tagsOf(res);
    const { state, cancelled } = mapJobState(p.state);
    const changedAt = res.systemData?.lastModifiedAt?.toISOString();
    const createdAt = tags[TAGS.createdAt] ?? res.systemData?.createdAt?.toISOString() ?? '';
    const name = res.name ?? '';
    if (p.shippingInformation) {
      const a = formatAddress(p.shippingInformation as Record<string, unknown>, SHIP_TO_FIELDS);
      if (a !== '') shipTo = a;
    }
    const drives = (p.driveList ?? []).map((d) =>
      mapDrive(d, tags[`${TAGS.keyPrefix}${d.driveId ?? ''}`] ?? ''),
    );
    const deletedAt =
      tags[TAGS.deletedAt] ??
      (cancelled || p.cancelRequested === true ? (changedAt ?? createdAt) : undefined);
    const job: ImportJob = {
      name,
      storageAccount: (p.storageAccountId ?? '').split('/').pop() ?? '',
      container: tags[TAGS.container] ?? '',
      prefix: `${name}/`,
      state,
      createdAt,
      // ARM keeps no per-state timestamp; the last change of the resource is the closest it has.
      stateSince: changedAt ?? createdAt,
      shippingDeadline:
        tags[TAGS.shippingDeadline] ??
        (createdAt ? new Date(Date.parse(createdAt) + shippingDeadlineMs).toISOString() : ''),
      drives,
      bytesTransferred: drives.reduce((n, d) => n + d.bytesTransferred, 0),
    };
    if (p.deliveryPackage) {
      job.shipping = {
        carrier: p.deliveryPackage.carrierName,
        trackingNumber: p.deliveryPackage.trackingNumber,
        returnAddress: p.returnAddress
          ? formatAddress(p.returnAddress as unknown as Record<string, unknown>, ADDRESS_FIELDS)
          : '',
      };
    }
    if (deletedAt !== undefined) {
      job.deletedAt = deletedAt;
      job.deleteReason = tags[TAGS.deleteReason] ?? `Azure Import/Export job ${p.state ?? ''}`.trim();
    }
    return job;
  }

  async function read(name: string): Promise<{ job: ImportJob; res: JobResponse }> {
    loadShipTo();
    let res: JobResponse;
    try {
      res = await opts.jobs.get(name);
    } catch (err) {
      throw translateArmError(`reading import job ${name}`, err, {
        notFound: OFFLINE_ERROR_CODES.JOB_NOT_FOUND,
      });
    }
    return { job: toJob(res), res };
  }

  function refuseDeleted(job: ImportJob, what: string): void {
    if (job.deletedAt !== undefined) {
      throw new OfflineError(
        OFFLINE_ERROR_CODES.JOB_DELETED,
        `import job ${job.name} was deleted at ${job.deletedAt} (${job.deleteReason ?? 'cancelled'}); ${what}`,
      );
    }
  }

  /** The tracking-number rule (trackingNumbers.ts), in the same table as localImportService. */
  async function reserveTrackingNumber(number: string, jobName: string): Promise<void> {
    await ensureTracking();
    await reserveInTable(opts.tracking, number, jobName, (what, err) => translateArmError(what, err));
  }

  return {
    async createJob(req: CreateImportJobRequest, now: Date): Promise<ImportJob> {
      if (
        !/^[a-z0-9][a-z0-9-]{2,62}$/.test(req.name) ||
        req.drives.length === 0 ||
        req.drives.length > ARM_MAX_DRIVES_PER_JOB
      ) {
        throw new OfflineError(
          OFFLINE_ERROR_CODES.INVALID_ARGUMENT,
          `a job needs a valid name and 1 to ${ARM_MAX_DRIVES_PER_JOB} drives (Azure Import/Export's limit)`,
        );
      }
      // ARM's PUT creates or REPLACES: read first so an existing job is never overwritten. Two creators
      // racing on one name between the read and the PUT is the remaining window (the job name is ours,
      // derived from the offline backup's name, which our own store already made unique).
      try {
        const existing = (await read(req.name)).job;
        const same =
          existing.drives.length === req.drives.length &&
          req.drives.every((r) =>
            existing.drives.some((d) => d.driveId === r.driveId && d.keyId === r.keyId),
          );
        if (same) return existing;
        throw new OfflineError(
          OFFLINE_ERROR_CODES.JOB_EXISTS,
          `import job ${req.name} already exists with other drives`,
        );
      } catch (err) {
        if (!(err instanceof OfflineError) || err.code !== OFFLINE_ERROR_CODES.JOB_NOT_FOUND) throw err;
      }
      const tags: Tags = {
        [TAGS.container]: req.container,
        [TAGS.createdAt]: now.toISOString(),
        [TAGS.shippingDeadline]: new Date(now.getTime() + shippingDeadlineMs).toISOString(),
      };
      const driveList: DriveStatus[] = [];
      for (const d of req.drives) {
        tags[`${TAGS.keyPrefix}${d.driveId}`] = tagValue(d.keyId);
        driveList.push(
          opts.bitLockerKeyOf
            ? { driveId: d.driveId, bitLockerKey: await opts.bitLockerKeyOf(d.driveId, d.keyId) }
            : { driveId: d.driveId },
        );
      }
      const body: PutJobParameters = {
        location: opts.location,
        tags,
        properties: {
          jobType: 'Import',
          storageAccountId: storageAccountId(req.storageAccount),
          driveList,
          diagnosticsPath: DIAGNOSTICS_PATH,
          logLevel: 'Error',
          backupDriveManifest: false,
        },
      };
      try {
        return toJob(await opts.jobs.create(req.name, body));
      } catch (err) {
        throw translateArmError(`creating import job ${req.name}`, err, {
          conflict: OFFLINE_ERROR_CODES.JOB_EXISTS,
        });
      }
    },

    async updateShipping(jobName: string, shipping: ShippingDetails, now: Date): Promise<ImportJob> {
      const number = normalizeTrackingNumber(shipping.trackingNumber);
      if (!TRACKING_PATTERN.test(number) || shipping.carrier.trim() === '') {
        throw new OfflineError(
          OFFLINE_ERROR_CODES.INVALID_ARGUMENT,
          'carrier, return address and a tracking number of 4–64 letters, digits or dashes are required',
        );
      }
      const returnAddress = parseReturnAddress(shipping.returnAddress);
      const { job } = await read(jobName);
      refuseDeleted(job, 'shipping details can no longer be entered');
      if (job.state !== 'Creating' && job.state !== 'Shipping') {
        throw new OfflineError(
          OFFLINE_ERROR_CODES.INVALID_STATE,
          `import job ${jobName} is ${job.state}; shipping can no longer change`,
        );
      }
      if (job.shippingDeadline !== '' && now.getTime() > Date.parse(job.shippingDeadline)) {
        throw new OfflineError(
          OFFLINE_ERROR_CODES.INVALID_STATE,
          `import job ${jobName}: shipping details were due by ${job.shippingDeadline}`,
        );
      }
      if (job.shipping && normalizeTrackingNumber(job.shipping.trackingNumber) !== number) {
        throw new OfflineError(
          OFFLINE_ERROR_CODES.INVALID_STATE,
          `import job ${jobName} already has tracking number ${job.shipping.trackingNumber}`,
        );
      }
      // Our rule first (conditional insert), Azure second: if the ARM update fails, the number stays
      // reserved to this job and a retry by the same job passes the owner check.
      await reserveTrackingNumber(number, jobName);
      const body: UpdateJobParameters = {
        // Azure: setting state to Shipping tells the service the package is on its way.
        state: 'Shipping',
        deliveryPackage: {
          carrierName: shipping.carrier.trim(),
          trackingNumber: number,
          driveCount: job.drives.length,
          shipDate: now.toISOString(),
        },
        returnAddress,
        ...(shipping.returnCarrierAccountNumber
          ? {
              returnShipping: {
                carrierName: shipping.carrier.trim(),
                carrierAccountNumber: shipping.returnCarrierAccountNumber.trim(),
              },
            }
          : {}),
      };
      try {
        return toJob(await opts.jobs.update(jobName, body));
      } catch (err) {
        throw translateArmError(`updating import job ${jobName}`, err, {
          notFound: OFFLINE_ERROR_CODES.JOB_NOT_FOUND,
        });
      }
    },

    deliverDrive(jobName: string): Promise<ImportJob> {
      // The Azure datacenter receives drives itself; only the emulator takes them through the port.
      return Promise.reject(
        new OfflineError(
          OFFLINE_ERROR_CODES.INVALID_STATE,
          `import job ${jobName}: drives are delivered by the carrier to the Azure datacenter, not through the service`,
        ),
      );
    },

    async getJob(name: string): Promise<ImportJob> {
      return (await read(name)).job;
    },

    async poll(name: string): Promise<ImportJob> {
      return (await read(name)).job;
    },

    async cancelJob(name: string, reason: string, now: Date): Promise<ImportJob> {
      const { job, res } = await read(name);
      if (job.deletedAt !== undefined) return job;
      // Cancel, but keep the ARM resource: deleting it would turn JOB_DELETED (with its reason) into
      // JOB_NOT_FOUND. PATCH replaces the whole tag set, so the existing tags are sent back with ours.
      const body: UpdateJobParameters = {
        cancelRequested: true,
        tags: { ...tagsOf(res), [TAGS.deletedAt]: now.toISOString(), [TAGS.deleteReason]: tagValue(reason) },
      };
      try {
        return toJob(await opts.jobs.update(name, body));
      } catch (err) {
        throw translateArmError(`cancelling import job ${name}`, err, {
          notFound: OFFLINE_ERROR_CODES.JOB_NOT_FOUND,
        });
      }
    },

    advance(): Promise<ImportJob[]> {
      // Azure moves its jobs itself; callers see the changes through poll/getJob.
      return Promise.resolve([]);
    },

    shipToAddress(): string {
      loadShipTo();
      return shipTo ?? `the Azure Import/Export shipping address of location ${opts.location}`;
    },
  };
}
