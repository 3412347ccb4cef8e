// Pure helpers for byte ranges as the ports exchange them: { offset, length }, half-open
// [offset, offset + length). Structurally the same as the vault's ByteRange
// (shared/vault/backupSource.ts), so answers pass to the vault unchanged.

export interface ByteRange {
  offset: number;
  length: number;
}

/** Sorts, drops empty ranges, and merges overlapping or touching ones. Does not mutate its input. */
export function mergeRanges(ranges: Iterable<ByteRange>): ByteRange[] {
  const sorted = [...ranges].filter((r) => r.length > 0).sort((a, b) => a.offset - b.offset);
  const out: ByteRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.offset <= last.offset + last.length) {
      last.length = Math.max(last.length, r.offset + r.length - last.offset);
    } else {
      out.push({ offset: r.offset, length: r.length });
    }
  }
  return out;
}

/** Cuts every range to [0, size). */
export function clipRanges(ranges: readonly ByteRange[], size: number): ByteRange[] {
  const out: ByteRange[] = [];
  for (const r of ranges) {
    const start = Math.max(0, r.offset);
    const end = Math.min(size, r.offset + r.length);
    if (end > start) out.push({ offset: start, length: end - start });
  }
  return out;
}

/** Total bytes covered (ranges assumed merged). */
export function rangesBytes(ranges: readonly ByteRange[]): number {
  return ranges.reduce((n, r) => n + r.length, 0);
}

/** True if `offset`/`length` is a non-negative integer range inside [0, size]. */
export function isRangeInside(offset: number, length: number, size: number): boolean {
  return (
    Number.isSafeInteger(offset) &&
    Number.isSafeInteger(length) &&
    offset >= 0 &&
    length >= 0 &&
    offset + length <= size
  );
}
