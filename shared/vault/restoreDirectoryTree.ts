// Restores a tree point (or one file or folder of it) into a target directory without ever writing
// outside it:
// - every name is checked (safeNames.ts); a refused entry and its subtree are skipped and reported;
// - a directory is entered only if lstat shows a real directory (never through a symlink);
// - files are written to a temp name with O_EXCL | O_NOFOLLOW, then renamed (rename replaces a
//   link, it does not follow it);
// - symlinks are created last, so nothing restored is ever written through one;
// - directory modes and times are applied last, deepest first (a read-only folder still gets its
//   children).
import { constants as fsConstants } from 'node:fs';
import { chmod, lstat, lutimes, mkdir, open, rename, symlink, unlink, utimes } from 'node:fs/promises';
import * as path from 'node:path';
import { readBlocks } from './blockReader';
import { fromHex } from './hex';
import { BLOCK_ID_BYTES } from './formatIds';
import { ProgressMeter, type ProgressCallback } from './progress';
import { CoalescingWriter } from './coalescingWriter';
import { tempNameFor } from './restoreDiskImage';
import { unsafeNameReason } from './safeNames';
import {
  ZERO_BLOCK_REF,
  type DirEntry,
  type FileEntry,
  type SymlinkEntry,
  type TreeEntry,
} from './treeManifest';
import type { Vault } from './vault';
import { VAULT_ERROR_CODES, VaultError } from './vaultErrors';

const O_NOFOLLOW = fsConstants.O_NOFOLLOW ?? 0;
const TEMP_FLAGS = fsConstants.O_WRONLY | fsConstants.O_CREAT | fsConstants.O_EXCL | O_NOFOLLOW;
/** Restored permission bits: rwx for all plus sticky; setuid/setgid are dropped on purpose. */
const RESTORED_MODE_MASK = 0o1777;

export interface RefusedEntry {
  /** Path inside the point, '/'-separated (JSON-quoted parts when unprintable). */
  path: string;
  reason: string;
}

export interface TreeRestoreResult {
  bytesWritten: number;
  files: number;
  dirs: number;
  symlinks: number;
  refused: RefusedEntry[];
}

function nsToSeconds(ns: string): number {
  return Number(BigInt(ns) / 1000n) / 1e6;
}

function sizeOf(e: TreeEntry): number {
  if (e.type === 'file') return e.size;
  if (e.type === 'dir') return e.children.reduce((n, c) => n + sizeOf(c), 0);
  return 0;
}

/** Finds `item` ('a/b/c') in the tree; the root for '' or undefined. */
export function findItem(root: DirEntry, item: string | undefined): TreeEntry {
  let entry: TreeEntry = root;
  for (const part of (item ?? '').split('/').filter((p) => p !== '')) {
    const next: TreeEntry | undefined =
      entry.type === 'dir' ? entry.children.find((c) => c.name === part) : undefined;
    if (!next)
      throw new VaultError(
        VAULT_ERROR_CODES.ITEM_NOT_FOUND,
        `no entry ${JSON.stringify(item)} in this point`,
      );
    entry = next;
  }
  return entry;
}

