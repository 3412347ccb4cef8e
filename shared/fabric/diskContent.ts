// Seeded, pure plans of what the fabric writes: the initial content of a new disk (a mix of random,
// text-like and zero regions with unwritten gaps, like a real file system) and the scattered block
// writes of a running workload. The same seed gives the same bytes on every machine, so a test can
// rebuild its model of a disk from the seed alone.
import { createCipheriv, createHash } from 'node:crypto';
import { seededRandom } from '../blob/seededRandom';
import { PAGE_BYTES } from './fabricLimits';

export type ExtentKind = 'random' | 'text' | 'zero';

export interface DiskExtent {
  offset: number;
  length: number;
  kind: ExtentKind;
}

/** Extents are multiples of 4 KiB (a file system's usual cluster) and 4 KiB to 256 KiB long. */
export const CONTENT_GRAIN_BYTES = 4096;
const MAX_EXTENT_GRAINS = 64;

/** Share of the disk per kind, in the order drawn; the rest is left unwritten. */
const KIND_WEIGHTS: ReadonlyArray<[ExtentKind | 'gap', number]> = [
  ['random', 0.3],
  ['text', 0.25],
  ['zero', 0.1],
  ['gap', 0.35],
];

/** The written extents of a new disk, sorted, not overlapping; gaps between them stay unwritten. */
export function planDiskContent(sizeBytes: number, seed: number): DiskExtent[] {
  const rng = seededRandom(seed);
  const out: DiskExtent[] = [];
  let offset = 0;
  while (offset < sizeBytes) {
    const length = Math.min(
      sizeBytes - offset,
      (1 + Math.floor(rng() * MAX_EXTENT_GRAINS)) * CONTENT_GRAIN_BYTES,
    );
    let pick = rng();
    let kind: ExtentKind | 'gap' = 'gap';
    for (const [k, w] of KIND_WEIGHTS) {
      if (pick < w) {
        kind = k;
        break;
      }
      pick -= w;
    }
    if (kind !== 'gap') out.push({ offset, length, kind });
    offset += length;
  }
  return out;
}

/** Deterministic pseudo-random bytes: AES-128-CTR over zeros, keyed by the seed and a label (fast, unlike a JS PRNG per byte). */
export function seededBytes(seed: number, label: string, length: number): Buffer {
  const key = createHash('sha256').update(`strongbox-fabric:${seed}:${label}`).digest().subarray(0, 16);
  const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
  return Buffer.concat([cipher.update(Buffer.alloc(length)), cipher.final()]);
}

const WORDS = (
  'backup vault restore policy snapshot disk page block range journal azure storage table queue ' +
  'function durable orchestrator activity retention schedule recovery point incremental full ' +
  'the a of to and in is for on with as by at from this that'
).split(' ');

/** Text-like bytes (words, spaces, newlines): compressible, unlike random bytes. */
export function seededText(seed: number, label: string, length: number): Buffer {
  const rng = seededRandom(
    Number.parseInt(createHash('sha256').update(`${seed}:${label}`).digest('hex').slice(0, 8), 16),
  );
  const parts: string[] = [];
  let n = 0;
  while (n < length) {
    const w = WORDS[Math.floor(rng() * WORDS.length)] ?? 'x';
    const sep = rng() < 0.08 ? '\n' : ' ';
    parts.push(w, sep);
    n += w.length + 1;
  }
  return Buffer.from(parts.join('').slice(0, length), 'latin1');
}

/** The bytes of one planned extent. */
export function renderExtent(extent: DiskExtent, seed: number): Buffer {
  const label = `extent@${extent.offset}`;
  switch (extent.kind) {
    case 'random':
      return seededBytes(seed, label, extent.length);
    case 'text':
      return seededText(seed, label, extent.length);
    case 'zero':
      return Buffer.alloc(extent.length);
  }
}

/**
 * Distinct block-aligned offsets covering about `percent` % of the disk (at least one block when
 * percent > 0), sorted. Blocks are `blockBytes` long (a multiple of 512); the last, short block of a
 * disk whose size is not a multiple of blockBytes is never chosen.
 */
export function planScatteredWrites(
  sizeBytes: number,
  percent: number,
  blockBytes: number,
  seed: number,
): number[] {
  if (!(percent >= 0 && percent <= 100)) throw new RangeError(`percent must be 0..100, got ${percent}`);
  if (!Number.isSafeInteger(blockBytes) || blockBytes <= 0 || blockBytes % PAGE_BYTES !== 0) {
    throw new RangeError(`block size must be a positive multiple of ${PAGE_BYTES} bytes, got ${blockBytes}`);
  }
  const blocks = Math.floor(sizeBytes / blockBytes);
  if (percent === 0 || blocks === 0) return [];
  const count = Math.min(blocks, Math.max(1, Math.round((sizeBytes * percent) / 100 / blockBytes)));
  const rng = seededRandom(seed);
  let chosen: number[];
  if (count * 4 < blocks) {
    // Sparse: rejection sampling, memory in proportion to the count (a large disk has millions of blocks).
    const set = new Set<number>();
    while (set.size < count) set.add(Math.floor(rng() * blocks));
    chosen = [...set];
  } else {
    // Dense: partial Fisher-Yates over all block indexes.
    const idx = Array.from({ length: blocks }, (_, i) => i);
    for (let i = 0; i < count; i += 1) {
      const j = i + Math.floor(rng() * (blocks - i));
      const t = idx[i]!;
      idx[i] = idx[j]!;
      idx[j] = t;
    }
    chosen = idx.slice(0, count);
  }
  return chosen.sort((a, b) => a - b).map((b) => b * blockBytes);
}
