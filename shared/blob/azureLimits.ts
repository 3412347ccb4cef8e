// Azure Blob Storage limits that Strongbox code relies on, with units and sources. Only numbers live
// here (no SDK import), so the key grammar and the conformance tests can use them too.
// Sources: learn.microsoft.com/rest/api/storageservices/put-block, .../put-block-list, .../put-blob,
// .../naming-and-referencing-containers--blobs--and-metadata,
// .../setting-and-retrieving-properties-and-metadata-for-blob-resources, and
// learn.microsoft.com/azure/storage/blobs/scalability-targets.

export const MIB = 1024 * 1024;

/** Put Block List: a block blob has at most 50,000 committed blocks. */
export const BLOCK_BLOB_MAX_BLOCKS = 50_000;

/** Put Block List / Put Block: at most 100,000 uncommitted blocks per blob; more fails with 409. */
export const BLOCK_BLOB_MAX_UNCOMMITTED_BLOCKS = 100_000;

/** Put Block: one block is at most 4,000 MiB (service version 2019-12-12 and later). */
export const BLOCK_BLOB_MAX_BLOCK_SIZE_BYTES = 4000 * MIB;

/** Put Blob: one single-shot upload is at most 5,000 MiB (service version 2019-12-12 and later). */
export const BLOCK_BLOB_MAX_PUT_BLOB_BYTES = 5000 * MIB;

/** Put Block: a block id is at most 64 bytes before base64 encoding, and all ids in one blob have one length. */
export const BLOCK_ID_MAX_BYTES = 64;

/** Put Block: uncommitted blocks are garbage-collected one week after the last successful block operation. */
export const UNCOMMITTED_BLOCK_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000;

/** Naming: a blob name is 1 to 1,024 characters. */
export const BLOB_NAME_MAX_CHARS = 1024;

/** Naming: a blob name has at most 254 path segments (non-HNS accounts). */
export const BLOB_NAME_MAX_SEGMENTS = 254;

/** Metadata: names plus values of one blob total at most 8 KiB. */
export const BLOB_METADATA_MAX_BYTES = 8 * 1024;
