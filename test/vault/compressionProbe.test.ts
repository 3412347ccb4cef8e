// The compressibility probe that lets sealing skip Brotli on random blocks: it must call AES-like
// output incompressible and leave text, zeros-with-noise and short blocks to Brotli.
import { CODEC_ID } from '../../shared/vault/formatIds';
import { encodeBlock, looksIncompressible, PROBE_MIN_BYTES } from '../../shared/vault/blockCodec';
import { BLOCK, randomBytesSeeded, textBytes } from './vaultTestUtils';

const SEED = Number(process.env.VAULT_TEST_SEED ?? 4242);

describe('compressibility probe', () => {
  test.each([1, 2, 3, 4, 5])('random 64 KiB blocks are incompressible (seed %i)', (s) => {
    const block = randomBytesSeeded(BLOCK, `${SEED}-${s}`);
    expect(looksIncompressible(block)).toBe(true);
    expect(encodeBlock(block, 'auto').codec).toBe(CODEC_ID.NONE);
    expect(encodeBlock(block, 'lz4').codec).toBe(CODEC_ID.NONE);
  });

  test('text, sparse data and short blocks still go to the codec', () => {
    const text = textBytes(BLOCK, SEED);
    expect(looksIncompressible(text)).toBe(false);
    expect(encodeBlock(text, 'auto').codec).toBe(CODEC_ID.BROTLI);
    expect(encodeBlock(text, 'lz4').codec).toBe(CODEC_ID.LZ4);
    const sparse = Buffer.alloc(BLOCK);
    randomBytesSeeded(BLOCK / 8, SEED).copy(sparse, BLOCK / 2);
    expect(looksIncompressible(sparse)).toBe(false);
    expect(looksIncompressible(randomBytesSeeded(PROBE_MIN_BYTES - 1, SEED))).toBe(false);
  });
});
