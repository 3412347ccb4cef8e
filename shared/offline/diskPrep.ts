// diskprep: copies a staging directory onto a sequence of shipping drives, encrypting each drive with
// its own escrowed key and keeping a journal per drive, so an interrupted run resumes where it stopped.
//
// Planning rule (docs/offline-seeding.md): staged files are taken in ascending path order and fill
// each drive in turn; the first file that does not fit closes the drive and starts the next one. The
// assignment is written into the drive's journal before any data, so a re-run copies exactly the same
// files to the same drive. A file larger than a whole empty drive is refused (OFFLINE.FILE_TOO_LARGE),
// not split: vault staging holds packs of at most a few tens of MiB, and drives hold terabytes.
import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { readdir, rm, stat, statfs } from 'node:fs/promises';
import * as path from 'node:path';
import { isValidKey } from '../blob/blobKey';
import { encryptFile, encryptedSizeOf, sha256OfFile } from './driveCipher';
import {
  DRIVE_FORMAT_NAME,
  DRIVE_FORMAT_VERSION,
  DRIVE_KEY_BYTES,
  JOB_NAME_PATTERN,
  JOURNAL_FORMAT_NAME,
  dataPath,
  newDriveId,
  readJournal,
  readLabel,
  writeJournal,
  writeLabel,
  type DriveJournal,
  type DriveLabel,
  type JournalEntry,
} from './driveFormat';
import type { DriveKeyEscrow } from './driveKeyEscrow';
import { OFFLINE_ERROR_CODES, OfflineError } from './offlineErrors';

/** Room kept for the label and the journal: a fixed part plus this much per journal entry. */
export const JOURNAL_RESERVE_BYTES = 64 * 1024;
export const JOURNAL_RESERVE_BYTES_PER_FILE = 512;
/** Files occupy whole allocation units; we plan with 4 KiB (ext4, NTFS and exFAT defaults up to 32 GiB). */
export const ALLOCATION_UNIT_BYTES = 4096;
/** The journal is rewritten after this many completed files or this long, whichever comes first. */
export const JOURNAL_FLUSH_FILES = 32;
export const JOURNAL_FLUSH_MS = 2000;
/** Names a fresh drive may already hold (file-system bookkeeping), which "formatting" leaves alone. */
const FS_BOOKKEEPING_NAMES = new Set(['lost+found', 'System Volume Information', '$RECYCLE.BIN']);

export interface StagedFile {
  /** Relative path, `/`-separated; a valid blob key. */
  path: string;
  size: number;
}

export interface DriveRequest {
  /** Drive index wanted (0-based). */
  index: number;
  /** 'first': the first drive of this run; 'full': the previous drive is full. */
  reason: 'first' | 'full';
  filesRemaining: number;
  bytesRemaining: number;
}

export interface DiskPrepProgress {
  bytesDone: number;
  bytesTotal: number;
  /** Bytes encrypted in this run per second, since the start (skipped files do not count). */
  bytesPerSecond: number;
  etaSeconds: number | undefined;
  driveIndex: number;
  file: string;
}

export interface DiskPrepEvents {
  /** A drive was started or resumed. */
  onDrive?: (e: {
    index: number;
    dir: string;
    driveId: string;
    resumed: boolean;
    files: number;
    bytes: number;
  }) => void;
  /** A file was copied (or skipped, because it was complete and matched its checksums). */
  onFile?: (e: { driveIndex: number; path: string; skipped: boolean }) => void;
  onProgress?: (p: DiskPrepProgress) => void;
}

export interface DiskPrepOptions extends DiskPrepEvents {
  stagingDir: string;
  jobName: string;
  escrow: DriveKeyEscrow;
  /** Supplies the directory of drive `index`; undefined means "no more drives" (OFFLINE.NO_DRIVE). */
  nextDrive(req: DriveRequest): Promise<string | undefined>;
  /** Asked before wiping a drive that holds other data. Default: refuse. */
  confirmOverwrite?(dir: string, why: string): Promise<boolean>;
  /** Caps each drive's capacity (tests, or to leave room). Default: the file system's free space. */
  capacityBytes?: number;
  /** Re-prepare only this drive (it must carry this job's label): complete files are re-checked, bad ones redone. */
  onlyDriveIndex?: number;
  signal?: AbortSignal;
  /**
   * Throttle: copy at most this many bytes per second on average (checked between files), so a copy
   * running beside production work does not saturate the disks. Default: unlimited.
   */
  maxBytesPerSecond?: number;
  now?: () => Date;
  /** Monotonic milliseconds, for rate and flush timing. */
  monotonicMs?: () => number;
}

