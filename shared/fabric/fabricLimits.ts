// Limits the local fabric must respect, as named constants with units. Azure sources: "Put Page"
// (REST reference), "Understanding block blobs, append blobs and page blobs", "Lease Blob".

/** Azure: page blob writes (Put Page) must start and end on 512-byte page boundaries. */
export const PAGE_BYTES = 512;
/** Azure: one Put Page call writes at most 4 MiB. */
export const UPLOAD_PAGES_MAX_BYTES = 4 * 1024 * 1024;
/** Azure: a page blob is at most 8 TiB (and its size a multiple of 512). */
export const PAGE_BLOB_MAX_BYTES = 8 * 1024 ** 4;
/** Azure: a finite blob lease lasts 15 to 60 seconds; a crashed snapshotter's fence ends after this. */
export const SNAPSHOT_LEASE_SECONDS = 15;
/** Azure Tables: a string property holds at most 64 KiB (32 K UTF-16 characters). ~20 chars per range. */
export const JOURNAL_RANGES_PER_ROW = 1000;
/** Azure Tables: an entity group transaction holds at most 100 operations. */
export const TABLE_BATCH_MAX_OPS = 100;

/** How often a write retries when a snapshot fenced it (lease held, generation bumped). */
export const WRITE_MAX_ATTEMPTS = 50;
export const WRITE_RETRY_DELAY_MS = 100;
/** How often a snapshot retries acquiring a disk's lease held by another snapshot. */
export const LEASE_MAX_ATTEMPTS = 40;
export const LEASE_RETRY_DELAY_MS = 250;
/** Uploads in flight per disk write batch. Kept at 1 so the last answer's etag is the blob's (see changeJournal.ts). */
export const UPLOADS_IN_FLIGHT = 1;

/** Defaults of the fabric's resources. */
export const FABRIC_DISK_CONTAINER = 'fabric-disks';
/** Table names allow only letters and digits. */
export const FABRIC_VM_TABLE = 'fabricvms';
export const FABRIC_JOURNAL_TABLE = 'fabricjournal';
export const FABRIC_SUBSCRIPTION_ID = '00000000-0000-0000-0000-000000000000';
export const FABRIC_RESOURCE_GROUP = 'fabric';
export const FABRIC_REGION = 'local';

/** Agent versions the fabric reports for its agent states (see guestAgent.ts for the floor). */
export const FABRIC_AGENT_VERSION_HEALTHY = '2.12.0.4';
export const FABRIC_AGENT_VERSION_OLD = '2.2.10';
