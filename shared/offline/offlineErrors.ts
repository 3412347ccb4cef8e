// Error codes of offline seeding (drives, journals, the import service). Branch on `code`: classes do
// not survive a process boundary, and the helper CLI prints the code with the message.
import { StrongboxError, type StrongboxErrorOptions } from '../errors';

export const OFFLINE_ERROR_CODES = {
  /** Bad argument from the caller (empty staging, bad job name, bad capacity). */
  INVALID_ARGUMENT: 'OFFLINE.INVALID_ARGUMENT',
  /** A staged file is larger than a whole (empty) drive; we refuse rather than split (docs/offline-seeding.md). */
  FILE_TOO_LARGE: 'OFFLINE.FILE_TOO_LARGE',
  /** The drive holds other data and the admin did not confirm overwriting it. */
  DRIVE_NOT_EMPTY: 'OFFLINE.DRIVE_NOT_EMPTY',
  /** The drive belongs to this job but is another drive index (wrong drive inserted). */
  DRIVE_MISMATCH: 'OFFLINE.DRIVE_MISMATCH',
  /** Files remain and no further drive was given. */
  NO_DRIVE: 'OFFLINE.NO_DRIVE',
  /** The drive label or journal is malformed, or the journal MAC does not verify. */
  JOURNAL_CORRUPT: 'OFFLINE.JOURNAL_CORRUPT',
  /** A drive label or journal of a format version this code does not know. */
  UNSUPPORTED_FORMAT: 'OFFLINE.UNSUPPORTED_FORMAT',
  /** An encrypted file failed its checksum or authentication. */
  FILE_CORRUPT: 'OFFLINE.FILE_CORRUPT',
  /** A staged file changed (size) since a drive journal listed it. Staging must be immutable. */
  STAGING_CHANGED: 'OFFLINE.STAGING_CHANGED',
  /** The caller aborted (AbortSignal). The journal is flushed first, so a re-run resumes. */
  ABORTED: 'OFFLINE.ABORTED',
  JOB_NOT_FOUND: 'OFFLINE.JOB_NOT_FOUND',
  JOB_EXISTS: 'OFFLINE.JOB_EXISTS',
  /** Another import job already uses this tracking number (reliability row 17). */
  TRACKING_NUMBER_IN_USE: 'OFFLINE.TRACKING_NUMBER_IN_USE',
  /** The import job was cancelled and deleted (for example its deadline expired); it takes nothing more. */
  JOB_DELETED: 'OFFLINE.JOB_DELETED',
  /** The operation is not allowed in the job's (or drive's) current state. */
  INVALID_STATE: 'OFFLINE.INVALID_STATE',
  /** A delivered drive is not one of the job's drives (or its key id differs). */
  DRIVE_NOT_IN_JOB: 'OFFLINE.DRIVE_NOT_IN_JOB',
  /** Escrowing or recovering a drive key failed. */
  ESCROW_FAILED: 'OFFLINE.ESCROW_FAILED',
  /** The offline backup expired: a deadline of the workflow passed (docs/offline-seeding.md "Deadlines"). */
  JOB_EXPIRED: 'OFFLINE.JOB_EXPIRED',
  /** The server is not registered with the vault. */
  SERVER_NOT_FOUND: 'OFFLINE.SERVER_NOT_FOUND',
  /** Another delivery of the same helper event holds a fresh claim on it; retried later. */
  EVENT_IN_PROGRESS: 'OFFLINE.EVENT_IN_PROGRESS',
  /** A helper event that is malformed or names what does not exist; never retried. */
  EVENT_INVALID: 'OFFLINE.EVENT_INVALID',
  /** The imported data does not fit the server's vault (another vault, or an object differs). */
  VAULT_MISMATCH: 'OFFLINE.VAULT_MISMATCH',
  /** A vault credentials file that is malformed, expired, or not the service's. */
  CREDENTIALS_INVALID: 'OFFLINE.CREDENTIALS_INVALID',
  /** The API refused a helper request (the code and message are the API's). */
  SERVICE_REFUSED: 'OFFLINE.SERVICE_REFUSED',
  /** Table or blob storage failed (translated at the adapter's edge). */
  STORAGE_FAILED: 'OFFLINE.STORAGE_FAILED',
} as const;

export type OfflineErrorCode = (typeof OFFLINE_ERROR_CODES)[keyof typeof OFFLINE_ERROR_CODES];

export interface OfflineErrorDetails {
  driveIndex?: number;
  driveId?: string;
  /** Relative paths of the files concerned. */
  files?: readonly string[];
}

export class OfflineError extends StrongboxError {
  declare readonly code: OfflineErrorCode;
  readonly details: OfflineErrorDetails;

  constructor(
    code: OfflineErrorCode,
    message: string,
    details: OfflineErrorDetails = {},
    options?: StrongboxErrorOptions,
  ) {
    super(code, message, options);
    this.details = details;
  }
}
