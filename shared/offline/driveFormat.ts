// The shipping-drive format, version 1 (docs/offline-seeding.md). Frozen: names and numbers here are
// written onto drives that travel for weeks, so they are never changed or reused; a new layout is a
// new version, and readers refuse versions they do not know.
//
//   <drive>/strongbox-drive.json   the label: which job, which drive, which escrowed key
//   <drive>/journal.json           every file: sizes and SHA-256 of plaintext and ciphertext, plus a MAC
//   <drive>/data/<relative path>   each staged file, encrypted (driveCipher.ts)
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { open, readFile, rename, unlink } from 'node:fs/promises';
import * as path from 'node:path';
import { isValidKey } from '../blob/blobKey';
import { OFFLINE_ERROR_CODES, OfflineError } from './offlineErrors';

export const DRIVE_FORMAT_NAME = 'strongbox-drive';
export const JOURNAL_FORMAT_NAME = 'strongbox-drive-journal';
export const DRIVE_FORMAT_VERSION = 1;
export const LABEL_FILE = 'strongbox-drive.json';
export const JOURNAL_FILE = 'journal.json';
export const DATA_DIR = 'data';
/** 32 random bytes per drive (AES-256). */
export const DRIVE_KEY_BYTES = 32;
/** 16 random bytes, as 32 hex characters. */
export const DRIVE_ID_BYTES = 16;
/** HKDF info for the journal's MAC key; frozen. */
const JOURNAL_MAC_INFO = 'strongbox/v1/drive-journal';

export interface DriveLabel {
  format: typeof DRIVE_FORMAT_NAME;
  version: typeof DRIVE_FORMAT_VERSION;
  jobName: string;
  driveIndex: number;
  driveId: string;
  /** The escrowed key's id; the key itself never touches the drive. */
  keyId: string;
  createdAt: string;
}

export type JournalEntryState = 'pending' | 'complete';

export interface JournalEntry {
  /** Relative path in the staging directory, `/`-separated; a valid blob key (docs/blob-store.md). */
  path: string;
  /** Plaintext size in bytes. */
  size: number;
  /** Known up front: a function of `size` (driveCipher.encryptedSizeOf). */
  encryptedSize: number;
  state: JournalEntryState;
  /** Plaintext SHA-256, hex; set when complete. */
  sha256?: string;
  /** SHA-256 of the encrypted file on the drive, hex; set when complete. */
  encryptedSha256?: string;
}

export interface DriveJournal {
  format: typeof JOURNAL_FORMAT_NAME;
  version: typeof DRIVE_FORMAT_VERSION;
  jobName: string;
  driveIndex: number;
  driveId: string;
  /** True once every entry is complete: the drive is ready to ship. */
  sealed: boolean;
  files: JournalEntry[];
}

export const JOB_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{2,62}$/;
const HEX32 = /^[0-9a-f]{32}$/;
const HEX64 = /^[0-9a-f]{64}$/;

export function newDriveId(): string {
  return randomBytes(DRIVE_ID_BYTES).toString('hex');
}

export function labelPath(driveDir: string): string {
  return path.join(driveDir, LABEL_FILE);
}

export function journalPath(driveDir: string): string {
  return path.join(driveDir, JOURNAL_FILE);
}

export function dataPath(driveDir: string, relPath: string): string {
  // The blob-key grammar guarantees the path stays under the data directory.
  if (!isValidKey(relPath)) throw corrupt(`file name ${JSON.stringify(relPath)} is not a valid key`);
  return path.join(driveDir, DATA_DIR, ...relPath.split('/'));
}

/** Writes JSON to a temp file, fsyncs it, renames it over `file`: readers see old or new, never half. */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  const handle = await open(tmp, 'wx', 0o644);
  try {
    await handle.writeFile(`${JSON.stringify(value, null, 1)}\n`);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await handle.close();
  await rename(tmp, file);
}

async function readJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw corrupt(`${file} is not JSON`, err);
  }
}

function corrupt(message: string, cause?: unknown): OfflineError {
  return new OfflineError(
    OFFLINE_ERROR_CODES.JOURNAL_CORRUPT,
    message,
    {},
    cause === undefined ? {} : { cause },
  );
}

