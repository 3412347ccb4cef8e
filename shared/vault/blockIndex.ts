// The in-memory block index: block id → (pack, offset, length), in flat Buffers rather than a Map of
// objects. An open-addressing hash table (linear probing) keyed on the id's first 4 bytes, which are
// uniformly random (HMAC output). Memory: 44 bytes per entry (id 32 + pack number, offset, length as
// u32) plus 4-byte slots at a load factor of at most 1/2, so 52–60 bytes per block in steady state,
// measured in test/vault/blockIndex.test.ts. 32K blocks (a 2 GiB disk) ≈ 2 MB; 16M blocks (1 TB of
// unique 64 KiB blocks) ≈ 1 GB, which is the documented limit of this design (docs/format.md).
import { BLOCK_ID_BYTES } from './formatIds';

export interface IndexEntry {
  packId: string;
  offset: number;
  length: number;
}

/** An entry as the index returns it: `quarantined` when the only copy it knows is a broken one. */
export interface IndexLookup extends IndexEntry {
  quarantined?: true;
}

const INITIAL_CAPACITY = 1024;
const VALUES_PER_ENTRY = 3;
/**
 * Top bit of the stored pack number: the copy is quarantined (quarantine.ts). Free of memory cost:
 * pack numbers stay far below 2^31 (the index's own limit is ~16M blocks).
 */
const QUARANTINED_BIT = 0x8000_0000;
const PACK_NUMBER_MASK = 0x7fff_ffff;

export class BlockIndex {
  private ids: Buffer;
  private values: Uint32Array;
  private slots: Int32Array; // entry number + 1; 0 = empty
  private count = 0;
  private readonly packIds: string[] = [];
  private readonly packNumbers = new Map<string, number>();

  constructor(capacity = INITIAL_CAPACITY) {
    const cap = Math.max(16, capacity);
    this.ids = Buffer.alloc(cap * BLOCK_ID_BYTES);
    this.values = new Uint32Array(cap * VALUES_PER_ENTRY);
    this.slots = new Int32Array(slotCountFor(cap));
  }

  get size(): number {
    return this.count;
  }

  /** Bytes held by the table (for the memory measurement). */
  get bytesAllocated(): number {
    return this.ids.byteLength + this.values.byteLength + this.slots.byteLength;
  }

  /** Every pack the index names. */
  get packs(): readonly string[] {
    return this.packIds;
  }

  /**
   * Whether a usable (not quarantined) copy is indexed: the dedup check. A block whose only copy is
   * quarantined counts as absent, so the next backup that meets its plaintext stores it again.
   */
  has(id: Buffer): boolean {
    const n = this.find(id);
    return n >= 0 && (this.values[n * VALUES_PER_ENTRY]! & QUARANTINED_BIT) === 0;
  }

  /** The healthy copy if one is indexed, else the quarantined one (reads' last resort), else undefined. */
  get(id: Buffer): IndexLookup | undefined {
    const n = this.find(id);
    return n < 0 ? undefined : this.entryAt(n);
  }

  /**
   * Adds an entry. An id already present keeps its first entry (returns false), except that a
   * healthy copy replaces a quarantined one (returns true): whatever order index blobs are read in,
   * the healthy copy wins, and among several healthy (or several quarantined) copies the first does.
   */
  add(id: Buffer, entry: IndexEntry, quarantined = false): boolean {
    if (id.length !== BLOCK_ID_BYTES) throw new Error(`block id must be ${BLOCK_ID_BYTES} bytes`);
    const found = this.find(id);
    if (found >= 0) {
      const v = found * VALUES_PER_ENTRY;
      if (quarantined || (this.values[v]! & QUARANTINED_BIT) === 0) return false;
      this.setValues(found, entry, false);
      return true;
    }
    if (this.count * BLOCK_ID_BYTES === this.ids.length) this.grow();
    const n = this.count;
    id.copy(this.ids, n * BLOCK_ID_BYTES);
    this.setValues(n, entry, quarantined);
    this.count += 1;
    this.place(n);
    return true;
  }

  /** Replaces this index's contents with `other`'s (which must not be used afterwards). */
  replaceWith(other: BlockIndex): void {
    this.ids = other.ids;
    this.values = other.values;
    this.slots = other.slots;
    this.count = other.count;
    this.packIds.length = 0;
    this.packIds.push(...other.packIds);
    this.packNumbers.clear();
    for (const [k, v] of other.packNumbers) this.packNumbers.set(k, v);
  }

  /** Visits every entry; `id` is a view valid only during the call. */
  forEach(visit: (id: Buffer, entry: IndexLookup) => void): void {
    for (let n = 0; n < this.count; n += 1)
      visit(this.ids.subarray(n * BLOCK_ID_BYTES, (n + 1) * BLOCK_ID_BYTES), this.entryAt(n));
  }

  private entryAt(n: number): IndexLookup {
    const v = n * VALUES_PER_ENTRY;
    const packNumber = this.values[v]!;
    const entry: IndexLookup = {
      packId: this.packIds[packNumber & PACK_NUMBER_MASK]!,
      offset: this.values[v + 1]!,
      length: this.values[v + 2]!,
    };
    if (packNumber & QUARANTINED_BIT) entry.quarantined = true;
    return entry;
  }

  private setValues(n: number, entry: IndexEntry, quarantined: boolean): void {
    const v = n * VALUES_PER_ENTRY;
    // `>>> 0`: the flag is the sign bit of an int32 expression; stored as an unsigned u32.
    this.values[v] = (this.packNumberOf(entry.packId) | (quarantined ? QUARANTINED_BIT : 0)) >>> 0;
    this.values[v + 1] = entry.offset;
    this.values[v + 2] = entry.length;
  }

  private packNumberOf(packId: string): number {
    let n = this.packNumbers.get(packId);
    if (n === undefined) {
      n = this.packIds.length;
      this.packIds.push(packId);
      this.packNumbers.set(packId, n);
    }
    return n;
  }

  private find(id: Buffer): number {
    const mask = this.slots.length - 1;
    let slot = id.readUInt32LE(0) & mask;
    for (;;) {
      const s = this.slots[slot]!;
      if (s === 0) return -1;
      const n = s - 1;
      if (this.ids.compare(id, 0, BLOCK_ID_BYTES, n * BLOCK_ID_BYTES, (n + 1) * BLOCK_ID_BYTES) === 0)
        return n;
      slot = (slot + 1) & mask;
    }
  }

  private place(n: number): void {
    const mask = this.slots.length - 1;
    let slot = this.ids.readUInt32LE(n * BLOCK_ID_BYTES) & mask;
    while (this.slots[slot] !== 0) slot = (slot + 1) & mask;
    this.slots[slot] = n + 1;
  }

  private grow(): void {
    const cap = (this.ids.length / BLOCK_ID_BYTES) * 2;
    const ids = Buffer.alloc(cap * BLOCK_ID_BYTES);
    this.ids.copy(ids);
    this.ids = ids;
    const values = new Uint32Array(cap * VALUES_PER_ENTRY);
    values.set(this.values);
    this.values = values;
    this.slots = new Int32Array(slotCountFor(cap));
    for (let n = 0; n < this.count; n += 1) this.place(n);
  }
}

/** A power of two at least twice the capacity: load factor ≤ 1/2 keeps probes short. */
function slotCountFor(capacity: number): number {
  let slots = 1;
  while (slots < capacity * 2) slots *= 2;
  return slots;
}