export interface PreparedDrive {
  index: number;
  dir: string;
  driveId: string;
  keyId: string;
  files: number;
  bytes: number;
  resumed: boolean;
}

export interface DiskPrepResult {
  drives: PreparedDrive[];
  filesCopied: number;
  filesSkipped: number;
  bytesCopied: number;
}

/** Every file under the staging root whose relative path is a blob key; bookkeeping (dot names) is skipped. */
export async function scanStaging(stagingDir: string): Promise<StagedFile[]> {
  const out: StagedFile[] = [];
  const walk = async (dir: string, rel: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      throw new OfflineError(
        OFFLINE_ERROR_CODES.INVALID_ARGUMENT,
        `cannot read staging directory ${dir}: ${(err as Error).message}`,
        {},
        { cause: err },
      );
    }
    for (const e of entries) {
      const childRel = rel === '' ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) {
        if (!e.name.startsWith('.')) await walk(path.join(dir, e.name), childRel);
      } else if (e.isFile() && isValidKey(childRel)) {
        out.push({ path: childRel, size: (await stat(path.join(dir, e.name))).size });
      }
    }
  };
  await walk(stagingDir, '');
  // Byte order of ASCII keys, the same order BlobStore.list uses.
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function roundUp(n: number, unit: number): number {
  return Math.ceil(n / unit) * unit;
}

/** Bytes a file costs on a drive, including its share of the journal. */
export function driveCostOf(size: number, relPath: string): number {
  return (
    roundUp(encryptedSizeOf(size), ALLOCATION_UNIT_BYTES) + JOURNAL_RESERVE_BYTES_PER_FILE + relPath.length
  );
}

/** Pure: the files that go on one drive of `capacity` bytes, from the front of `remaining`. */
export function planDrive(remaining: readonly StagedFile[], capacity: number): StagedFile[] {
  const taken: StagedFile[] = [];
  let used = JOURNAL_RESERVE_BYTES;
  for (const f of remaining) {
    const cost = driveCostOf(f.size, f.path);
    if (used + cost > capacity) break;
    taken.push(f);
    used += cost;
  }
  const first = remaining[0];
  if (taken.length === 0 && first) {
    throw new OfflineError(
      OFFLINE_ERROR_CODES.FILE_TOO_LARGE,
      `staged file ${first.path} (${first.size} bytes) does not fit on an empty drive of ${capacity} bytes; ` +
        'use larger drives (files are not split across drives)',
      { files: [first.path] },
    );
  }
  return taken;
}

async function freeBytesOf(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

/** What is on a drive directory: ours (label), someone else's data, or nothing. */
async function inspectDrive(dir: string): Promise<{ label?: DriveLabel; foreign: string[] }> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new OfflineError(
      OFFLINE_ERROR_CODES.INVALID_ARGUMENT,
      `drive ${dir} is not a readable directory: ${(err as Error).message}`,
      {},
      { cause: err },
    );
  }
  let label: DriveLabel | undefined;
  try {
    label = await readLabel(dir);
  } catch {
    label = undefined; // an unreadable label is foreign data: overwriting it needs confirmation
  }
  return { ...(label ? { label } : {}), foreign: names.filter((n) => !FS_BOOKKEEPING_NAMES.has(n)) };
}

class Meter {
  private done = 0;
  private copied = 0;
  private readonly start: number;
  private last = -Infinity;
  constructor(
    private readonly total: number,
    private readonly clock: () => number,
    private readonly cb: DiskPrepEvents['onProgress'],
  ) {
    this.start = clock();
  }
  add(bytes: number, copied: boolean, driveIndex: number, file: string, force = false): void {
    this.done += bytes;
    if (copied) this.copied += bytes;
    if (!this.cb) return;
    const t = this.clock();
    if (!force && t - this.last < 200) return;
    this.last = t;
    const rate = this.copied / Math.max((t - this.start) / 1000, 1e-6);
    this.cb({
      bytesDone: this.done,
      bytesTotal: this.total,
      bytesPerSecond: rate,
      etaSeconds: rate > 0 ? (this.total - this.done) / rate : undefined,
      driveIndex,
      file,
    });
  }
}

