// Block compression. Format 1 writes Brotli quality 1 (node:zlib), chosen by measurement on 64 KiB
// blocks of the benchmark data shape (docs/format.md, "Compression"): 2.5x on text at ~220 MB/s,
// and ~1.8 GB/s on incompressible input, so trying and skipping is cheap. gzip was rejected because
// it crawls on incompressible data (60 MB/s); lz4 is faster but saves 27% less on text.
import { brotliCompressSync, brotliDecompressSync, constants as zlibConstants } from 'node:zlib';
import { CODEC_ID, type CodecId } from './formatIds';

/** Store raw unless compression saves at least this share (3%): decoding is not free. */
export const MIN_COMPRESSION_SAVING = 0.03;
export const BROTLI_QUALITY = 1;

export interface EncodedBlock {
  codec: CodecId;
  payload: Buffer;
}

export type CompressionMode = 'auto' | 'off';

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
  const packed = brotliCompressSync(plain, {
    params: {
      [zlibConstants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
      [zlibConstants.BROTLI_PARAM_SIZE_HINT]: plain.length,
    },
  });
  if (packed.length > plain.length * (1 - MIN_COMPRESSION_SAVING))
    return { codec: CODEC_ID.NONE, payload: plain };
  return { codec: CODEC_ID.BROTLI, payload: packed };
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
  else throw new Error(`unknown codec id ${codec}`);
  if (plain.length !== plainLength)
    throw new Error(`decoded ${plain.length} bytes, record says ${plainLength}`);
  return plain;
}

/** Decodes a payload whose length is not recorded (sealed blobs), refusing output above `maxBytes`. */
export function decodeUnsized(codec: number, payload: Buffer, maxBytes: number): Buffer {
  if (codec === CODEC_ID.NONE) return payload;
  if (codec === CODEC_ID.BROTLI) return brotliDecompressSync(payload, { maxOutputLength: maxBytes });
  throw new Error(`unknown codec id ${codec}`);
}
