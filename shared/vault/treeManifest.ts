// Directory-tree manifests: sealed JSON (kind TREE_MANIFEST, compressed like blocks):
//   {"v":1,"root":<entry>}
//   entry: {"name","type":"dir"|"file"|"symlink","mode","mtimeNs", …}
//     dir:     "children": [entry…] (sorted by name)
//     file:    "size", "blocks": [hex block id | "0" for an all-zero block], 64 KiB each, last short
//     symlink: "target" (stored as text, never followed)
// Names are validated on restore, not trusted here: a manifest may have been crafted.
import { fromHex } from './hex';
import { BLOCK_ID_BYTES } from './formatIds';

const TREE_MANIFEST_VERSION = 1;
/** Marks an all-zero block in a file's block list. */
export const ZERO_BLOCK_REF = '0';

interface EntryBase {
  name: string;
  /** Permission bits (mode & 0o7777). */
  mode: number;
  /** Modification time in nanoseconds since the epoch, as a decimal string (exact). */
  mtimeNs: string;
}
export interface DirEntry extends EntryBase {
  type: 'dir';
  children: TreeEntry[];
}
export interface FileEntry extends EntryBase {
  type: 'file';
  size: number;
  blocks: string[];
}
export interface SymlinkEntry extends EntryBase {
  type: 'symlink';
  target: string;
}
export type TreeEntry = DirEntry | FileEntry | SymlinkEntry;

export interface TreeManifest {
  v: 1;
  root: DirEntry;
}

export function encodeTreeManifest(root: DirEntry): Buffer {
  const manifest: TreeManifest = { v: TREE_MANIFEST_VERSION, root };
  return Buffer.from(JSON.stringify(manifest), 'utf8');
}

export function decodeTreeManifest(buf: Buffer): TreeManifest {
  const raw = JSON.parse(buf.toString('utf8')) as { v?: unknown; root?: unknown };
  if (raw.v !== TREE_MANIFEST_VERSION) throw new Error(`unknown tree manifest version ${String(raw.v)}`);
  const root = checkEntry(raw.root, 'root');
  if (root.type !== 'dir') throw new Error('tree manifest root is not a directory');
  return { v: TREE_MANIFEST_VERSION, root };
}

function checkEntry(raw: unknown, where: string): TreeEntry {
  if (typeof raw !== 'object' || raw === null) throw new Error(`${where}: not an object`);
  const e = raw as Record<string, unknown>;
  if (
    typeof e.name !== 'string' ||
    typeof e.mode !== 'number' ||
    typeof e.mtimeNs !== 'string' ||
    !/^-?\d+$/.test(e.mtimeNs)
  ) {
    throw new Error(`${where}: bad name, mode or mtimeNs`);
  }
  const base = { name: e.name, mode: e.mode, mtimeNs: e.mtimeNs };
  switch (e.type) {
    case 'dir': {
      if (!Array.isArray(e.children)) throw new Error(`${where}: dir without children`);
      return { ...base, type: 'dir', children: e.children.map((c, i) => checkEntry(c, `${where}/${i}`)) };
    }
    case 'file': {
      if (!Number.isSafeInteger(e.size) || (e.size as number) < 0 || !Array.isArray(e.blocks)) {
        throw new Error(`${where}: bad file size or blocks`);
      }
      const blocks = e.blocks.map((b) => {
        if (b !== ZERO_BLOCK_REF && (typeof b !== 'string' || !fromHex(b, BLOCK_ID_BYTES)))
          throw new Error(`${where}: bad block ref`);
        return b as string;
      });
      return { ...base, type: 'file', size: e.size as number, blocks };
    }
    case 'symlink': {
      if (typeof e.target !== 'string') throw new Error(`${where}: symlink without target`);
      return { ...base, type: 'symlink', target: e.target };
    }
    default:
      throw new Error(`${where}: unknown entry type ${String(e.type)}`);
  }
}

/** Every block id (hex) a tree references, for verify. */
export function forEachTreeBlock(root: TreeEntry, visit: (hexId: string) => void): void {
  if (root.type === 'file') {
    for (const b of root.blocks) if (b !== ZERO_BLOCK_REF) visit(b);
  } else if (root.type === 'dir') {
    for (const c of root.children) forEachTreeBlock(c, visit);
  }
}
