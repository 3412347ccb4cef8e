// The block worker pool: the same jobs give the same bytes in worker threads and in the calling
// thread, a corrupt record is reported by position, and a restore through real workers is
// byte-exact. Jest runs the TypeScript sources, where no compiled blockWorker.js exists, so the
// worker path is tested against the vault sources compiled with swc into a temporary directory.
import { transformFileSync } from '@swc/core';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { MemBlobStore } from '../../shared/blob/memBlobStore';
import { backup } from '../../shared/vault/backup';
import { BlockSink, type SubmittedBatch } from '../../shared/vault/blockSink';
import type { BlockJobResult } from '../../shared/vault/blockJobs';
import { readBlocks } from '../../shared/vault/blockReader';
import { lazyBlockPool, openBlockPool, defaultWorkerScript } from '../../shared/vault/blockWorkerPool';
import { BLOCK_ID_BYTES } from '../../shared/vault/formatIds';
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
  const out = path.join(tempDir('worker-build'), 'vault');
  mkdirSync(out, { recursive: true });
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
});
