// The block worker pool: the same jobs give the same bytes in worker threads and in the calling
// thread, a corrupt record is reported by position, and a restore through real workers is
// byte-exact. Jest runs the TypeScript sources, where no compiled blockWorker.js exists, so the
// worker path is tested against the vault sources compiled with swc into a temporary directory.
import { transformFileSync } from '@swc/core';
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { MemBlobStore } from '../../shared/blob/memBlobStore';
import { backup } from '../../shared/vault/backup';
import { BlockSink, type SubmittedBatch } from '../../shared/vault/blockSink';
import type { BlockJobResult } from '../../shared/vault/blockJobs';
import { readBlocks, writeBlocks } from '../../shared/vault/blockReader';
import { sealOutputBytes } from '../../shared/vault/blockJobs';
import { blockIdAt, blockLengthAt, newDiskBlockMap } from '../../shared/vault/diskManifest';
import { chunksOf, scanDisk } from '../../shared/vault/diskScan';
import { ProgressMeter } from '../../shared/vault/progress';
import { lazyBlockPool, openBlockPool, defaultWorkerScript } from '../../shared/vault/blockWorkerPool';
import { BLOCK_ID_BYTES, EXTENT_KIND } from '../../shared/vault/formatIds';
import {
  BLOCK,
  MIB,
  mixedImage,
  newVault,
  randomBytesSeeded,
  tempDir,
  textBytes,
  withSeed,
  writeImage,
} from './vaultTestUtils';

const SEED = Number(process.env.VAULT_TEST_SEED ?? 4242);

/** Compiles shared/vault with swc to CommonJS in a temp dir; returns the worker script's path. */
function compiledWorkerScript(): string {
  const src = path.join(__dirname, '../../shared/vault');
  const root = tempDir('worker-build');
  const out = path.join(root, 'vault');
  mkdirSync(out, { recursive: true });
  // The vault's npm dependencies (lz4-wasm-nodejs) resolve from the temp dir through this link.
  symlinkSync(path.join(__dirname, '../../node_modules'), path.join(root, 'node_modules'), 'dir');
  for (const f of readdirSync(src).filter((n) => n.endsWith('.ts'))) {
    const { code } = transformFileSync(path.join(src, f), {
      jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
      module: { type: 'commonjs' },
    });
    writeFileSync(path.join(out, f.replace(/\.ts$/, '.js')), code);
  }
  return path.join(out, 'blockWorker.js');
}