function checkVersion(obj: Record<string, unknown>, format: string, file: string): void {
  if (obj.format !== format) throw corrupt(`${file}: not a ${format} file`);
  // Version first, before anything else is trusted (docs/format.md does the same for vaults).
  if (obj.version !== DRIVE_FORMAT_VERSION) {
    throw new OfflineError(
      OFFLINE_ERROR_CODES.UNSUPPORTED_FORMAT,
      `${file}: drive format version ${String(obj.version)} is not supported (this helper reads version ${DRIVE_FORMAT_VERSION}); upgrade Strongbox`,
    );
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** The drive's label, or undefined if the drive has none. */
export async function readLabel(driveDir: string): Promise<DriveLabel | undefined> {
  const file = labelPath(driveDir);
  const raw = await readJson(file);
  if (raw === undefined) return undefined;
  if (!isRecord(raw)) throw corrupt(`${file}: not an object`);
  checkVersion(raw, DRIVE_FORMAT_NAME, file);
  const { jobName, driveIndex, driveId, keyId, createdAt } = raw;
  if (
    typeof jobName !== 'string' ||
    !JOB_NAME_PATTERN.test(jobName) ||
    !isCount(driveIndex) ||
    typeof driveId !== 'string' ||
    !HEX32.test(driveId) ||
    typeof keyId !== 'string' ||
    !/^[0-9a-f]{1,64}$/.test(keyId) ||
    typeof createdAt !== 'string'
  ) {
    throw corrupt(`${file}: malformed label`);
  }
  return {
    format: DRIVE_FORMAT_NAME,
    version: DRIVE_FORMAT_VERSION,
    jobName,
    driveIndex,
    driveId,
    keyId,
    createdAt,
  };
}

export async function writeLabel(driveDir: string, label: DriveLabel): Promise<void> {
  await writeJsonAtomic(labelPath(driveDir), label);
}

/** The MAC key is derived from the drive key, so only a holder of the (escrowed) key can forge a journal. */
function journalMacKey(driveKey: Buffer, driveId: string): Buffer {
  return Buffer.from(hkdfSync('sha256', driveKey, Buffer.from(driveId, 'hex'), JOURNAL_MAC_INFO, 32));
}

/** The MAC's input: a canonical rebuild (fixed field order), not the file's text, so whitespace is free. */
function canonicalJournal(j: DriveJournal): string {
  return JSON.stringify({
    format: j.format,
    version: j.version,
    jobName: j.jobName,
    driveIndex: j.driveIndex,
    driveId: j.driveId,
    sealed: j.sealed,
    files: j.files.map((f) => ({
      path: f.path,
      size: f.size,
      encryptedSize: f.encryptedSize,
      state: f.state,
      sha256: f.sha256 ?? null,
      encryptedSha256: f.encryptedSha256 ?? null,
    })),
  });
}

export function journalMac(j: DriveJournal, driveKey: Buffer): string {
  return createHmac('sha256', journalMacKey(driveKey, j.driveId)).update(canonicalJournal(j)).digest('hex');
}

/** Writes the journal with its MAC, atomically. */
export async function writeJournal(driveDir: string, j: DriveJournal, driveKey: Buffer): Promise<void> {
  await writeJsonAtomic(journalPath(driveDir), { ...j, mac: journalMac(j, driveKey) });
}

/**
 * Reads and checks the journal. With `driveKey`, the MAC must verify (a journal edited to match an
 * edited file is caught); without it only the structure is checked (the helper's read-only tools).
 */
export async function readJournal(driveDir: string, driveKey?: Buffer): Promise<DriveJournal | undefined> {
  const file = journalPath(driveDir);
  const raw = await readJson(file);
  if (raw === undefined) return undefined;
  if (!isRecord(raw)) throw corrupt(`${file}: not an object`);
  checkVersion(raw, JOURNAL_FORMAT_NAME, file);
  const { jobName, driveIndex, driveId, sealed, files, mac } = raw;
  if (
    typeof jobName !== 'string' ||
    !isCount(driveIndex) ||
    typeof driveId !== 'string' ||
    !HEX32.test(driveId) ||
    typeof sealed !== 'boolean' ||
    !Array.isArray(files) ||
    typeof mac !== 'string'
  ) {
    throw corrupt(`${file}: malformed journal`);
  }
  const entries: JournalEntry[] = files.map((f: unknown, i) => {
    if (!isRecord(f)) throw corrupt(`${file}: entry ${i} is not an object`);
    const { path: p, size, encryptedSize, state, sha256, encryptedSha256 } = f;
    const complete = state === 'complete';
    if (
      typeof p !== 'string' ||
      !isValidKey(p) ||
      !isCount(size) ||
      !isCount(encryptedSize) ||
      (state !== 'pending' && !complete) ||
      (complete && (typeof sha256 !== 'string' || !HEX64.test(sha256))) ||
      (complete && (typeof encryptedSha256 !== 'string' || !HEX64.test(encryptedSha256)))
    ) {
      throw corrupt(`${file}: entry ${i} is malformed`);
    }
    const entry: JournalEntry = { path: p, size, encryptedSize, state: complete ? 'complete' : 'pending' };
    if (complete) {
      entry.sha256 = sha256 as string;
      entry.encryptedSha256 = encryptedSha256 as string;
    }
    return entry;
  });
  const journal: DriveJournal = {
    format: JOURNAL_FORMAT_NAME,
    version: DRIVE_FORMAT_VERSION,
    jobName,
    driveIndex,
    driveId,
    sealed,
    files: entries,
  };
  if (driveKey) {
    const want = Buffer.from(journalMac(journal, driveKey), 'hex');
    const got = Buffer.from(mac, 'hex');
    if (got.length !== want.length || !timingSafeEqual(got, want)) {
      throw corrupt(`${file}: the journal's MAC does not verify (edited, or written under another key)`);
    }
  }
  return journal;
}
