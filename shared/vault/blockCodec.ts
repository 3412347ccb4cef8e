// Block compression, chosen by measurement on 64 KiB blocks of the benchmark data shape
// (docs/format.md, "Compression"). New vaults write LZ4 (lz4-wasm-nodejs, wasm, no build step): it
// decodes ~3× faster than Brotli, which was ~25% of a restore's CPU, and stores ~1/3 more for text.
// Vaults created before it write Brotli quality 1 (node:zlib; config "brotli", mode 'auto'). Readers
// decode every codec id whatever the config says. gzip was rejected: it crawls on incompressible data.
import { brotliCompressSync, brotliDecompressSync, constants as zlibConstants } from 'node:zlib';
import { compress as lz4Compress, decompress as lz4Decompress } from 'lz4-wasm-nodejs';
import { CODEC_ID, type CodecId } from './formatIds';

/** Store raw unless compression saves at least this share (3%): decoding is not free. */
export const MIN_COMPRESSION_SAVING = 0.03;
export const BROTLI_QUALITY = 1;

export interface EncodedBlock {
  codec: CodecId;
  payload: Buffer;
}

/** How a vault writes blocks: 'lz4', 'auto' (Brotli: the name predates lz4) or 'off'. */
export type CompressionMode = 'auto' | 'lz4' | 'off';

/** A vault config's `codec` (docs/format.md, "config") for a compression mode, and back. */
export function codecOfCompression(mode: CompressionMode): 'brotli' | 'lz4' | 'none' {
  return mode === 'off' ? 'none' : mode === 'lz4' ? 'lz4' : 'brotli';
}

export function compressionOfCodec(codec: 'brotli' | 'lz4' | 'none'): CompressionMode {
  return codec === 'none' ? 'off' : codec === 'lz4' ? 'lz4' : 'auto';
}

/** Bytes of the LZ4 payload's decoded-length prefix (u32 LE). */
const LZ4_LENGTH_PREFIX_BYTES = 4;

/** Blocks at least this long are probed before Brotli is tried (shorter ones: just try). */
export const PROBE_MIN_BYTES = 16 * 1024;
/** Sampled bytes per probe slice; four slices spread over the block. */
const PROBE_SLICE_BYTES = 1024;
/**
 * Estimated bits per byte at or above which a block is stored raw without trying Brotli. AES
 * output sampled over 4 KiB estimates ~7.95; text and most structured data stay below ~6.5.
 */
export const INCOMPRESSIBLE_ENTROPY_BITS = 7.9;

/**
 * A cheap compressibility probe: the byte entropy of four 1 KiB slices. Trying Brotli on random
 * blocks and discarding the result cost 0.8 s per 2 GiB (bench/README.md); this costs ~5 µs a block.
 * A block it wrongly calls incompressible is only stored raw (codec 0), which the format allows.
 */
export function looksIncompressible(plain: Buffer): boolean {
  if (plain.length < PROBE_MIN_BYTES) return false;
  const counts = new Uint32Array(256);
  const step = Math.floor(plain.length / 4);
  for (let s = 0; s < 4; s += 1) {
    const end = s * step + PROBE_SLICE_BYTES;
    for (let i = s * step; i < end; i += 1) counts[plain[i]!]! += 1;
  }
  const n = 4 * PROBE_SLICE_BYTES;
  let bits = 0;
  for (let b = 0; b < 256; b += 1) {
    const c = counts[b]!;
    if (c > 0) bits -= (c / n) * Math.log2(c / n);
  }
  return bits >= INCOMPRESSIBLE_ENTROPY_BITS;
}

export function encodeBlock(plain: Buffer, mode: CompressionMode): EncodedBlock {
  if (mode === 'off' || plain.length === 0) return { codec: CODEC_ID.NONE, payload: plain };
  if (looksIncompressible(plain)) return { codec: CODEC_ID.NONE, payload: plain };
  const codec = mode === 'lz4' ? CODEC_ID.LZ4 : CODEC_ID.BROTLI;
  const packed =
    codec === CODEC_ID.LZ4
      ? asBuffer(lz4Compress(plain))
      : brotliCompressSync(plain, {
          params: {
            [zlibConstants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
            [zlibConstants.BROTLI_PARAM_SIZE_HINT]: plain.length,
          },
        });
  if (packed.length > plain.length * (1 - MIN_COMPRESSION_SAVING))
    return { codec: CODEC_ID.NONE, payload: plain };
  return { codec, payload: packed };
}

function asBuffer(a: Uint8Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * Decodes an LZ4 payload, refusing before any allocation one whose length prefix is not `expect`
 * (when given) or exceeds `maxBytes`: lz4_flex allocates what the prefix says.
 */
function decodeLz4(payload: Buffer, maxBytes: number, expect?: number): Buffer {
  if (payload.length < LZ4_LENGTH_PREFIX_BYTES) throw new Error('lz4 payload shorter than its length prefix');
  const stated = payload.readUInt32LE(0);
  if (expect !== undefined && stated !== expect)
    throw new Error(`lz4 payload says ${stated} bytes, record says ${expect}`);
  if (stated > maxBytes) throw new Error(`lz4 payload says ${stated} bytes, more than ${maxBytes}`);
  try {
    return asBuffer(lz4Decompress(payload));
  } catch (err) {
    // wasm-bindgen throws the Rust error as a string, not an Error.
    throw new Error(`lz4: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/**
 * Decodes to exactly `plainLength` bytes, or throws. The output is capped at `plainLength`, so a
 * hostile record cannot make us allocate more than the block it claims to be.
 */
export function decodeBlock(codec: number, payload: Buffer, plainLength: number): Buffer {
  let plain: Buffer;
  if (codec === CODEC_ID.NONE) plain = payload;
  else if (codec === CODEC_ID.BROTLI)
    plain = brotliDecompressSync(payload, { maxOutputLength: Math.max(plainLength, 1) });
  else if (codec === CODEC_ID.LZ4) plain = decodeLz4(payload, plainLength, plainLength);
  else throw new Error(`unknown codec id ${codec}`);
  if (plain.length !== plainLength)
    throw new Error(`decoded ${plain.length} bytes, record says ${plainLength}`);
  return plain;
}

/** Decodes a payload whose length is not recorded (sealed blobs), refusing output above `maxBytes`. */
export function decodeUnsized(codec: number, payload: Buffer, maxBytes: number): Buffer {
  if (codec === CODEC_ID.NONE) return payload;
  if (codec === CODEC_ID.BROTLI) return brotliDecompressSync(payload, { maxOutputLength: maxBytes });
  if (codec === CODEC_ID.LZ4) return decodeLz4(payload, maxBytes);
  throw new Error(`unknown codec id ${codec}`);
}
