// Shared buffers whose memory starts on a page boundary, so they can be handed to O_DIRECT writes
// (directFileWriter.ts). Node gives no way to ask for an aligned Buffer or to learn a buffer's
// address: a plain SharedArrayBuffer or Buffer.alloc of 8 MiB comes from malloc and is 16 bytes
// past a page, and O_DIRECT refuses it with EINVAL. V8 reserves WebAssembly memory with the page
// allocator instead, so a shared WebAssembly.Memory is page aligned (64 KiB in practice). If that
// ever changes, direct writes fail with EINVAL and the writer falls back to buffered writes; nothing
// depends on the alignment for correctness.

/** The part of the WebAssembly global we use; the ES2022 lib the project compiles with lacks it. */
interface SharedWasmMemory {
  readonly buffer: SharedArrayBuffer;
}
declare const WebAssembly: {
  Memory: new (descriptor: { initial: number; maximum: number; shared: true }) => SharedWasmMemory;
};

/** WebAssembly's page size: memories are sized in these units. */
const WASM_PAGE_BYTES = 64 * 1024;

/** A zero-filled, page-aligned Uint8Array over a SharedArrayBuffer of at least `bytes` bytes. */
export function pageAlignedSharedBuffer(bytes: number): Uint8Array {
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new RangeError(`bad buffer size ${bytes}`);
  const pages = Math.ceil(bytes / WASM_PAGE_BYTES);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  return new Uint8Array(memory.buffer, 0, bytes);
}
