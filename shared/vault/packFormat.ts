// Pack layout: [record]… [sealed header] [trailer 12]. The header (sealed, kind PACK_HEADER, name =
// pack id) lists every record, so a pack can be read alone to rebuild the index:
//   header plaintext: entry count u32 | entries × (block id 32 | type u8 | offset u32 | length u32)
//   trailer:          "SBPK" | version u8 = 1 | 3 reserved zero bytes | sealed header length u32
import {
  BLOCK_ID_BYTES,
  MAGIC,
  PACK_HEADER_ENTRY_BYTES,
  PACK_TRAILER_BYTES,
  PACK_TRAILER_VERSION,
} from './formatIds';

export interface PackEntry {
  blockId: Buffer;
  type: number;
  offset: number;
  length: number;
}

export function encodePackHeader(entries: readonly PackEntry[]): Buffer {
  const out = Buffer.alloc(4 + entries.length * PACK_HEADER_ENTRY_BYTES);
  out.writeUInt32LE(entries.length, 0);
  let at = 4;
  for (const e of entries) {
    e.blockId.copy(out, at);
    out.writeUInt8(e.type, at + BLOCK_ID_BYTES);
    out.writeUInt32LE(e.offset, at + BLOCK_ID_BYTES + 1);
    out.writeUInt32LE(e.length, at + BLOCK_ID_BYTES + 5);
    at += PACK_HEADER_ENTRY_BYTES;
  }
  return out;
}

export function decodePackHeader(buf: Buffer): PackEntry[] {
  if (buf.length < 4) throw new Error('pack header too short');
  const count = buf.readUInt32LE(0);
  if (buf.length !== 4 + count * PACK_HEADER_ENTRY_BYTES) throw new Error('pack header length mismatch');
  const entries: PackEntry[] = [];
  for (let i = 0, at = 4; i < count; i += 1, at += PACK_HEADER_ENTRY_BYTES) {
    entries.push({
      blockId: Buffer.from(buf.subarray(at, at + BLOCK_ID_BYTES)),
      type: buf.readUInt8(at + BLOCK_ID_BYTES),
      offset: buf.readUInt32LE(at + BLOCK_ID_BYTES + 1),
      length: buf.readUInt32LE(at + BLOCK_ID_BYTES + 5),
    });
  }
  return entries;
}

export function encodePackTrailer(headerLength: number): Buffer {
  const out = Buffer.alloc(PACK_TRAILER_BYTES);
  out.write(MAGIC.PACK_TRAILER, 0, 'ascii');
  out.writeUInt8(PACK_TRAILER_VERSION, 4);
  out.writeUInt32LE(headerLength, 8);
  return out;
}

/** The sealed header's length, or throws if the trailer is not a format-1 trailer. */
export function decodePackTrailer(buf: Uint8Array): number {
  const b = Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length !== PACK_TRAILER_BYTES || b.toString('ascii', 0, 4) !== MAGIC.PACK_TRAILER)
    throw new Error('no pack trailer');
  if (b.readUInt8(4) !== PACK_TRAILER_VERSION)
    throw new Error(`unknown pack trailer version ${b.readUInt8(4)}`);
  return b.readUInt32LE(8);
}
