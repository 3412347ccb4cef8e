// Vault data-plane benchmark: per-stage MB/s on 64 KiB blocks of the benchmark data shape (50%
// random, 30% text-like, 20% zeros; performance.md), the chosen codec's ratio, and end-to-end
// backup/restore MB/s to a local-directory store with peak RSS. MB = 10^6 bytes.
//   npx tsc -p tsconfig.json && node dist/bench/vaultCodec.bench.js [imageMiB]
// Prints a table, then one JSON line.
import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  brotliCompressSync,
  brotliDecompressSync,
  constants as zlibConstants,
  deflateRawSync,
} from 'node:zlib';
import { LocalDirBlobStore } from '../shared/blob/localDirBlobStore';
import { seededRandom } from '../shared/blob/seededRandom';
import { backup } from '../shared/vault/backup';
import { encodeBlock } from '../shared/vault/blockCodec';
import { openBlock, sealBlock } from '../shared/vault/blockRecord';
import { createVault } from '../shared/vault/createVault';
import { isAllZero } from '../shared/vault/hex';
import { localKeyFileProvider } from '../shared/vault/localKeyFileProvider';
import { restore } from '../shared/vault/restore';

const MIB = 1024 * 1024;
const BLOCK = 64 * 1024;
const UNIT = 256 * 1024;
const IMAGE_MIB = Number(process.argv[2] ?? 256);
const SAMPLE_MIB = 64;
const SEED = 2024;

const WORDS =
  'the of and to in is was for on that with as by at from this be are an or it which not have has had were been their more other all when will there can also its only new into some would about after may first time over most such two made like used years where these then than out any them state city'.split(
    ' ',
  );
const LEVELS = ['INFO', 'WARN', 'DEBUG', 'ERROR', 'TRACE'];

function textUnit(rnd: () => number, len: number): Buffer {
  let s = '';
  while (s.length < len) {
    const ts = new Date(1.7e12 + Math.floor(rnd() * 1e9)).toISOString();
    const words = Array.from(
      { length: 3 + Math.floor(rnd() * 12) },
      () => WORDS[Math.floor(rnd() * WORDS.length)],
    );
    s += `${ts} ${LEVELS[Math.floor(rnd() * 5)]} [worker-${Math.floor(rnd() * 16)}] req=${Math.floor(rnd() * 1e8).toString(16)} ${words.join(' ')} dur=${Math.floor(rnd() * 5000)}ms\n`;
  }
  return Buffer.from(s.slice(0, len), 'latin1');
}

/** Calls `emit` with consecutive 256 KiB units: 50% random, 30% text, 20% zeros. */
function generate(totalBytes: number, emit: (unit: Buffer) => void): void {
  const rnd = seededRandom(SEED);
  const ctr = createCipheriv(
    'aes-256-ctr',
    createHash('sha256').update(`bench-${SEED}`).digest(),
    Buffer.alloc(16),
  );
  const zeros = Buffer.alloc(UNIT);
  for (let at = 0; at < totalBytes; at += UNIT) {
    const r = rnd();
    emit(r < 0.5 ? ctr.update(zeros) : r < 0.8 ? textUnit(rnd, UNIT) : Buffer.alloc(UNIT));
  }
}

function mbps(bytes: number, ms: number): number {
  return Math.round(bytes / 1e6 / (ms / 1000));
}

function time(fn: () => void): number {
  const t = performance.now();
  fn();
  return performance.now() - t;
}

