// The benchmark's data set (performance.md "Data set"): a seeded disk image of 256 KiB units,
// 50% AES-CTR keystream (incompressible), 30% synthetic log text, 20% zeros, grouped into shuffled
// extents of 256 KiB–8 MiB; and the seeded 1% change: random-content 64 KiB writes at random,
// non-overlapping, 4 KiB-aligned offsets. Written unit by unit, so the image is never whole in memory.
import { createCipheriv, createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { seededRandom } from '../../shared/blob/seededRandom';
import type { ByteRange } from '../../shared/vault';

export const UNIT_BYTES = 256 * 1024;
/** Extents are 1–32 units: 256 KiB–8 MiB. */
const MAX_EXTENT_UNITS = 32;
export const CHANGE_WRITE_BYTES = 64 * 1024;
export const CHANGE_ALIGN_BYTES = 4 * 1024;
/** 1% of the image; 328 writes for 2 GiB (performance.md). */
export const CHANGE_FRACTION = 0.01;

export type UnitKind = 'random' | 'text' | 'zero';

export interface ImageComposition {
  units: Record<UnitKind, number>;
  extents: number;
}

export interface ChangeSet {
  ranges: ByteRange[];
  bytes: number;
}

const WORDS = (
  'the of and to in is was for on that with as by at from this be are an or it which not have has had ' +
  'were been their more other all when will there can also its only new into some would about after may ' +
  'first time over most such two made like used years where these then than out any them state city ' +
  'request response timeout retry cache disk block volume snapshot backup restore vault index pack'
).split(' ');
const LEVELS = ['INFO', 'WARN', 'DEBUG', 'ERROR', 'TRACE'];

function pick<T>(rnd: () => number, items: readonly T[]): T {
  return items[Math.floor(rnd() * items.length)] as T;
}

/** One unit of log lines and prose; unique per call (timestamps, ids), ~3x compressible. */
export function textUnit(rnd: () => number, bytes: number): Buffer {
  const lines: string[] = [];
  let length = 0;
  let clock = 1.7e12 + Math.floor(rnd() * 1e10);
  while (length < bytes) {
    clock += Math.floor(rnd() * 2000);
    const words: string[] = [];
    const n = 3 + Math.floor(rnd() * 12);
    for (let i = 0; i < n; i += 1) words.push(pick(rnd, WORDS));
    const line =
      `${new Date(clock).toISOString()} ${pick(rnd, LEVELS)} [worker-${Math.floor(rnd() * 16)}] ` +
      `req=${Math.floor(rnd() * 1e8).toString(16)} ${words.join(' ')} dur=${Math.floor(rnd() * 5000)}ms\n`;
    lines.push(line);
    length += line.length;
  }
  return Buffer.from(lines.join('').slice(0, bytes), 'latin1');
}

function keystream(seed: number, label: string): (bytes: number) => Buffer {
  const key = createHash('sha256').update(`strongbox-bench/${label}/${seed}`).digest();
  const ctr = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return (bytes) => ctr.update(Buffer.alloc(bytes));
}

/** Extents of one kind each, in a seeded shuffle, with exact 50/30/20 unit counts. */
function planExtents(totalUnits: number, rnd: () => number): { kind: UnitKind; units: number }[] {
  const random = Math.round(totalUnits * 0.5);
  const text = Math.round(totalUnits * 0.3);
  const counts: [UnitKind, number][] = [
    ['random', random],
    ['text', text],
    ['zero', totalUnits - random - text],
  ];
  const extents: { kind: UnitKind; units: number }[] = [];
  for (const [kind, count] of counts) {
    let left = count;
    while (left > 0) {
      const units = Math.min(left, 1 + Math.floor(rnd() * MAX_EXTENT_UNITS));
      extents.push({ kind, units });
      left -= units;
    }
  }
  for (let i = extents.length - 1; i > 0; i -= 1) {
    const j = Math.floor(rnd() * (i + 1));
    [extents[i], extents[j]] = [extents[j]!, extents[i]!];
  }
  return extents;
}

export async function generateImage(
  filePath: string,
  imageBytes: number,
  seed: number,
): Promise<ImageComposition> {
  if (imageBytes % UNIT_BYTES !== 0) throw new Error(`image size must be a multiple of ${UNIT_BYTES}`);
  const rnd = seededRandom(seed);
  const random = keystream(seed, 'image');
  const zeros = Buffer.alloc(UNIT_BYTES);
  const extents = planExtents(imageBytes / UNIT_BYTES, rnd);
  const units: Record<UnitKind, number> = { random: 0, text: 0, zero: 0 };
  const handle = await open(filePath, 'w');
  try {
    let position = 0;
    for (const extent of extents) {
      for (let u = 0; u < extent.units; u += 1) {
        const data =
          extent.kind === 'random'
            ? random(UNIT_BYTES)
            : extent.kind === 'text'
              ? textUnit(rnd, UNIT_BYTES)
              : zeros;
        // Zeros are written, not left as holes: every tool must read every byte, as on a real disk.
        await handle.write(data, 0, data.length, position);
        position += data.length;
        units[extent.kind] += 1;
      }
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  return { units, extents: extents.length };
}

/** Seeded, non-overlapping, 4 KiB-aligned 64 KiB ranges covering 1% of the image, sorted by offset. */
export function planChange(imageBytes: number, seed: number): ChangeSet {
  const count = Math.round((imageBytes * CHANGE_FRACTION) / CHANGE_WRITE_BYTES);
  const slots = Math.floor((imageBytes - CHANGE_WRITE_BYTES) / CHANGE_ALIGN_BYTES) + 1;
  const rnd = seededRandom(seed ^ 0x5eed);
  const offsets: number[] = [];
  while (offsets.length < count) {
    const offset = Math.floor(rnd() * slots) * CHANGE_ALIGN_BYTES;
    if (offsets.every((o) => offset + CHANGE_WRITE_BYTES <= o || o + CHANGE_WRITE_BYTES <= offset)) {
      offsets.push(offset);
    }
  }
  offsets.sort((a, b) => a - b);
  return {
    ranges: offsets.map((offset) => ({ offset, length: CHANGE_WRITE_BYTES })),
    bytes: count * CHANGE_WRITE_BYTES,
  };
}

/** Writes random content over every range of `change`, in place. */
export async function applyChange(filePath: string, change: ChangeSet, seed: number): Promise<void> {
  const random = keystream(seed, 'change');
  const handle = await open(filePath, 'r+');
  try {
    for (const r of change.ranges) await handle.write(random(r.length), 0, r.length, r.offset);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export async function sha256File(filePath: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(filePath, { highWaterMark: 4 * 1024 * 1024 })) {
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}