export async function restoreDirectoryTree(
  vault: Vault,
  root: DirEntry,
  target: string,
  item: string | undefined,
  onProgress: ProgressCallback | undefined,
): Promise<TreeRestoreResult> {
  const entry = findItem(root, item);
  const result: TreeRestoreResult = { bytesWritten: 0, files: 0, dirs: 0, symlinks: 0, refused: [] };
  const meter = new ProgressMeter(sizeOf(entry), onProgress);
  const dirsToFinish: { abs: string; entry: DirEntry }[] = [];
  const links: { abs: string; rel: string; entry: SymlinkEntry }[] = [];
  const bs = vault.config.blockSizeBytes;

  await mkdir(target, { recursive: true });
  const targetStat = await lstat(target);
  if (!targetStat.isDirectory()) {
    throw new VaultError(VAULT_ERROR_CODES.INVALID_ARGUMENT, `restore target ${target} is not a directory`);
  }

  const refuse = (rel: string, reason: string): void => {
    result.refused.push({ path: rel, reason });
  };

  const restoreFile = async (abs: string, rel: string, file: FileEntry): Promise<void> => {
    if (file.blocks.length !== Math.ceil(file.size / bs))
      return refuse(rel, 'block list does not match the file size');
    const positions: number[] = [];
    const ids: Buffer[] = [];
    for (let i = 0; i < file.blocks.length; i += 1) {
      const ref = file.blocks[i]!;
      if (ref === ZERO_BLOCK_REF) continue;
      const id = fromHex(ref, BLOCK_ID_BYTES);
      if (!id) return refuse(rel, 'malformed block id');
      positions.push(i);
      ids.push(id);
    }
    const temp = tempNameFor(abs);
    const handle = await open(temp, TEMP_FLAGS, 0o600);
    let closed = false;
    try {
      const out = new CoalescingWriter(handle);
      await readBlocks(vault, ids, async (k, plain) => {
        const i = positions[k]!;
        const expected = Math.min(bs, file.size - i * bs);
        if (plain.length !== expected) {
          throw new VaultError(
            VAULT_ERROR_CODES.METADATA_CORRUPT,
            `${rel}: block ${i} has ${plain.length} bytes, expected ${expected}`,
          );
        }
        await out.write(plain, i * bs);
        meter.add(plain.length);
      });
      await out.flush();
      await handle.truncate(file.size); // trailing zero blocks
      await handle.chmod(file.mode & RESTORED_MODE_MASK);
      const t = nsToSeconds(file.mtimeNs);
      await handle.utimes(t, t);
      await handle.close();
      closed = true;
      await rename(temp, abs);
      result.bytesWritten += out.bytesWritten;
      result.files += 1;
    } catch (err) {
      if (!closed) await handle.close().catch(() => undefined);
      await unlink(temp).catch(() => undefined);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST')
        return refuse(rel, 'a directory is in the way');
      throw err;
    }
  };

  const restoreEntry = async (parentAbs: string, e: TreeEntry, rel: string): Promise<void> => {
    const unsafe = unsafeNameReason(e.name);
    if (unsafe) return refuse(rel, `unsafe name: ${unsafe}`);
    const abs = path.join(parentAbs, e.name);
    if (e.type === 'file') return restoreFile(abs, rel, e);
    if (e.type === 'symlink') {
      links.push({ abs, rel, entry: e });
      return;
    }
    try {
      await mkdir(abs);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    // Never descend through a symlink (or into a file) that was already there.
    const st = await lstat(abs);
    if (!st.isDirectory()) return refuse(rel, 'exists and is not a directory (a symlink is never followed)');
    result.dirs += 1;
    dirsToFinish.push({ abs, entry: e });
    await restoreChildren(abs, e, rel);
  };

  const restoreChildren = async (abs: string, dir: DirEntry, rel: string): Promise<void> => {
    const seen = new Set<string>();
    for (const child of dir.children) {
      const childRel = rel === '' ? child.name : `${rel}/${child.name}`;
      if (seen.has(child.name)) {
        refuse(childRel, 'duplicate name in its directory');
        continue;
      }
      seen.add(child.name);
      await restoreEntry(abs, child, childRel);
    }
  };

  if (entry === root) {
    await restoreChildren(target, root, '');
    dirsToFinish.unshift({ abs: target, entry: root }); // the target takes the root's mode and time, last
  } else {
    await restoreEntry(target, entry, entry.name);
  }

  // Symlinks last: nothing above was written through one. An existing name is not replaced.
  for (const l of links) {
    try {
      await symlink(l.entry.target, l.abs);
      const t = nsToSeconds(l.entry.mtimeNs);
      await lutimes(l.abs, t, t);
      result.symlinks += 1;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST')
        refuse(l.rel, 'a file of that name already exists');
      else throw err;
    }
  }
  for (let i = dirsToFinish.length - 1; i >= 0; i -= 1) {
    const { abs, entry: d } = dirsToFinish[i]!;
    await chmod(abs, d.mode & RESTORED_MODE_MASK);
    const t = nsToSeconds(d.mtimeNs);
    await utimes(abs, t, t);
  }
  meter.finish();
  return result;
}
