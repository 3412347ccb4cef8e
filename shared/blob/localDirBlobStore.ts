// BlobStore in a directory on disk: the on-prem helper's staging area and shipping drives.
// Layout and etags: localDirLayout.ts. Writes go to a temp file in the target directory, are
// fsynced, and are published by rename (or link(2) for ifNoneMatch, which fails atomically if the
// name exists), then the directory is fsynced. Every mutation of a key runs under that key's lock
// file (localDirLock.ts), so condition checks, publication and metadata changes are atomic among
// all processes using the root. Reads take no lock: an open descriptor pins one version's bytes.
import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { constants as fsConstants } from 'node:fs';
import {
  link,
  lstat,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  unlink,
  type FileHandle,
} from 'node:fs/promises';
import * as path from 'node:path';
import {
  BlobAlreadyExistsError,
  BlobFailedError,
  BlobInvalidKeyError,
  BlobNotFoundError,
  BlobTransientError,
} from './blobErrors';
import { assertValidPrefix, isValidKey } from './blobKey';
import type {
  BlobContent,
  BlobListEntry,
  BlobMetadata,
  BlobStat,
  BlobStore,
  BlobWriter,
  DeleteOptions,
  DeleteResult,
  PutOptions,
  PutResult,
  WriterOptions,
} from './blobStore';
import {
  assertConditionsHold,
  assertRangeInside,
  assertValidMetadata,
  assertValidRangeArgs,
  assertValidWrite,
  resolveWriterSizing,
} from './blobValidation';
import { LocalDirLayout, etagOf } from './localDirLayout';
import { withKeyLock } from './localDirLock';
import { assertIntoFits } from './readRangeInto';
import { errnoOf, translateFsError } from './localFsErrors';
import { WriterLifecycle } from './writerLifecycle';

/** Frozen: version 1 of the metadata sidecar file, `{"v":1,"metadata":{…}}`. */
const METADATA_FORMAT_VERSION = 1;
/** A reader that keeps seeing the version change under it gives up after this many tries (TRANSIENT). */
const READ_VERSION_ATTEMPTS = 5;
/** Do not follow a symlink at the object's own name (0 where the platform lacks O_NOFOLLOW). */
const O_NOFOLLOW = fsConstants.O_NOFOLLOW ?? 0;
const NOT_THERE = new Set(['ENOENT', 'ENOTDIR']);
// File systems without hard links (FAT, exFAT: shipping drives) answer link(2) with one of these.
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/** The version read changed while we read it; the caller starts over. */
class VersionChanged extends Error {}

export class LocalDirBlobStore implements BlobStore {
  private readonly layout: LocalDirLayout;

  constructor(root: string) {
    this.layout = new LocalDirLayout(path.resolve(root));
  }

  get root(): string {
    return this.layout.root;
  }

  async put(key: string, data: Uint8Array, opts: PutOptions = {}): Promise<PutResult> {
    assertValidWrite(key, opts);
    const temp = await this.createTemp(key);
    try {
      await temp.handle.writeFile(data);
      await temp.handle.sync();
      await temp.handle.close();
    } catch (err) {
      await discardTemp(temp);
      throw translateFsError(err, 'put', key);
    }
    return this.publish(key, temp.path, opts);
  }

