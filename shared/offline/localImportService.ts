// ImportService adapter for local work and tests: the datacenter emulated on Azurite. Job records live
// in an Azure Table (one row per job, JSON in `doc`, updated with ETag conditions); tracking numbers in
// a second table keyed by the number, so uniqueness is one conditional insert (409 = taken), never a
// read-then-write race. Received drives are checked against their journal, decrypted with the key
// recovered through the escrow, and written as block blobs into the job's container prefix.
// SDK errors are translated here into OFFLINE.* codes (STYLE §3).
import { TableClient, type TableEntity } from '@azure/data-tables';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { decryptFile, sha256OfFile } from './driveCipher';
import { dataPath, readJournal, readLabel } from './driveFormat';
import type { DriveKeyEscrow } from './driveKeyEscrow';
import {
  DEFAULT_IMPORT_SCHEDULE,
  type CreateImportJobRequest,
  type ImportDriveError,
  type ImportDriveStatus,
  type ImportJob,
  type ImportSchedule,
  type ImportService,
  type ShippingDetails,
} from './importService';
import { OFFLINE_ERROR_CODES, OfflineError } from './offlineErrors';
import { normalizeTrackingNumber, reserveTrackingNumber, TRACKING_PATTERN } from './trackingNumbers';

const JOB_PARTITION = 'job';
/** Azure block blob upload: 4 MiB blocks, 2 in flight (2 cores; STYLE: limits as named constants). */
const UPLOAD_BLOCK_BYTES = 4 * 1024 * 1024;
const UPLOAD_CONCURRENCY = 2;
/** Errors kept per drive in the job row; a table property holds at most 64 KiB. */
const MAX_ERRORS_PER_DRIVE = 50;
/** Optimistic-concurrency retries of a job row update. */
const UPDATE_ATTEMPTS = 8;

/** The emulated datacenter's shipping address (what Azure shows for the job's location). */
export const EMULATOR_SHIP_TO_ADDRESS =
  'Strongbox Emulated Datacenter, Import/Export dock 1, 1 Loopback Way, Localhost 127001';

export interface LocalImportServiceOptions {
  connectionString: string;
  escrow: DriveKeyEscrow;
  /** Table name prefix (letters and digits), so tests can isolate. Default 'offline'. */
  tablePrefix?: string;
  schedule?: Partial<ImportSchedule>;
}

interface ServiceErrorLike {
  statusCode?: number;
  message?: string;
}

function statusOf(err: unknown): number | undefined {
  return typeof err === 'object' && err !== null ? (err as ServiceErrorLike).statusCode : undefined;
}

function storageFailed(what: string, err: unknown): OfflineError {
  if (err instanceof OfflineError) return err;
  const status = statusOf(err);
  return new OfflineError(
    OFFLINE_ERROR_CODES.STORAGE_FAILED,
    `${what} failed (${status !== undefined ? `HTTP ${status}` : ((err as Error)?.message ?? 'error')})`,
    {},
    { cause: err },
  );
}

type JobRow = TableEntity<{ doc: string }>;