export async function diskPrep(opts: DiskPrepOptions): Promise<DiskPrepResult> {
  if (!JOB_NAME_PATTERN.test(opts.jobName)) {
    throw new OfflineError(
      OFFLINE_ERROR_CODES.INVALID_ARGUMENT,
      `job name ${JSON.stringify(opts.jobName)}: use 3–63 of a-z, 0-9 and -, starting with a letter or digit`,
    );
  }
  if (
    opts.capacityBytes !== undefined &&
    !(Number.isSafeInteger(opts.capacityBytes) && opts.capacityBytes > 0)
  ) {
    throw new OfflineError(OFFLINE_ERROR_CODES.INVALID_ARGUMENT, 'capacityBytes must be a positive integer');
  }
  const now = opts.now ?? (() => new Date());
  const clock = opts.monotonicMs ?? (() => performance.now());
  const staged = await scanStaging(opts.stagingDir);
  if (staged.length === 0) {
    throw new OfflineError(
      OFFLINE_ERROR_CODES.INVALID_ARGUMENT,
      `staging directory ${opts.stagingDir} holds no files`,
    );
  }
  const bySize = new Map(staged.map((f) => [f.path, f.size]));
  const meter = new Meter(
    staged.reduce((n, f) => n + f.size, 0),
    clock,
    opts.onProgress,
  );
  const result: DiskPrepResult = { drives: [], filesCopied: 0, filesSkipped: 0, bytesCopied: 0 };
  const assigned = new Set<string>();

  for (let index = opts.onlyDriveIndex ?? 0; ; index += 1) {
    const remaining = staged.filter((f) => !assigned.has(f.path));
    if (opts.onlyDriveIndex !== undefined ? index > opts.onlyDriveIndex : remaining.length === 0) break;
    const dir = await opts.nextDrive({
      index,
      reason: index === (opts.onlyDriveIndex ?? 0) ? 'first' : 'full',
      filesRemaining: remaining.length,
      bytesRemaining: remaining.reduce((n, f) => n + f.size, 0),
    });
    if (dir === undefined) {
      throw new OfflineError(
        OFFLINE_ERROR_CODES.NO_DRIVE,
        `drive ${index} was not given: ${remaining.length} files remain; re-run diskprep with more drives to resume`,
        { driveIndex: index },
      );
    }
    const drive = await prepareOne(opts, index, dir, remaining, bySize, meter, result, now, clock);
    for (const p of drive.paths) assigned.add(p);
    result.drives.push(drive.prepared);
  }
  return result;
}

async function prepareOne(
  opts: DiskPrepOptions,
  index: number,
  dir: string,
  remaining: readonly StagedFile[],
  bySize: ReadonlyMap<string, number>,
  meter: Meter,
  result: DiskPrepResult,
  now: () => Date,
  clock: () => number,
): Promise<{ prepared: PreparedDrive; paths: string[] }> {
  const seen = await inspectDrive(dir);
  let label = seen.label;
  let key: Buffer | undefined;
  let journal: DriveJournal | undefined;
  try {
    if (label && label.jobName === opts.jobName && label.driveIndex !== index) {
      throw new OfflineError(
        OFFLINE_ERROR_CODES.DRIVE_MISMATCH,
        `${dir} is drive ${label.driveIndex} of job ${label.jobName}, but drive ${index} is needed`,
        { driveIndex: index, driveId: label.driveId },
      );
    }
    if (label && label.jobName === opts.jobName) {
      key = await opts.escrow.recover(label.driveId, label.keyId);
      journal = await readJournal(dir, key);
    } else if (opts.onlyDriveIndex !== undefined) {
      throw new OfflineError(
        OFFLINE_ERROR_CODES.DRIVE_MISMATCH,
        `${dir} is not drive ${index} of job ${opts.jobName}; re-preparing needs the drive's label and journal`,
        { driveIndex: index },
      );
    } else {
      label = undefined;
      if (seen.foreign.length > 0) {
        const why = seen.label
          ? `it is drive ${seen.label.driveIndex} of job ${seen.label.jobName}`
          : `it holds ${seen.foreign.length} entries`;
        const ok = opts.confirmOverwrite ? await opts.confirmOverwrite(dir, why) : false;
        if (!ok) {
          throw new OfflineError(
            OFFLINE_ERROR_CODES.DRIVE_NOT_EMPTY,
            `drive ${dir} is not empty (${why}); confirm overwriting it (--yes) or use another drive`,
            { driveIndex: index },
          );
        }
        for (const name of seen.foreign) await rm(path.join(dir, name), { recursive: true, force: true });
      }
    }
    const resumed = journal !== undefined;
    if (!label || !key) {
      // Fresh drive: key escrowed before it encrypts anything, label written before any data.
      const driveId = newDriveId();
      key = randomBytes(DRIVE_KEY_BYTES);
      const keyId = await opts.escrow.escrow(driveId, key);
      label = {
        format: DRIVE_FORMAT_NAME,
        version: DRIVE_FORMAT_VERSION,
        jobName: opts.jobName,
        driveIndex: index,
        driveId,
        keyId,
        createdAt: now().toISOString(),
      };
      await writeLabel(dir, label);
    }
    if (!journal) {
      const capacity = Math.min(opts.capacityBytes ?? Infinity, await freeBytesOf(dir));
      const files = planDrive(remaining, capacity);
      journal = {
        format: JOURNAL_FORMAT_NAME,
        version: DRIVE_FORMAT_VERSION,
        jobName: opts.jobName,
        driveIndex: index,
        driveId: label.driveId,
        sealed: false,
        files: files.map((f) => ({
          path: f.path,
          size: f.size,
          encryptedSize: encryptedSizeOf(f.size),
          state: 'pending',
        })),
      };
      await writeJournal(dir, journal, key);
    }
    for (const e of journal.files) {
      if (bySize.get(e.path) !== e.size) {
        throw new OfflineError(
          OFFLINE_ERROR_CODES.STAGING_CHANGED,
          `drive ${index} lists ${e.path} with ${e.size} bytes, but staging has ${String(bySize.get(e.path) ?? 'no such file')}`,
          { driveIndex: index, driveId: label.driveId, files: [e.path] },
        );
      }
    }
    opts.onDrive?.({
      index,
      dir,
      driveId: label.driveId,
      resumed,
      files: journal.files.length,
      bytes: journal.files.reduce((n, f) => n + f.size, 0),
    });
    await copyFiles(opts, dir, label, key, journal, meter, result, clock);
    return {
      prepared: {
        index,
        dir,
        driveId: label.driveId,
        keyId: label.keyId,
        files: journal.files.length,
        bytes: journal.files.reduce((n, f) => n + f.size, 0),
        resumed,
      },
      paths: journal.files.map((f) => f.path),
    };
  } finally {
    key?.fill(0);
  }
}

