// Backs up a directory tree: a first pass records the tree with lstat (symlinks are recorded as
// links and never followed; sockets, FIFOs and devices are skipped and reported), then files are
// read in 4 MiB chunks and cut into fixed blocks (a small file is one short block).
import { constants as fsConstants } from 'node:fs';
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import * as path from 'node:path';
import { READ_CHUNK_BYTES } from './backupDiskImage';
import type { DirectoryTreeSource } from './backupSource';
import type { BlockSink } from './blockSink';
import { ProgressMeter, type ProgressCallback } from './progress';
import { ZERO_BLOCK_REF, type DirEntry, type FileEntry, type TreeEntry } from './treeManifest';
import type { Vault } from './vault';
import { VAULT_ERROR_CODES, VaultError } from './vaultErrors';

const O_NOFOLLOW = fsConstants.O_NOFOLLOW ?? 0;

export interface SkippedEntry {
  path: string;
  reason: string;
}

export interface TreeScanResult {
  root: DirEntry;
  bytesRead: number;
  sourceBytes: number;
  skipped: SkippedEntry[];
}

interface PendingFile {
  entry: FileEntry;
  absPath: string;
}

export async function backupDirectoryTree(
  vault: Vault,
  source: DirectoryTreeSource,
  sink: BlockSink,
  onProgress: ProgressCallback | undefined,
): Promise<TreeScanResult> {
  const rootStat = await lstat(source.path).catch((err: unknown) => {
    throw new VaultError(
      VAULT_ERROR_CODES.SOURCE_UNREADABLE,
      `cannot read ${source.path}`,
      {},
      { cause: err },
    );
  });
  if (!rootStat.isDirectory()) {
    throw new VaultError(VAULT_ERROR_CODES.SOURCE_UNREADABLE, `${source.path} is not a directory`);
  }
  const skipped: SkippedEntry[] = [];
  const files: PendingFile[] = [];
  const root = (await scan(source.path, '', skipped, files)) as DirEntry;
  let total = 0;
  for (const f of files) total += f.entry.size;

  const meter = new ProgressMeter(total, onProgress);
  const bs = vault.config.blockSizeBytes;
  const buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES);
  let bytesRead = 0;
  let sourceBytes = 0;
  for (const f of files) {
    const handle = await open(f.absPath, fsConstants.O_RDONLY | O_NOFOLLOW).catch((err: unknown) => {
      throw new VaultError(
        VAULT_ERROR_CODES.SOURCE_UNREADABLE,
        `cannot open ${f.absPath}`,
        {},
        { cause: err },
      );
    });
    try {
      // Read to EOF: the recorded size is what was read, even if the file changed since the scan.
      let size = 0;
      for (;;) {
        let got = 0;
        while (got < buffer.length) {
          const { bytesRead: n } = await handle.read(buffer, got, buffer.length - got, size + got);
          if (n === 0) break;
          got += n;
        }
        for (let at = 0; at < got; at += bs) {
          const plain = buffer.subarray(at, Math.min(got, at + bs));
          const id = await sink.put(plain);
          f.entry.blocks.push(id === null ? ZERO_BLOCK_REF : id.toString('hex'));
          meter.add(plain.length);
        }
        size += got;
        if (got < buffer.length) break;
      }
      f.entry.size = size;
      bytesRead += size;
      sourceBytes += size;
    } finally {
      await handle.close();
    }
  }
  meter.finish();
  return { root, bytesRead, sourceBytes, skipped };
}

async function scan(
  absPath: string,
  name: string,
  skipped: SkippedEntry[],
  files: PendingFile[],
): Promise<TreeEntry | undefined> {
  const st = await lstat(absPath, { bigint: true });
  const base = { name, mode: Number(st.mode & 0o7777n), mtimeNs: st.mtimeNs.toString() };
  if (st.isSymbolicLink()) return { ...base, type: 'symlink', target: await readlink(absPath) };
  if (st.isFile()) {
    const entry: FileEntry = { ...base, type: 'file', size: Number(st.size), blocks: [] };
    files.push({ entry, absPath });
    return entry;
  }
  if (st.isDirectory()) {
    const names = (await readdir(absPath)).sort();
    const children: TreeEntry[] = [];
    for (const child of names) {
      const entry = await scan(path.join(absPath, child), child, skipped, files);
      if (entry) children.push(entry);
    }
    return { ...base, type: 'dir', children };
  }
  skipped.push({ path: absPath, reason: 'not a file, directory or symlink' });
  return undefined;
}
