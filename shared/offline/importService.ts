// The ImportService port: the datacenter side of offline seeding, after Azure Import/Export. A job
// names the drives (by drive id and escrowed key id); the admin ships them and enters a tracking
// number; the datacenter receives each drive, checks its journal, decrypts it with the escrowed key and
// writes the files into a storage container under the job's prefix.
//
// Adapters: localImportService (Azurite tables and blobs, an emulator with a schedule driven by `now`);
// azureImportService (Azure Import/Export jobs over ARM; docs/offline-seeding.md, "Production
// ImportService", says how the port maps onto the Jobs API and what our drive format still lacks).
// Every time-dependent call takes `now`: nothing here reads a clock, so the host's controllable clock
// (and tests) drive the schedule.

/** Job states, in order, as Azure Import/Export names them. */
export const IMPORT_JOB_STATES = [
  'Creating',
  'Shipping',
  'Received',
  'Transferring',
  'Packaging',
  'Completed',
] as const;
export type ImportJobState = (typeof IMPORT_JOB_STATES)[number];

/** Per-drive states (a subset of Azure's: Specified, Received, Transferring, Completed, plus Failed). */
export type ImportDriveState = 'Specified' | 'Received' | 'Transferring' | 'Completed' | 'Failed';

export interface ImportDriveError {
  /** OFFLINE.* code. */
  code: string;
  /** The file on the drive concerned, if any. */
  file?: string;
  message: string;
}

export interface ImportDriveStatus {
  driveId: string;
  keyId: string;
  state: ImportDriveState;
  errors: ImportDriveError[];
  /** Plaintext bytes written to the container from this drive. */
  bytesTransferred: number;
  filesTransferred: number;
}

export interface ShippingDetails {
  carrier: string;
  trackingNumber: string;
  returnAddress: string;
  /**
   * The admin's account with the carrier, for the drives' return (Azure: returnShipping). Optional: the
   * emulator ignores it, and the API does not take it yet (docs/offline-seeding.md, "Production ImportService").
   */
  returnCarrierAccountNumber?: string;
}

export interface ImportJob {
  name: string;
  storageAccount: string;
  container: string;
  /** Blob name prefix in the container: `<job name>/`. */
  prefix: string;
  state: ImportJobState;
  createdAt: string;
  /** When the current state began (by the schedule, not by when advance() ran). */
  stateSince: string;
  /** The admin must enter shipping details by then (reliability row 17: created + 14 days). */
  shippingDeadline: string;
  shipping?: ShippingDetails;
  /** Set when the job enters Transferring. */
  transferDueAt?: string;
  drives: ImportDriveStatus[];
  bytesTransferred: number;
  /** Set when the job was cancelled and deleted (for example the service's deadline expired it). */
  deletedAt?: string;
  deleteReason?: string;
}

export interface CreateImportJobRequest {
  name: string;
  storageAccount: string;
  container: string;
  drives: ReadonlyArray<{ driveId: string; keyId: string }>;
}

export interface ImportService {
  /** OFFLINE.JOB_EXISTS if the name is taken (a re-run with the same drives returns the job as is). */
  createJob(req: CreateImportJobRequest, now: Date): Promise<ImportJob>;
  /**
   * Records carrier, tracking number and return address; the job moves to Shipping. A tracking number
   * belongs to one job only: OFFLINE.TRACKING_NUMBER_IN_USE otherwise (enforced by a conditional write).
   */
  updateShipping(jobName: string, shipping: ShippingDetails, now: Date): Promise<ImportJob>;
  /** The datacenter receives a drive (again, after a failure). OFFLINE.DRIVE_NOT_IN_JOB if it is not the job's. */
  deliverDrive(jobName: string, driveDir: string, now: Date): Promise<ImportJob>;
  /** OFFLINE.JOB_NOT_FOUND if missing. */
  getJob(name: string): Promise<ImportJob>;
  /**
   * The job as of `now`: what a status poll sees. The emulator first moves this job along its schedule
   * (doing the transfers due); a cloud adapter just reads the job. OFFLINE.JOB_NOT_FOUND if missing.
   */
  poll(name: string, now: Date): Promise<ImportJob>;
  /**
   * Cancels and deletes the job (Azure: cancel, then delete): later shipping updates and deliveries are
   * refused with OFFLINE.JOB_DELETED. Idempotent. Its tracking number stays reserved to it.
   */
  cancelJob(name: string, reason: string, now: Date): Promise<ImportJob>;
  /** Moves every job along its schedule up to `now`, doing the transfers due; returns the jobs that changed. */
  advance(now: Date): Promise<ImportJob[]>;
  /** Where the admin ships the drives (Azure: the job's location's shipping address). */
  shipToAddress(): string;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export interface ImportSchedule {
  /** Received → Transferring. Default 1 day. */
  receivedToTransferMs: number;
  /** Transferring → Packaging lasts between these (chosen per job, deterministically). Default 7–10 days (Azure docs). */
  transferMinMs: number;
  transferMaxMs: number;
  /** Packaging → Completed. Default 1 day. */
  packagingMs: number;
  /** Shipping details must arrive within this of creation. Default 14 days (reliability row 17). */
  shippingDeadlineMs: number;
}

export const DEFAULT_IMPORT_SCHEDULE: Readonly<ImportSchedule> = Object.freeze({
  receivedToTransferMs: DAY_MS,
  transferMinMs: 7 * DAY_MS,
  transferMaxMs: 10 * DAY_MS,
  packagingMs: DAY_MS,
  shippingDeadlineMs: 14 * DAY_MS,
});