export function localImportService(opts: LocalImportServiceOptions): ImportService {
  const prefix = opts.tablePrefix ?? 'offline';
  const schedule: ImportSchedule = { ...DEFAULT_IMPORT_SCHEDULE, ...opts.schedule };
  const jobs = TableClient.fromConnectionString(opts.connectionString, `${prefix}importjobs`, {
    allowInsecureConnection: true,
  });
  const tracking = TableClient.fromConnectionString(opts.connectionString, `${prefix}importtracking`, {
    allowInsecureConnection: true,
  });
  const blobs = BlobServiceClient.fromConnectionString(opts.connectionString);
  let ready: Promise<void> | undefined;
  const ensureTables = (): Promise<void> =>
    (ready ??= (async () => {
      try {
        await jobs.createTable();
        await tracking.createTable();
      } catch (err) {
        ready = undefined;
        throw storageFailed('creating the import tables', err);
      }
    })());

  async function readJob(name: string): Promise<{ job: ImportJob; etag: string }> {
    await ensureTables();
    try {
      const row = await jobs.getEntity<{ doc: string }>(JOB_PARTITION, name);
      return { job: JSON.parse(row.doc) as ImportJob, etag: row.etag };
    } catch (err) {
      if (statusOf(err) === 404) {
        throw new OfflineError(OFFLINE_ERROR_CODES.JOB_NOT_FOUND, `import job ${name} does not exist`);
      }
      throw storageFailed(`reading import job ${name}`, err);
    }
  }

  /** Read, change, write with If-Match; a concurrent writer makes us re-read and re-apply. */
  async function updateJob(
    name: string,
    change: (job: ImportJob) => Promise<boolean> | boolean,
  ): Promise<ImportJob> {
    for (let attempt = 1; ; attempt += 1) {
      const { job, etag } = await readJob(name);
      if (!(await change(job))) return job;
      const row: JobRow = { partitionKey: JOB_PARTITION, rowKey: name, doc: JSON.stringify(job) };
      try {
        await jobs.updateEntity(row, 'Replace', { etag });
        return job;
      } catch (err) {
        if (statusOf(err) !== 412 || attempt >= UPDATE_ATTEMPTS)
          throw storageFailed(`updating import job ${name}`, err);
      }
    }
  }

  function refuseDeleted(job: ImportJob, what: string): void {
    if (job.deletedAt !== undefined) {
      throw new OfflineError(
        OFFLINE_ERROR_CODES.JOB_DELETED,
        `import job ${job.name} was deleted at ${job.deletedAt} (${job.deleteReason ?? 'cancelled'}); ${what}`,
      );
    }
  }

  function transferMsOf(name: string): number {
    // Deterministic per job (no Math.random: the schedule must replay the same under a test clock).
    const span = schedule.transferMaxMs - schedule.transferMinMs;
    const h = createHash('sha256').update(name).digest().readUInt32BE(0);
    return schedule.transferMinMs + (span > 0 ? h % (span + 1) : 0);
  }

  async function containerOf(job: ImportJob): Promise<ContainerClient> {
    const c = blobs.getContainerClient(job.container);
    try {
      await c.createIfNotExists();
    } catch (err) {
      throw storageFailed(`creating container ${job.container}`, err);
    }
    return c;
  }

  /** Checks and imports one received drive; returns its new status (Completed or Failed). */
  async function importDrive(
    job: ImportJob,
    drive: ImportDriveStatus,
    dir: string,
  ): Promise<ImportDriveStatus> {
    const fail = (errors: ImportDriveError[]): ImportDriveStatus => ({
      ...drive,
      state: 'Failed',
      errors: errors.slice(0, MAX_ERRORS_PER_DRIVE),
    });
    let key: Buffer | undefined;
    try {
      key = await opts.escrow.recover(drive.driveId, drive.keyId);
      const journal = await readJournal(dir, key);
      if (!journal || journal.driveId !== drive.driveId || journal.jobName !== job.name || !journal.sealed) {
        return fail([
          {
            code: OFFLINE_ERROR_CODES.JOURNAL_CORRUPT,
            message: `drive ${drive.driveId}: journal missing, unsealed (diskprep did not finish) or of another drive/job`,
          },
        ]);
      }
      // Pass 1: every file against the journal, before anything is written (fail the whole drive).
      const bad: ImportDriveError[] = [];
      for (const e of journal.files) {
        let ok = false;
        try {
          const got = await sha256OfFile(dataPath(dir, e.path));
          ok = got.size === e.encryptedSize && got.sha256 === e.encryptedSha256;
        } catch {
          ok = false;
        }
        if (!ok) {
          bad.push({
            code: OFFLINE_ERROR_CODES.FILE_CORRUPT,
            file: e.path,
            message: `drive ${drive.driveId}: file ${e.path} does not match its journal checksum`,
          });
        }
      }
      if (bad.length > 0) return fail(bad);
      // Pass 2: decrypt (authenticated per chunk) and upload; a blob is committed only after the whole
      // file decrypted and its plaintext SHA-256 matched.
      const container = await containerOf(job);
      let bytes = 0;
      for (const e of journal.files) {
        const binding = { driveId: drive.driveId, relPath: e.path };
        const driveKey = key;
        const checked = async function* (): AsyncGenerator<Buffer> {
          const hash = createHash('sha256');
          for await (const chunk of decryptFile(dataPath(dir, e.path), driveKey, binding)) {
            hash.update(chunk);
            yield chunk;
          }
          if (hash.digest('hex') !== e.sha256) {
            throw new OfflineError(
              OFFLINE_ERROR_CODES.FILE_CORRUPT,
              `drive ${drive.driveId}: file ${e.path}: plaintext checksum mismatch`,
              { driveId: drive.driveId, files: [e.path] },
            );
          }
        };
        try {
          await container
            .getBlockBlobClient(`${job.prefix}${e.path}`)
            .uploadStream(Readable.from(checked()), UPLOAD_BLOCK_BYTES, UPLOAD_CONCURRENCY);
        } catch (err) {
          if (err instanceof OfflineError)
            return fail([{ code: err.code, file: e.path, message: err.message }]);
          const cause = (err as { cause?: unknown }).cause;
          if (cause instanceof OfflineError)
            return fail([{ code: cause.code, file: e.path, message: cause.message }]);
          throw storageFailed(`uploading ${e.path}`, err);
        }
        bytes += e.size;
      }
      return {
        ...drive,
        state: 'Completed',
        errors: [],
        bytesTransferred: bytes,
        filesTransferred: journal.files.length,
      };
    } catch (err) {
      if (err instanceof OfflineError && err.code !== OFFLINE_ERROR_CODES.STORAGE_FAILED) {
        return fail([{ code: err.code, message: `drive ${drive.driveId}: ${err.message}` }]);
      }
      throw err;
    } finally {
      key?.fill(0);
    }
  }

  /** Applies every transition due by `now`; each state starts at its scheduled time, not at `now`. */
  async function step(job: ImportJob, dirs: Record<string, string>, now: Date): Promise<boolean> {
    if (job.deletedAt !== undefined) return false;
    let changed = false;
    for (;;) {
      const since = Date.parse(job.stateSince);
      if (job.state === 'Received' && now.getTime() >= since + schedule.receivedToTransferMs) {
        const at = since + schedule.receivedToTransferMs;
        job.state = 'Transferring';
        job.stateSince = new Date(at).toISOString();
        job.transferDueAt = new Date(at + transferMsOf(job.name)).toISOString();
        changed = true;
        continue;
      }
      if (job.state === 'Transferring') {
        for (const [i, d] of job.drives.entries()) {
          const dir = dirs[d.driveId];
          if (d.state !== 'Received' || dir === undefined) continue;
          job.drives[i] = await importDrive(job, d, dir);
          changed = true;
        }
        job.bytesTransferred = job.drives.reduce((n, d) => n + d.bytesTransferred, 0);
        const due = Date.parse(job.transferDueAt ?? job.stateSince);
        if (
          now.getTime() >= due &&
          job.drives.every((d) => d.state === 'Completed' || d.state === 'Failed')
        ) {
          job.state = 'Packaging';
          job.stateSince = new Date(due).toISOString();
          changed = true;
          continue;
        }
      }
      if (job.state === 'Packaging' && now.getTime() >= since + schedule.packagingMs) {
        job.state = 'Completed';
        job.stateSince = new Date(since + schedule.packagingMs).toISOString();
        changed = true;
      }
      return changed;
    }
  }

  // Where each received drive is mounted in the emulated datacenter (not part of the job record the
  // admin sees; kept in the row's doc under a private field).
  const DIRS_FIELD = 'receivedDriveDirs';
  const dirsOf = (job: ImportJob): Record<string, string> =>
    ((job as unknown as Record<string, unknown>)[DIRS_FIELD] as Record<string, string> | undefined) ?? {};
  const publicView = (job: ImportJob): ImportJob => {
    const { [DIRS_FIELD]: _dirs, ...rest } = job as unknown as Record<string, unknown>;
    return rest as unknown as ImportJob;
  };

  return {
    async createJob(req: CreateImportJobRequest, now: Date): Promise<ImportJob> {
      if (!/^[a-z0-9][a-z0-9-]{2,62}$/.test(req.name) || req.drives.length === 0) {
        throw new OfflineError(
          OFFLINE_ERROR_CODES.INVALID_ARGUMENT,
          'a job needs a valid name and at least one drive',
        );
      }
      await ensureTables();
      const job: ImportJob = {
        name: req.name,
        storageAccount: req.storageAccount,
        container: req.container,
        prefix: `${req.name}/`,
        state: 'Creating',
        createdAt: now.toISOString(),
        stateSince: now.toISOString(),
        shippingDeadline: new Date(now.getTime() + schedule.shippingDeadlineMs).toISOString(),
        drives: req.drives.map((d) => ({
          driveId: d.driveId,
          keyId: d.keyId,
          state: 'Specified',
          errors: [],
          bytesTransferred: 0,
          filesTransferred: 0,
        })),
        bytesTransferred: 0,
      };
      try {
        await jobs.createEntity<{ doc: string }>({
          partitionKey: JOB_PARTITION,
          rowKey: req.name,
          doc: JSON.stringify(job),
        });
        return job;
      } catch (err) {
        if (statusOf(err) !== 409) throw storageFailed(`creating import job ${req.name}`, err);
      }
      // Taken: a re-run of the same helper command is fine, anything else is a conflict.
      const existing = publicView((await readJob(req.name)).job);
      const same =
        existing.drives.length === req.drives.length &&
        existing.drives.every(
          (d, i) => d.driveId === req.drives[i]?.driveId && d.keyId === req.drives[i]?.keyId,
        );
      if (same) return existing;
      throw new OfflineError(
        OFFLINE_ERROR_CODES.JOB_EXISTS,
        `import job ${req.name} already exists with other drives`,
      );
    },

    async updateShipping(jobName: string, shipping: ShippingDetails, now: Date): Promise<ImportJob> {
      const number = normalizeTrackingNumber(shipping.trackingNumber);
      if (
        !TRACKING_PATTERN.test(number) ||
        shipping.carrier.trim() === '' ||
        shipping.returnAddress.trim() === ''
      ) {
        throw new OfflineError(
          OFFLINE_ERROR_CODES.INVALID_ARGUMENT,
          'carrier, return address and a tracking number of 4–64 letters, digits or dashes are required',
        );
      }
      const { job } = await readJob(jobName);
      refuseDeleted(job, 'shipping details can no longer be entered');
      if (job.state !== 'Creating' && job.state !== 'Shipping') {
        throw new OfflineError(
          OFFLINE_ERROR_CODES.INVALID_STATE,
          `import job ${jobName} is ${job.state}; shipping can no longer change`,
        );
      }
      if (now.getTime() > Date.parse(job.shippingDeadline)) {
        throw new OfflineError(
          OFFLINE_ERROR_CODES.INVALID_STATE,
          `import job ${jobName}: shipping details were due by ${job.shippingDeadline}`,
        );
      }
      // The uniqueness rule is this one insert: Azure Tables refuses a second row with the same key (409).
      await reserveTrackingNumber(tracking, number, jobName, storageFailed);
      const updated = await updateJob(jobName, (j) => {
        refuseDeleted(j, 'shipping details can no longer be entered');
        if (j.shipping && normalizeTrackingNumber(j.shipping.trackingNumber) !== number) {
          throw new OfflineError(
            OFFLINE_ERROR_CODES.INVALID_STATE,
            `import job ${jobName} already has tracking number ${j.shipping.trackingNumber}`,
          );
        }
        j.shipping = {
          carrier: shipping.carrier.trim(),
          trackingNumber: number,
          returnAddress: shipping.returnAddress.trim(),
        };
        if (j.state === 'Creating') {
          j.state = 'Shipping';
          j.stateSince = now.toISOString();
        }
        return true;
      });
      return publicView(updated);
    },

    async deliverDrive(jobName: string, driveDir: string, now: Date): Promise<ImportJob> {
      const label = await readLabel(driveDir);
      const updated = await updateJob(jobName, (j) => {
        refuseDeleted(j, 'the datacenter refuses its drives; ship them back');
        if (!['Shipping', 'Received', 'Transferring'].includes(j.state)) {
          throw new OfflineError(
            OFFLINE_ERROR_CODES.INVALID_STATE,
            `import job ${jobName} is ${j.state}; drives are accepted after shipping details and before packaging`,
          );
        }
        const i = j.drives.findIndex((d) => d.driveId === label?.driveId && d.keyId === label?.keyId);
        const d = j.drives[i];
        if (!label || label.jobName !== jobName || !d) {
          throw new OfflineError(
            OFFLINE_ERROR_CODES.DRIVE_NOT_IN_JOB,
            `the drive at ${driveDir} is not one of import job ${jobName}'s drives`,
          );
        }
        if (d.state !== 'Specified' && d.state !== 'Failed') {
          throw new OfflineError(
            OFFLINE_ERROR_CODES.INVALID_STATE,
            `drive ${d.driveId} is already ${d.state}`,
          );
        }
        j.drives[i] = { ...d, state: 'Received', errors: [], bytesTransferred: 0, filesTransferred: 0 };
        (j as unknown as Record<string, unknown>)[DIRS_FIELD] = { ...dirsOf(j), [d.driveId]: driveDir };
        if (j.state === 'Shipping') {
          j.state = 'Received';
          j.stateSince = now.toISOString();
        }
        return true;
      });
      return publicView(updated);
    },

    async getJob(name: string): Promise<ImportJob> {
      return publicView((await readJob(name)).job);
    },

    async poll(name: string, now: Date): Promise<ImportJob> {
      const job = await updateJob(name, (j) => step(j, dirsOf(j), now));
      return publicView(job);
    },

    async cancelJob(name: string, reason: string, now: Date): Promise<ImportJob> {
      const job = await updateJob(name, (j) => {
        if (j.deletedAt !== undefined) return false;
        j.deletedAt = now.toISOString();
        j.deleteReason = reason;
        return true;
      });
      return publicView(job);
    },

    shipToAddress: () => EMULATOR_SHIP_TO_ADDRESS,

    async advance(now: Date): Promise<ImportJob[]> {
      await ensureTables();
      const names: string[] = [];
      try {
        for await (const row of jobs.listEntities<{ doc: string }>({
          queryOptions: { filter: `PartitionKey eq '${JOB_PARTITION}'`, select: ['RowKey'] },
        })) {
          if (row.rowKey !== undefined) names.push(row.rowKey);
        }
      } catch (err) {
        throw storageFailed('listing import jobs', err);
      }
      const changed: ImportJob[] = [];
      for (const name of names) {
        let did = false;
        const job = await updateJob(name, async (j) => (did = await step(j, dirsOf(j), now)));
        if (did) changed.push(publicView(job));
      }
      return changed;
    },
  };
}