async function main(): Promise<void> {
  const work = mkdtempSync(path.join(os.tmpdir(), 'sb-vault-bench-'));
  try {
    // 1. The image, written to disk in units (never whole in memory).
    const imagePath = path.join(work, 'base.img');
    // Written unit by unit, so the image is never whole in memory (peak RSS is the backup's).
    const fd = openSync(imagePath, 'w');
    generate(IMAGE_MIB * MIB, (u) => writeSync(fd, u));
    closeSync(fd);
    const imageBytes = IMAGE_MIB * MIB;

    // 2. End to end first, so peak RSS is the backup's and not the stage sample's.
    const rssBefore = process.memoryUsage().rss;
    const store = new LocalDirBlobStore(path.join(work, 'store'));
    const vault = await createVault(store, localKeyFileProvider(path.join(work, 'kek.bin')));
    let t = performance.now();
    const result = await backup(vault, { kind: 'diskImage', path: imagePath });
    const backupMs = performance.now() - t;
    const peakRssAfterBackupMiB = Math.round(process.resourceUsage().maxRSS / 1024);
    t = performance.now();
    const incr = await backup(
      vault,
      { kind: 'diskImage', path: imagePath },
      { parentPointId: result.pointId },
    );
    const dedupMs = performance.now() - t;
    t = performance.now();
    await restore(vault, result.pointId, path.join(work, 'restored.img'));
    const restoreMs = performance.now() - t;

    // 3. Stages on a 64 MiB sample cut into 64 KiB blocks.
    const sample: Buffer[] = [];
    generate(SAMPLE_MIB * MIB, (u) => {
      for (let at = 0; at < u.length; at += BLOCK) sample.push(u.subarray(at, at + BLOCK));
    });
    const nonZero = sample.filter((b) => !isAllZero(b));
    const sampleBytes = sample.length * BLOCK;
    const nonZeroBytes = nonZero.length * BLOCK;
    const key = randomBytes(32);
    const stages: Record<string, number> = {};
    stages.zeroDetect = mbps(
      sampleBytes,
      time(() => sample.forEach((b) => isAllZero(b))),
    );
    stages.hmacSha256 = mbps(
      nonZeroBytes,
      time(() => nonZero.forEach((b) => createHmac('sha256', key).update(b).digest())),
    );
    let brotliOut = 0;
    stages.brotliQ1 = mbps(
      nonZeroBytes,
      time(() =>
        nonZero.forEach((b) => {
          brotliOut += brotliCompressSync(b, {
            params: {
              [zlibConstants.BROTLI_PARAM_QUALITY]: 1,
              [zlibConstants.BROTLI_PARAM_SIZE_HINT]: b.length,
            },
          }).length;
        }),
      ),
    );
    let gzipOut = 0;
    stages.gzip1 = mbps(
      nonZeroBytes,
      time(() => nonZero.forEach((b) => (gzipOut += deflateRawSync(b, { level: 1 }).length))),
    );
    let chosenOut = 0;
    const encoded = nonZero.map((b) => encodeBlock(b, 'auto'));
    stages.codecAuto = mbps(
      nonZeroBytes,
      time(() => nonZero.forEach((b) => (chosenOut += encodeBlock(b, 'auto').payload.length))),
    );
    const brotliEncoded = encoded.filter((e) => e.codec === 1);
    const brotliPlainBytes = brotliEncoded.length * BLOCK;
    stages.brotliDecompress = mbps(
      brotliPlainBytes,
      time(() => brotliEncoded.forEach((e) => brotliDecompressSync(e.payload))),
    );
    stages.aes256gcm = mbps(
      nonZeroBytes,
      time(() =>
        nonZero.forEach((b) => {
          const c = createCipheriv('aes-256-gcm', key, randomBytes(12));
          c.update(b);
          c.final();
          c.getAuthTag();
        }),
      ),
    );
    const records: { id: Buffer; record: Buffer }[] = [];
    stages.sealBlockAll = mbps(
      nonZeroBytes,
      time(() =>
        nonZero.forEach((b) => {
          const id = vault.keys.blockIdOf(b);
          records.push({ id, record: sealBlock(vault.keys, vault.vaultIdBytes, id, b, 'auto').record });
        }),
      ),
    );
    stages.openBlockAll = mbps(
      nonZeroBytes,
      time(() => records.forEach((r) => openBlock(vault.keys, vault.vaultIdBytes, r.id, r.record))),
    );

    const out = {
      bench: 'vaultCodec',
      node: process.version,
      imageMiB: IMAGE_MIB,
      seed: SEED,
      stagesMBps: stages,
      ratio: {
        brotliQ1NonZero: +(nonZeroBytes / brotliOut).toFixed(3),
        gzip1NonZero: +(nonZeroBytes / gzipOut).toFixed(3),
        chosenNonZero: +(nonZeroBytes / chosenOut).toFixed(3),
        chosenOnTextBlocks: +(
          brotliPlainBytes / brotliEncoded.reduce((n, e) => n + e.payload.length, 0)
        ).toFixed(3),
        storedOverImage: +(result.bytesNewStored / imageBytes).toFixed(3),
      },
      backup: {
        MBps: mbps(imageBytes, backupMs),
        seconds: +(backupMs / 1000).toFixed(2),
        blocksNew: result.blocksNew,
        blocksZero: result.blocksZero,
        blocksDedup: result.blocksDedup,
        packs: result.packsWritten,
        storedMB: +(result.bytesNewStored / 1e6).toFixed(1),
      },
      unchangedRerun: { MBps: mbps(imageBytes, dedupMs), blocksNew: incr.blocksNew },
      restore: { MBps: mbps(imageBytes, restoreMs) },
      rss: { beforeBackupMiB: Math.round(rssBefore / MIB), peakMiB: peakRssAfterBackupMiB },
      blocksInSample: sample.length,
    };
    console.table(stages);
    console.log(JSON.stringify(out));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
