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

export function encodeBlock(plain: Buffer, mode: CompressionMode): EncodedBlock {
  if (mode === 'off' || plain.length === 0) return { codec: CODEC_ID.NONE, payload: plain };
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