/** True if the drive holds this entry complete, with the size and ciphertext checksum the journal records. */
async function stillComplete(dir: string, e: JournalEntry): Promise<boolean> {
  if (e.state !== 'complete') return false;
  try {
    const got = await sha256OfFile(dataPath(dir, e.path));
    return got.size === e.encryptedSize && got.sha256 === e.encryptedSha256;
  } catch {
    return false;
  }
}

async function copyFiles(
  opts: DiskPrepOptions,
  dir: string,
  label: DriveLabel,
  key: Buffer,
  journal: DriveJournal,
  meter: Meter,
  result: DiskPrepResult,
  clock: () => number,
): Promise<void> {
  let dirty = 0;
  let lastFlush = clock();
  const runStart = clock();
  let copiedThisRun = 0;
  const flush = async (): Promise<void> => {
    await writeJournal(dir, journal, key);
    dirty = 0;
    lastFlush = clock();
  };
  try {
    for (const e of journal.files) {
      if (opts.signal?.aborted)
        throw new OfflineError(OFFLINE_ERROR_CODES.ABORTED, 'diskprep was interrupted');
      // Complete files are re-hashed, not trusted: a drive damaged between runs is repaired here.
      if (await stillComplete(dir, e)) {
        result.filesSkipped += 1;
        meter.add(e.size, false, label.driveIndex, e.path);
        opts.onFile?.({ driveIndex: label.driveIndex, path: e.path, skipped: true });
        continue;
      }
      if (e.state === 'complete') {
        e.state = 'pending';
        delete e.sha256;
        delete e.encryptedSha256;
        await flush(); // never leave a journal claiming a file we are about to overwrite
      }
      const done = await encryptFile(
        path.join(opts.stagingDir, ...e.path.split('/')),
        dataPath(dir, e.path),
        key,
        { driveId: label.driveId, relPath: e.path },
        {
          ...(opts.signal ? { signal: opts.signal } : {}),
          onBytes: (n) => meter.add(n, true, label.driveIndex, e.path),
        },
      );
      if (opts.maxBytesPerSecond !== undefined) {
        copiedThisRun += done.size;
        const dueMs = (copiedThisRun / opts.maxBytesPerSecond) * 1000 - (clock() - runStart);
        if (dueMs > 0) await new Promise((r) => setTimeout(r, dueMs));
      }
      e.state = 'complete';
      e.sha256 = done.sha256;
      e.encryptedSha256 = done.encryptedSha256;
      result.filesCopied += 1;
      result.bytesCopied += done.size;
      opts.onFile?.({ driveIndex: label.driveIndex, path: e.path, skipped: false });
      dirty += 1;
      if (dirty >= JOURNAL_FLUSH_FILES || clock() - lastFlush >= JOURNAL_FLUSH_MS) await flush();
    }
    journal.sealed = true;
  } finally {
    // Also on abort or error: what completed is recorded, so the re-run skips it.
    if (dirty > 0 || journal.sealed) await flush();
    meter.add(0, false, label.driveIndex, '', true);
  }
}
