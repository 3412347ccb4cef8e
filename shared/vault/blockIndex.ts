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

const INITIAL_CAPACITY = 1024;
const VALUES_PER_ENTRY = 3;

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

  has(id: Buffer): boolean {
    return this.find(id) >= 0;
  }

  get(id: Buffer): IndexEntry | undefined {
    const n = this.find(id);
    if (n < 0) return undefined;
    const v = n * VALUES_PER_ENTRY;
    return {
      packId: this.packIds[this.values[v]!]!,
      offset: this.values[v + 1]!,
      length: this.values[v + 2]!,
    };
  }

  /** Adds an entry; returns false (and keeps the first) if the id is already present. */
  add(id: Buffer, entry: IndexEntry): boolean {
    if (id.length !== BLOCK_ID_BYTES) throw new Error(`block id must be ${BLOCK_ID_BYTES} bytes`);
    if (this.find(id) >= 0) return false;
    if (this.count * BLOCK_ID_BYTES === this.ids.length) this.grow();
    const n = this.count;
    id.copy(this.ids, n * BLOCK_ID_BYTES);
    const v = n * VALUES_PER_ENTRY;
    this.values[v] = this.packNumberOf(entry.packId);
    this.values[v + 1] = entry.offset;
    this.values[v + 2] = entry.length;
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
  forEach(visit: (id: Buffer, entry: IndexEntry) => void): void {
    for (let n = 0; n < this.count; n += 1) {
      const v = n * VALUES_PER_ENTRY;
      visit(this.ids.subarray(n * BLOCK_ID_BYTES, (n + 1) * BLOCK_ID_BYTES), {
        packId: this.packIds[this.values[v]!]!,
        offset: this.values[v + 1]!,
        length: this.values[v + 2]!,
      });
    }
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
