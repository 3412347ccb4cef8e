// Disk-image manifests. In memory: one kind byte and one 32-byte id slot per block. Stored (sealed,
// kind DISK_MANIFEST, name = manifest id) as run-length extents, all integers little-endian:
//   "SBDM" | version u8 = 1 | 3 reserved | disk size u64 | block size u32 | extent count u32
//   extents: kind u8 | offset u64 | length u64 | (kind DATA only) ⌈length / block size⌉ × block id 32
// Extents are sorted, contiguous, block-aligned, and cover [0, disk size) exactly.
import { BLOCK_ID_BYTES, EXTENT_KIND, MAGIC } from './formatIds';

const DISK_MANIFEST_VERSION = 1;
const HEADER_BYTES = 24;
const EXTENT_HEADER_BYTES = 17;

export interface DiskBlockMap {
  diskSize: number;
  blockSize: number;
  /** EXTENT_KIND per block. */
  kinds: Uint8Array;
  /** BLOCK_ID_BYTES per block; meaningful where kinds[i] is DATA. */
  ids: Buffer;
}

export function newDiskBlockMap(diskSize: number, blockSize: number): DiskBlockMap {
  const blocks = Math.ceil(diskSize / blockSize);
  return {
    diskSize,
    blockSize,
    kinds: new Uint8Array(blocks).fill(EXTENT_KIND.ZERO),
    ids: Buffer.alloc(blocks * BLOCK_ID_BYTES),
  };
}

export function blockIdAt(map: DiskBlockMap, block: number): Buffer {
  return map.ids.subarray(block * BLOCK_ID_BYTES, (block + 1) * BLOCK_ID_BYTES);
}

/** Length of block `block` (the last one may be short). */
export function blockLengthAt(map: DiskBlockMap, block: number): number {
  return Math.min(map.blockSize, map.diskSize - block * map.blockSize);
}

interface Run {
  kind: number;
  first: number;
  count: number;
}

function runsOf(map: DiskBlockMap): Run[] {
  const runs: Run[] = [];
  for (let b = 0; b < map.kinds.length; b += 1) {
    const kind = map.kinds[b]!;
    const last = runs[runs.length - 1];
    if (last && last.kind === kind) last.count += 1;
    else runs.push({ kind, first: b, count: 1 });
  }
  return runs;
}

export function encodeDiskManifest(map: DiskBlockMap): Buffer {
  const runs = runsOf(map);
  let size = HEADER_BYTES;
  for (const r of runs)
    size += EXTENT_HEADER_BYTES + (r.kind === EXTENT_KIND.DATA ? r.count * BLOCK_ID_BYTES : 0);
  const out = Buffer.alloc(size);
  out.write(MAGIC.DISK_MANIFEST, 0, 'ascii');
  out.writeUInt8(DISK_MANIFEST_VERSION, 4);
  out.writeBigUInt64LE(BigInt(map.diskSize), 8);
  out.writeUInt32LE(map.blockSize, 16);
  out.writeUInt32LE(runs.length, 20);
  let at = HEADER_BYTES;
  for (const r of runs) {
    const offset = r.first * map.blockSize;
    const end = Math.min(map.diskSize, (r.first + r.count) * map.blockSize);
    out.writeUInt8(r.kind, at);
    out.writeBigUInt64LE(BigInt(offset), at + 1);
    out.writeBigUInt64LE(BigInt(end - offset), at + 9);
    at += EXTENT_HEADER_BYTES;
    if (r.kind === EXTENT_KIND.DATA) {
      at += map.ids.copy(out, at, r.first * BLOCK_ID_BYTES, (r.first + r.count) * BLOCK_ID_BYTES);
    }
  }
  return out;
}

export function decodeDiskManifest(buf: Buffer): DiskBlockMap {
  if (buf.length < HEADER_BYTES || buf.toString('ascii', 0, 4) !== MAGIC.DISK_MANIFEST)
    throw new Error('not a disk manifest');
  if (buf.readUInt8(4) !== DISK_MANIFEST_VERSION)
    throw new Error(`unknown disk manifest version ${buf.readUInt8(4)}`);
  const diskSize = Number(buf.readBigUInt64LE(8));
  const blockSize = buf.readUInt32LE(16);
  const extents = buf.readUInt32LE(20);
  if (!Number.isSafeInteger(diskSize) || blockSize === 0) throw new Error('bad disk manifest header');
  const map = newDiskBlockMap(diskSize, blockSize);
  let at = HEADER_BYTES;
  let expected = 0;
  for (let i = 0; i < extents; i += 1) {
    if (at + EXTENT_HEADER_BYTES > buf.length) throw new Error('disk manifest truncated');
    const kind = buf.readUInt8(at);
    const offset = Number(buf.readBigUInt64LE(at + 1));
    const length = Number(buf.readBigUInt64LE(at + 9));
    at += EXTENT_HEADER_BYTES;
    if (offset !== expected || length <= 0 || offset % blockSize !== 0 || offset + length > diskSize) {
      throw new Error(`disk manifest extent ${i} is out of order or misaligned`);
    }
    if (kind !== EXTENT_KIND.DATA && kind !== EXTENT_KIND.ZERO && kind !== EXTENT_KIND.UNWRITTEN) {
      throw new Error(`unknown extent kind ${kind}`);
    }
    const first = offset / blockSize;
    const count = Math.ceil(length / blockSize);
    map.kinds.fill(kind, first, first + count);
    if (kind === EXTENT_KIND.DATA) {
      const bytes = count * BLOCK_ID_BYTES;
      if (at + bytes > buf.length) throw new Error('disk manifest truncated');
      buf.copy(map.ids, first * BLOCK_ID_BYTES, at, at + bytes);
      at += bytes;
    }
    expected = offset + length;
  }
  if (expected !== diskSize || at !== buf.length)
    throw new Error('disk manifest does not cover the disk exactly');
  return map;
}