  async get(key: string): Promise<BlobContent> {
    const objectPath = this.layout.objectPath(key);
    return this.readVersion(key, 'get', async () => {
      const handle = await this.openForRead(objectPath, key);
      try {
        const st = await handle.stat({ bigint: true });
        if (!st.isFile()) throw new BlobNotFoundError(key);
        const etag = etagOf(st);
        const metadata = await this.readMetadata(key, etag, objectPath);
        const data = await readExactly(handle, 0, Number(st.size), key);
        return { data, etag, metadata };
      } finally {
        await handle.close();
      }
    });
  }

  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    assertValidRangeArgs(key, offset, length);
    return this.readRange(key, offset, length, undefined);
  }

  /** getRange straight into the caller's buffer: read(2) fills it, nothing is allocated. */
  async getRangeInto(key: string, offset: number, length: number, into: Uint8Array): Promise<Uint8Array> {
    assertIntoFits(key, offset, length, into);
    return this.readRange(key, offset, length, into);
  }

  async stat(key: string): Promise<BlobStat | undefined> {
    const objectPath = this.layout.objectPath(key);
    return this.readVersion(key, 'stat', async () => {
      const st = await lstatOrUndefined(objectPath);
      if (!st?.isFile()) return undefined;
      const etag = etagOf(st);
      return { size: Number(st.size), etag, metadata: await this.readMetadata(key, etag, objectPath) };
    });
  }

  async delete(key: string, opts: DeleteOptions = {}): Promise<DeleteResult> {
    const objectPath = this.layout.objectPath(key);
    try {
      return await withKeyLock(this.layout.lockPath(key), key, async () => {
        const current = await this.currentEtag(objectPath, key, 'read');
        assertConditionsHold(key, current, { ifMatch: opts.ifMatch });
        if (current === undefined) return { deleted: false };
        await unlink(objectPath);
        await syncDir(path.dirname(objectPath));
        await rm(this.layout.metadataDir(key), { recursive: true, force: true });
        return { deleted: true };
      });
    } catch (err) {
      throw translateFsError(err, 'delete', key);
    }
  }

  async *list(prefix: string): AsyncIterable<BlobListEntry> {
    assertValidPrefix(prefix);
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash < 0 ? '' : prefix.slice(0, slash);
    const dirPath = path.join(this.layout.root, ...(dirKey ? dirKey.split('/') : []));
    yield* walk(dirPath, dirKey, prefix.slice(slash + 1));
  }

  async openWriter(key: string, opts: WriterOptions = {}): Promise<BlobWriter> {
    assertValidWrite(key, opts);
    resolveWriterSizing(opts, key); // validated for parity; the OS page cache does the buffering here
    const temp = await this.createTemp(key);
    return new LocalDirWriter(key, temp, (tempPath) => this.publish(key, tempPath, opts));
  }

  /** Makes `tempPath` (closed, fsynced) the key's current version, if the conditions hold. */
  private async publish(key: string, tempPath: string, opts: PutOptions): Promise<PutResult> {
    const objectPath = this.layout.objectPath(key);
    let published = false;
    try {
      // rename and link keep the inode, size and mtime, so the temp file's etag is the version's etag.
      const etag = etagOf(await lstat(tempPath, { bigint: true }));
      await withKeyLock(this.layout.lockPath(key), key, async () => {
        assertConditionsHold(key, await this.currentEtag(objectPath, key, 'write'), opts);
        // Written under the lock so no other writer's cleanup can remove it before we publish.
        const metadataPath = await this.writeMetadata(key, etag, opts.metadata ?? {});
        try {
          if (opts.ifNoneMatch === '*') await publishNew(tempPath, objectPath, key);
          else await rename(tempPath, objectPath);
          published = true;
        } finally {
          if (!published && metadataPath) await unlink(metadataPath).catch(() => undefined);
        }
        await syncDir(path.dirname(objectPath));
        await this.removeOtherMetadata(key, etag);
      });
      return { etag };
    } catch (err) {
      throw translateFsError(err, 'put', key);
    } finally {
      if (!published) await unlink(tempPath).catch(() => undefined);
    }
  }

  private async readRange(
    key: string,
    offset: number,
    length: number,
    into: Uint8Array | undefined,
  ): Promise<Uint8Array> {
    const objectPath = this.layout.objectPath(key);
    const handle = await this.openForRead(objectPath, key);
    try {
      const st = await handle.stat();
      if (!st.isFile()) throw new BlobNotFoundError(key);
      assertRangeInside(key, offset, length, st.size);
      return await readExactly(handle, offset, length, key, into);
    } catch (err) {
      throw translateFsError(err, 'getRange', key);
    } finally {
      await handle.close();
    }
  }

  private async createTemp(key: string): Promise<TempFile> {
    const tempPath = this.layout.tempPath(key, randomBytes(8).toString('hex'));
    try {
      await mkdir(path.dirname(tempPath), { recursive: true });
      return { path: tempPath, handle: await open(tempPath, 'wx') };
    } catch (err) {
      // mkdir -p over an existing object: the key would nest under another key.
      if (errnoOf(err) === 'EEXIST' || errnoOf(err) === 'ENOTDIR')
        throw new BlobInvalidKeyError(key, 'it nests under another object');
      throw translateFsError(err, 'create temp file', key);
    }
  }

  private async openForRead(objectPath: string, key: string): Promise<FileHandle> {
    try {
      return await open(objectPath, fsConstants.O_RDONLY | O_NOFOLLOW);
    } catch (err) {
      if (NOT_THERE.has(errnoOf(err) ?? '')) throw new BlobNotFoundError(key);
      throw translateFsError(err, 'open', key);
    }
  }

  /** The current version's etag, undefined if the key does not exist. */
  private async currentEtag(
    objectPath: string,
    key: string,
    intent: 'read' | 'write',
  ): Promise<string | undefined> {
    const st = await lstatOrUndefined(objectPath);
    if (st === undefined) return undefined;
    if (st.isFile()) return etagOf(st);
    // A directory of other keys has this name: no object to read, and none can be written here.
    if (intent === 'write') throw new BlobInvalidKeyError(key, 'it is a parent of other objects');
    return undefined;
  }

  /** Runs a read and retries it if the version changed in the middle. */
  private async readVersion<T>(key: string, op: string, read: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await read();
      } catch (err) {
        if (!(err instanceof VersionChanged)) throw translateFsError(err, op, key);
        if (attempt >= READ_VERSION_ATTEMPTS)
          throw new BlobTransientError(`local ${op}: key kept changing while read`, key);
      }
    }
  }

  private async readMetadata(key: string, etag: string, objectPath: string): Promise<BlobMetadata> {
    let text: string;
    try {
      text = await readFile(this.layout.metadataPath(key, etag), 'utf8');
    } catch (err) {
      if (!NOT_THERE.has(errnoOf(err) ?? '')) throw err;
      // No sidecar: either this version has no metadata, or it was replaced (and its sidecar removed)
      // after we looked at it. Only the second changes the current etag.
      if ((await this.currentEtag(objectPath, key, 'read')) !== etag) throw new VersionChanged();
      return {};
    }
    return parseMetadata(text, key);
  }

  /** Writes the sidecar for one version atomically; returns its path, or undefined if there is no metadata. */
  private async writeMetadata(
    key: string,
    etag: string,
    metadata: BlobMetadata,
  ): Promise<string | undefined> {
    if (Object.keys(metadata).length === 0) return undefined;
    const finalPath = this.layout.metadataPath(key, etag);
    const tempPath = path.join(path.dirname(finalPath), `.${randomBytes(8).toString('hex')}.tmp`);
    await mkdir(path.dirname(finalPath), { recursive: true });
    const handle = await open(tempPath, 'wx');
    try {
      await handle.writeFile(JSON.stringify({ v: METADATA_FORMAT_VERSION, metadata }));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tempPath, finalPath);
    return finalPath;
  }

  /** Best effort: a sidecar left behind never matches a live etag, so it is only clutter. */
  private async removeOtherMetadata(key: string, keepEtag: string): Promise<void> {
    const dir = this.layout.metadataDir(key);
    const names = await readdir(dir).catch(() => [] as string[]);
    const keep = `${keepEtag}.json`;
    await Promise.all(
      names.filter((n) => n !== keep).map((n) => unlink(path.join(dir, n)).catch(() => undefined)),
    );
  }
}

