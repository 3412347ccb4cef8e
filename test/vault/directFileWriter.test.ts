// DirectFileWriter: what lands in the file is exactly what was written, whichever handle carried it
// (O_DIRECT for aligned writes where the filesystem allows, the ordinary handle for the rest, and a
// fallback when a direct write is refused).
import { createHash, randomBytes } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import { DIRECT_IO_ALIGN, DirectFileWriter } from '../../shared/vault/directFileWriter';
import { pageAlignedSharedBuffer } from '../../shared/vault/pageAlignedBuffer';
import { tempDir } from './vaultTestUtils';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Fills a page-aligned buffer with `bytes` and returns its view. */
function aligned(bytes: Buffer): Uint8Array {
  const buf = pageAlignedSharedBuffer(bytes.length);
  buf.set(bytes);
  return buf;
}

async function withFile(
  size: number,
  opts: { buffered?: boolean },
  body: (w: DirectFileWriter) => Promise<void>,
): Promise<Buffer> {
  const file = path.join(tempDir('direct'), 'disk.img');
  const handle = await open(file, 'wx', 0o600);
  try {
    await handle.truncate(size);
    const w = await DirectFileWriter.over(handle, file, opts);
    try {
      await body(w);
      await w.sync();
    } finally {
      await w.close();
    }
  } finally {
    await handle.close();
  }
  return readFile(file);
}

describe('pageAlignedSharedBuffer', () => {
  test('is shared, zero-filled and exactly the size asked for', () => {
    const b = pageAlignedSharedBuffer(100_000);
    expect(b.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(b.byteLength).toBe(100_000);
    expect(b.every((x) => x === 0)).toBe(true);
  });

  test('refuses a size that is not a positive integer', () => {
    expect(() => pageAlignedSharedBuffer(0)).toThrow(RangeError);
    expect(() => pageAlignedSharedBuffer(1.5)).toThrow(RangeError);
  });
});

describe('DirectFileWriter', () => {
  const BLOCK = 64 * 1024;
  // Three whole blocks, a hole, then a partial last block: the shape of a restored disk.
  const size = 5 * BLOCK + 1234;
  const parts = [
    { at: 0, data: randomBytes(2 * BLOCK) },
    { at: 2 * BLOCK, data: randomBytes(BLOCK) },
    { at: 4 * BLOCK, data: randomBytes(BLOCK + 1234) },
  ];
  const expected = Buffer.alloc(size);
  for (const p of parts) p.data.copy(expected, p.at);

  test('aligned runs go direct where the filesystem allows it; the file holds exactly the bytes written', async () => {
    let direct = false;
    let counts = { bytesDirect: 0, bytesBuffered: 0 };
    const got = await withFile(size, {}, async (w) => {
      direct = w.isDirect;
      // Concurrent, out of order, like writeBlocks.
      await Promise.all([...parts].reverse().map((p) => w.write(p.at, aligned(p.data))));
      counts = { bytesDirect: w.bytesDirect, bytesBuffered: w.bytesBuffered };
    });
    expect(sha(got)).toBe(sha(expected));
    expect(counts.bytesDirect + counts.bytesBuffered).toBe(2 * BLOCK + BLOCK + BLOCK + 1234);
    // The last part's length is not a multiple of the alignment: it is always written buffered.
    if (direct) expect(counts).toEqual({ bytesDirect: 3 * BLOCK, bytesBuffered: BLOCK + 1234 });
    else expect(counts.bytesDirect).toBe(0);
  });

  test('with buffered: true nothing goes direct and the bytes are the same', async () => {
    const got = await withFile(size, { buffered: true }, async (w) => {
      expect(w.isDirect).toBe(false);
      for (const p of parts) await w.write(p.at, aligned(p.data));
      expect(w.bytesDirect).toBe(0);
    });
    expect(sha(got)).toBe(sha(expected));
  });

  test('unaligned offsets within an aligned buffer are written buffered', async () => {
    const src = aligned(randomBytes(3 * DIRECT_IO_ALIGN));
    const got = await withFile(4 * DIRECT_IO_ALIGN, {}, async (w) => {
      // byteOffset 512 and a position off the alignment: neither may be sent to O_DIRECT.
      await w.write(DIRECT_IO_ALIGN, src.subarray(512, 512 + DIRECT_IO_ALIGN));
      await w.write(2 * DIRECT_IO_ALIGN + 100, src.subarray(0, DIRECT_IO_ALIGN));
      expect(w.bytesDirect).toBe(0);
    });
    const want = Buffer.alloc(4 * DIRECT_IO_ALIGN);
    Buffer.from(src.subarray(512, 512 + DIRECT_IO_ALIGN)).copy(want, DIRECT_IO_ALIGN);
    Buffer.from(src.subarray(0, DIRECT_IO_ALIGN)).copy(want, 2 * DIRECT_IO_ALIGN + 100);
    expect(sha(got)).toBe(sha(want));
  });

  test('a buffer the kernel refuses for O_DIRECT is written buffered, and the rest follow', async () => {
    // A plain 1 MiB SharedArrayBuffer comes from malloc (glibc serves it with mmap, 16 bytes past a
    // page): its views look aligned (byteOffset 0) but the kernel answers EINVAL. The writer then
    // writes it buffered and stops trying direct writes; the bytes land either way.
    const data = randomBytes(1024 * 1024);
    const plain = new Uint8Array(new SharedArrayBuffer(data.length));
    plain.set(data);
    const more = randomBytes(BLOCK);
    const got = await withFile(data.length + BLOCK, {}, async (w) => {
      const direct = w.isDirect;
      await w.write(0, plain);
      await w.write(data.length, aligned(more));
      if (direct) {
        // Refused, written buffered, and the aligned write after it is buffered too.
        expect(w.isDirect).toBe(false);
        expect({ bytesDirect: w.bytesDirect, bytesBuffered: w.bytesBuffered }).toEqual({
          bytesDirect: 0,
          bytesBuffered: data.length + BLOCK,
        });
      } else {
        expect(w.bytesBuffered).toBe(data.length + BLOCK);
      }
    });
    expect(sha(got)).toBe(sha(Buffer.concat([data, more])));
  });
});