describe('block worker pool', () => {
  let script: string;
  beforeAll(() => {
    script = compiledWorkerScript();
  });

  test('under jest there is no compiled worker, so the default runs in the calling thread', async () => {
    const { vault } = await newVault(new MemBlobStore());
    expect(defaultWorkerScript()).toBeUndefined();
    const runner = openBlockPool(vault);
    expect(runner.threads).toBe(0);
    await runner.close();
  });

  test('seal in workers, open in-thread (and the reverse) round-trips; a bad record is named', async () => {
    await withSeed(SEED, async () => {
      const { vault } = await newVault(new MemBlobStore());
      const blocks = [textBytes(BLOCK, SEED), randomBytesSeeded(BLOCK, SEED), textBytes(100, SEED + 1)];
      const ids = Buffer.concat(blocks.map((b) => vault.keys.blockIdOf(b)));
      const data = Buffer.concat(blocks);
      const spans = new Uint32Array([0, BLOCK, BLOCK, BLOCK, 2 * BLOCK, 100]);
      const workers = openBlockPool(vault, { workers: 2, workerScript: script });
      const local = openBlockPool(vault, { workers: 0 });
      try {
        expect(workers.threads).toBe(2);
        const sealed = (await workers.run({
          kind: 'seal',
          data,
          ids,
          spans,
          compression: 'auto',
        })) as BlockJobResult;
        expect(Array.from(sealed.lengths)[0]).toBeLessThan(BLOCK); // text compressed
        const recSpans = new Uint32Array(6);
        let at = 0;
        for (let k = 0; k < 3; k += 1) {
          recSpans[2 * k] = at;
          recSpans[2 * k + 1] = sealed.lengths[k]!;
          at += sealed.lengths[k]!;
        }
        for (const runner of [local, workers]) {
          const opened = (await runner.run({
            kind: 'open',
            data: sealed.data,
            ids,
            spans: recSpans,
          })) as BlockJobResult;
          expect(Buffer.from(opened.data).equals(data)).toBe(true);
        }
        // Flip a byte in the second record's ciphertext.
        const bad = Buffer.from(sealed.data);
        bad[recSpans[2]! + 20]! ^= 1;
        for (const runner of [local, workers]) {
          const res = await runner.run({ kind: 'open', data: bad, ids, spans: recSpans });
          expect('failedAt' in res && res.failedAt).toBe(1);
          expect('message' in res && res.message).toContain('authentication failed');
        }
      } finally {
        await workers.close();
        await local.close();
      }
      expect(ids.length).toBe(3 * BLOCK_ID_BYTES);
    });
  });

  test('readBlocks through worker threads delivers every block in order, byte-exact', async () => {
    await withSeed(SEED, async () => {
      const { vault } = await newVault(new MemBlobStore(), { packTargetBytes: MIB });
      const dir = tempDir('pool-restore');
      const image = mixedImage(24 * MIB, SEED);
      const first = await backup(vault, { kind: 'diskImage', path: await writeImage(dir, 'd.img', image) });
      expect(first.blocksNew).toBeGreaterThan(0);
      const wanted: Buffer[] = [];
      const plains: Buffer[] = [];
      for (let b = 0; b < image.length / BLOCK; b += 1) {
        const plain = image.subarray(b * BLOCK, (b + 1) * BLOCK);
        if (plain.every((x) => x === 0)) continue;
        wanted.push(vault.keys.blockIdOf(plain));
        plains.push(plain);
      }
      const runner = openBlockPool(vault, { workers: 2, workerScript: script });
      const seen: number[] = [];
      try {
        await readBlocks(
          vault,
          wanted,
          (i, plain) => {
            seen.push(i);
            if (!plain.equals(plains[i]!)) throw new Error(`block ${i} differs (seed ${SEED})`);
            return Promise.resolve();
          },
          { runner },
        );
      } finally {
        await runner.close();
      }
      expect(seen).toEqual(wanted.map((_, i) => i));
    });
  });

  test('a sink sealing on worker threads, several batches in flight, stores every block once', async () => {
    await withSeed(SEED, async () => {
      const { vault } = await newVault(new MemBlobStore(), { packTargetBytes: MIB });
      const image = mixedImage(12 * MIB, SEED);
      // The second half repeats the first: duplicates of blocks still being sealed are deduplicated.
      const blocks: Buffer[] = [];
      for (let b = 0; b < image.length / BLOCK; b += 1)
        blocks.push(image.subarray(b * BLOCK, (b + 1) * BLOCK));
      blocks.push(...blocks.slice(0, 40));
      const runner = lazyBlockPool(vault, { workers: 2, workerScript: script });
      const sink = new BlockSink(vault, { runner });
      const ids: (Buffer | null)[] = [];
      try {
        const inFlight: SubmittedBatch[] = [];
        for (let at = 0; at < blocks.length; at += 32) {
          const batch = sink.submit(blocks.slice(at, at + 32));
          ids.push(...batch.ids);
          inFlight.push(batch);
          if (inFlight.length > 3) await sink.commit(inFlight.shift()!);
        }
        expect(runner.threads).toBe(2);
        for (const batch of inFlight) await sink.commit(batch);
        await sink.finish();
      } finally {
        await runner.close();
      }
      const unique = new Set(ids.filter((id) => id !== null).map((id) => id.toString('hex')));
      expect(sink.stats.blocksNew).toBe(unique.size);
      expect(sink.stats.blocksNew + sink.stats.blocksDedup + sink.stats.blocksZero).toBe(blocks.length);
      const wanted = ids.map((id, i) => ({ id, i })).filter((x) => x.id !== null);
      await readBlocks(
        vault,
        wanted.map((x) => x.id!),
        (k, plain) => {
          if (!plain.equals(blocks[wanted[k]!.i]!))
            throw new Error(`block ${wanted[k]!.i} differs (seed ${SEED})`);
          return Promise.resolve();
        },
        { runner: openBlockPool(vault, { workers: 0 }) },
      );
    });
  });

  test('hash, seal into a lent buffer and open into one give the same bytes in workers and in-thread', async () => {
    await withSeed(SEED, async () => {
      const { vault } = await newVault(new MemBlobStore());
      const blocks = [
        textBytes(BLOCK, SEED),
        Buffer.alloc(BLOCK),
        randomBytesSeeded(BLOCK, SEED),
        textBytes(77, SEED),
      ];
      const spans = new Uint32Array([0, BLOCK, BLOCK, BLOCK, 2 * BLOCK, BLOCK, 3 * BLOCK, 77]);
      const workers = openBlockPool(vault, { workers: 2, workerScript: script });
      const local = openBlockPool(vault, { workers: 0 });
      try {
        for (const runner of [workers, local]) {
          // Shared input: neither copied nor transferred; a lent ArrayBuffer comes back.
          const shared = new Uint8Array(new SharedArrayBuffer(3 * BLOCK + 77));
          Buffer.concat(blocks).copy(shared);
          const lent = new Uint8Array(Buffer.concat(blocks));
          for (const data of [shared, lent]) {
            const hashed = (await runner.run({
              kind: 'hash',
              data,
              spans,
              transferInput: true,
            })) as BlockJobResult;
            expect(Array.from(hashed.lengths)).toEqual([32, 0, 32, 32]);
            expect(Buffer.from(hashed.input!).equals(Buffer.concat(blocks))).toBe(true);
            blocks.forEach((b, k) => {
              if (k === 1) return;
              expect(
                Buffer.from(hashed.data.subarray(32 * k, 32 * k + 32)).equals(vault.keys.blockIdOf(b)),
              ).toBe(true);
            });
          }
          const fresh = [0, 2, 3];
          const ids = Buffer.concat(fresh.map((k) => vault.keys.blockIdOf(blocks[k]!)));
          const freshSpans = new Uint32Array(fresh.flatMap((k) => [spans[2 * k]!, spans[2 * k + 1]!]));
          const out = new Uint8Array(new SharedArrayBuffer(sealOutputBytes(freshSpans)));
          const sealed = (await runner.run({
            kind: 'seal',
            data: shared,
            transferInput: true,
            ids,
            spans: freshSpans,
            compression: 'auto',
            out,
          })) as BlockJobResult;
          // Written into the lent (shared) buffer itself.
          expect(sealed.lengths[0]).toBeGreaterThan(0);
          expect(Buffer.from(out).equals(Buffer.from(sealed.data))).toBe(true);
          const recSpans = new Uint32Array(6);
          let at = 0;
          for (let k = 0; k < 3; k += 1) {
            recSpans[2 * k] = at;
            recSpans[2 * k + 1] = sealed.lengths[k]!;
            at += sealed.lengths[k]!;
          }
          const plainOut = new Uint8Array(new SharedArrayBuffer(2 * BLOCK + 77));
          const expect3 = new Uint32Array([BLOCK, BLOCK, 77]);
          const opened = (await runner.run({
            kind: 'open',
            data: new Uint8Array(sealed.data.subarray(0, at)),
            transferInput: true,
            ids,
            spans: recSpans,
            expect: expect3,
            out: plainOut,
          })) as BlockJobResult;
          expect(Buffer.from(opened.data).equals(Buffer.concat(fresh.map((k) => blocks[k]!)))).toBe(true);
          const wrong = await runner.run({
            kind: 'open',
            data: new Uint8Array(sealed.data.subarray(0, at)),
            ids,
            spans: recSpans,
            expect: new Uint32Array([BLOCK, BLOCK, 78]),
            out: plainOut,
          });
          expect('failedAt' in wrong && wrong.failedAt).toBe(2);
        }
      } finally {
        await workers.close();
        await local.close();
      }
    });
  });

  test('a disk scanned (hash + seal) and written back (writeBlocks) through worker threads is byte-exact', async () => {
    await withSeed(SEED, async () => {
      const { vault } = await newVault(new MemBlobStore(), { packTargetBytes: 2 * MIB });
      const image = mixedImage(20 * MIB + 12345, SEED, 64 * 1024);
      image.copy(image, 12 * MIB, 0, 4 * MIB); // duplicates across chunks in flight
      const bs = vault.config.blockSizeBytes;
      const map = newDiskBlockMap(image.length, bs);
      const runner = openBlockPool(vault, { workers: 2, workerScript: script });
      const sink = new BlockSink(vault, { runner });
      try {
        const bytesRead = await scanDisk({
          sink,
          blockSize: bs,
          diskSize: image.length,
          chunks: chunksOf(new Uint8Array(map.kinds.length).fill(1), bs),
          read: (_k, offset, length) => Promise.resolve(Buffer.from(image.subarray(offset, offset + length))),
          record: (b, id) => {
            map.kinds[b] = id ? EXTENT_KIND.DATA : EXTENT_KIND.ZERO;
            id?.copy(map.ids, b * BLOCK_ID_BYTES);
          },
          meter: new ProgressMeter(image.length, undefined),
          runner,
        });
        await sink.finish();
        expect(bytesRead).toBe(image.length);
        const data: number[] = [];
        for (let b = 0; b < map.kinds.length; b += 1) {
          const plain = image.subarray(b * bs, Math.min(image.length, (b + 1) * bs));
          if (map.kinds[b] === EXTENT_KIND.DATA) {
            data.push(b);
            expect(blockIdAt(map, b).equals(vault.keys.blockIdOf(plain))).toBe(true);
          } else expect(plain.every((x) => x === 0)).toBe(true);
        }
        const restored = Buffer.alloc(image.length);
        let written = 0;
        await writeBlocks(
          vault,
          data.map((b) => blockIdAt(map, b)),
          {
            positions: data.map((b) => b * bs),
            lengths: data.map((b) => blockLengthAt(map, b)),
            write: async (position, bytes) => {
              await new Promise((r) => setImmediate(r));
              bytes.copy(restored, position);
            },
            onWritten: (n) => (written += n),
          },
          { runner },
        );
        expect(written).toBe(data.reduce((n, b) => n + blockLengthAt(map, b), 0));
        expect(restored.equals(image)).toBe(true);
      } finally {
        await runner.close();
      }
    });
  });
});
