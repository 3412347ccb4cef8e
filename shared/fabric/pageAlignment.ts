// Page-blob alignment, pure. Azure requires every Put Page range to start and end on a 512-byte page
// boundary and to span at most 4 MiB; the fabric accepts any byte range and widens it here.
import { PAGE_BYTES, UPLOAD_PAGES_MAX_BYTES } from './fabricLimits';

export function alignDown(n: number, unit = PAGE_BYTES): number {
  return Math.floor(n / unit) * unit;
}

export function alignUp(n: number, unit = PAGE_BYTES): number {
  return Math.ceil(n / unit) * unit;
}

export interface AlignedSpan {
  /** Page-aligned start and end (exclusive) covering the write. */
  start: number;
  end: number;
  /** True if the first or last page is only partly covered: those pages must be read first (read-modify-write). */
  headPartial: boolean;
  tailPartial: boolean;
}

export function alignSpan(offset: number, length: number): AlignedSpan {
  const start = alignDown(offset);
  const end = alignUp(offset + length);
  return { start, end, headPartial: offset !== start, tailPartial: offset + length !== end };
}

/** Cuts [offset, offset + length) into pieces of at most `max` bytes (Put Page's 4 MiB). */
export function splitRange(
  offset: number,
  length: number,
  max = UPLOAD_PAGES_MAX_BYTES,
): Array<{ offset: number; length: number }> {
  const out: Array<{ offset: number; length: number }> = [];
  for (let o = offset; o < offset + length; o += max)
    out.push({ offset: o, length: Math.min(max, offset + length - o) });
  return out;
}