interface TempFile {
  path: string;
  handle: FileHandle;
}

class LocalDirWriter implements BlobWriter {
  private readonly lifecycle: WriterLifecycle;
  private closed = false;
  bytesWritten = 0;

  constructor(
    private readonly key: string,
    private readonly temp: TempFile,
    private readonly publish: (tempPath: string) => Promise<PutResult>,
  ) {
    this.lifecycle = new WriterLifecycle(key);
  }

  write(chunk: Uint8Array): Promise<void> {
    return this.lifecycle.run('write', async () => {
      try {
        await writeAll(this.temp.handle, chunk);
      } catch (err) {
        throw translateFsError(err, 'write', this.key);
      }
      this.bytesWritten += chunk.byteLength;
    });
  }

  commit(): Promise<PutResult> {
    return this.lifecycle.run('commit', async () => {
      try {
        await this.temp.handle.sync();
      } catch (err) {
        throw translateFsError(err, 'fsync', this.key);
      }
      await this.close();
      this.lifecycle.assertNotAborted();
      return this.publish(this.temp.path);
    });
  }

  async abort(): Promise<void> {
    if (!this.lifecycle.beginAbort()) return;
    await this.close();
    await unlink(this.temp.path).catch(() => undefined);
  }

  private async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.temp.handle.close().catch(() => undefined);
  }
}

