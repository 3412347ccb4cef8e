// `index/<indexId>` blobs: the block entries of packs already committed. Plaintext (sealed, kind
// INDEX, name = indexId):
//   "SBIX" | version u8 = 1 | 3 reserved zero bytes | pack count u32 | entry count u32
//   pack ids: pack count × 16 bytes
//   entries:  entry count × (block id 32 | pack number u32 | offset u32 | length u32)
// All integers little-endian. Pack numbers index the pack id list of the same blob.
import { BLOCK_ID_BYTES, INDEX_ENTRY_BYTES, MAGIC, PACK_ID_BYTES } from './formatIds';
import { fromHex } from './hex';

const INDEX_FILE_VERSION = 1;
const HEADER_BYTES = 16;

export interface IndexFileEntry {
  blockId: Buffer;
  packId: string;
  offset: number;
  length: number;
}

export function encodeIndexFile(entries: readonly IndexFileEntry[]): Buffer {
  const packNumbers = new Map<string, number>();
  for (const e of entries) if (!packNumbers.has(e.packId)) packNumbers.set(e.packId, packNumbers.size);
  const out = Buffer.alloc(
    HEADER_BYTES + packNumbers.size * PACK_ID_BYTES + entries.length * INDEX_ENTRY_BYTES,
  );
  out.write(MAGIC.INDEX, 0, 'ascii');
  out.writeUInt8(INDEX_FILE_VERSION, 4);
  out.writeUInt32LE(packNumbers.size, 8);
  out.writeUInt32LE(entries.length, 12);
  let at = HEADER_BYTES;
  for (const packId of packNumbers.keys()) {
    const bytes = fromHex(packId, PACK_ID_BYTES);
    if (!bytes) throw new Error(`bad pack id ${packId}`);
    at += bytes.copy(out, at);
  }
  for (const e of entries) {
    at += e.blockId.copy(out, at, 0, BLOCK_ID_BYTES);
    out.writeUInt32LE(packNumbers.get(e.packId)!, at);
    out.writeUInt32LE(e.offset, at + 4);
    out.writeUInt32LE(e.length, at + 8);
    at += 12;
  }
  return out;
}

/** Parses an index plaintext; throws on any inconsistency (the caller reports it as unreadable). */
export function decodeIndexFile(buf: Buffer, visit: (e: IndexFileEntry) => void): void {
  if (buf.length < HEADER_BYTES || buf.toString('ascii', 0, 4) !== MAGIC.INDEX)
    throw new Error('not an index');
  if (buf.readUInt8(4) !== INDEX_FILE_VERSION) throw new Error(`unknown index version ${buf.readUInt8(4)}`);
  const packs = buf.readUInt32LE(8);
  const entries = buf.readUInt32LE(12);
  if (buf.length !== HEADER_BYTES + packs * PACK_ID_BYTES + entries * INDEX_ENTRY_BYTES)
    throw new Error('bad index length');
  const packIds: string[] = [];
  let at = HEADER_BYTES;
  for (let i = 0; i < packs; i += 1, at += PACK_ID_BYTES)
    packIds.push(buf.toString('hex', at, at + PACK_ID_BYTES));
  for (let i = 0; i < entries; i += 1, at += INDEX_ENTRY_BYTES) {
    const packId = packIds[buf.readUInt32LE(at + BLOCK_ID_BYTES)];
    if (packId === undefined) throw new Error('entry names a pack number outside the list');
    visit({
      blockId: buf.subarray(at, at + BLOCK_ID_BYTES),
      packId,
      offset: buf.readUInt32LE(at + BLOCK_ID_BYTES + 4),
      length: buf.readUInt32LE(at + BLOCK_ID_BYTES + 8),
    });
  }
}