/** Publishes only if the name is free: link(2) fails with EEXIST atomically, unlike check-then-rename. */
async function publishNew(tempPath: string, objectPath: string, key: string): Promise<void> {
  try {
    await link(tempPath, objectPath);
  } catch (err) {
    const errno = errnoOf(err) ?? '';
    if (errno === 'EEXIST') throw new BlobAlreadyExistsError(key);
    if (!NO_HARD_LINKS.has(errno)) throw err;
    // No hard links (FAT/exFAT): we hold the key lock and saw the key absent, so a rename is safe
    // against every Strongbox writer (not against other programs writing into the root).
    await rename(tempPath, objectPath);
    return;
  }
  await unlink(tempPath);
}

/** Keys in ascending byte order: a directory `d` sorts as `d/`, which places its keys exactly where they belong. */
async function* walk(dirPath: string, dirKey: string, namePrefix: string): AsyncGenerator<BlobListEntry> {
  let entries: Dirent[];
  try {
    entries = await readdir(dirPath, { withFileTypes: true });
  } catch (err) {
    if (NOT_THERE.has(errnoOf(err) ?? '')) return;
    throw translateFsError(err, 'list', dirKey);
  }
  const children = entries
    // Skips temp files, bookkeeping (names starting with '.'), symlinks and anything not a key segment.
    .filter((e) => (e.isFile() || e.isDirectory()) && e.name.startsWith(namePrefix) && isValidKey(e.name))
    .map((e) => ({ name: e.name, isDir: e.isDirectory(), sortName: e.isDirectory() ? `${e.name}/` : e.name }))
    .sort((a, b) => (a.sortName < b.sortName ? -1 : a.sortName > b.sortName ? 1 : 0));
  for (const child of children) {
    const key = dirKey ? `${dirKey}/${child.name}` : child.name;
    const childPath = path.join(dirPath, child.name);
    if (child.isDir) {
      yield* walk(childPath, key, '');
      continue;
    }
    const st = await lstatOrUndefined(childPath);
    if (st?.isFile()) yield { key, size: Number(st.size), etag: etagOf(st) };
  }
}

async function lstatOrUndefined(p: string) {
  try {
    return await lstat(p, { bigint: true });
  } catch (err) {
    if (NOT_THERE.has(errnoOf(err) ?? '')) return undefined;
    throw err;
  }
}

async function readExactly(
  handle: FileHandle,
  position: number,
  length: number,
  key: string,
  into?: Uint8Array,
): Promise<Uint8Array> {
  const out = into ? into.subarray(0, length) : Buffer.allocUnsafe(length);
  let at = 0;
  while (at < length) {
    const { bytesRead } = await handle.read(out, at, length - at, position + at);
    // Objects are never modified in place, so a short read means someone else changed the file.
    if (bytesRead === 0) throw new BlobFailedError(`local read: file shorter than its stat said`, key);
    at += bytesRead;
  }
  return out;
}

async function writeAll(handle: FileHandle, chunk: Uint8Array): Promise<void> {
  let at = 0;
  while (at < chunk.byteLength) {
    const { bytesWritten } = await handle.write(chunk, at, chunk.byteLength - at);
    at += bytesWritten;
  }
}

/** Makes a rename or unlink in `dir` durable (POSIX). Windows cannot open directories; NTFS journals it. */
async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function discardTemp(temp: TempFile): Promise<void> {
  await temp.handle.close().catch(() => undefined);
  await unlink(temp.path).catch(() => undefined);
}

function parseMetadata(text: string, key: string): BlobMetadata {
  const parsed: unknown = JSON.parse(text);
  const doc = parsed as { v?: unknown; metadata?: unknown };
  if (doc.v !== METADATA_FORMAT_VERSION || typeof doc.metadata !== 'object' || doc.metadata === null)
    throw new BlobFailedError(`metadata sidecar has unknown format`, key);
  const metadata: Record<string, string> = {};
  for (const [name, value] of Object.entries(doc.metadata)) {
    if (typeof value !== 'string') throw new BlobFailedError(`metadata sidecar has a non-string value`, key);
    metadata[name] = value;
  }
  assertValidMetadata(metadata, key);
  return metadata;
}
