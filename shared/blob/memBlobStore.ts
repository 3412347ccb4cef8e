// BlobStore in process memory, for unit tests and as the reference the conformance suite is read
// against. Same semantics as the other adapters: conditions are checked and applied in one
// synchronous step (JavaScript runs it without interleaving), and bytes are copied in and out so
// callers can never alias stored data.
import { BlobNotFoundError } from './blobErrors';
import { assertValidKey, assertValidPrefix } from './blobKey';
import type {
  BlobContent,
  BlobListEntry,
  BlobMetadata,
  BlobStat,
  BlobStore,
  BlobWriter,
  DeleteOptions,
  DeleteResult,
  PutOptions,
  PutResult,
  WriterOptions,
} from './blobStore';
import {
  assertConditionsHold,
  assertRangeInside,
  assertValidRangeArgs,
  assertValidWrite,
  resolveWriterSizing,
} from './blobValidation';
import { promiseOf } from './promiseOf';
import { assertIntoFits } from './readRangeInto';
import { WriterLifecycle } from './writerLifecycle';

interface MemObject {
  readonly data: Uint8Array;
  readonly etag: string;
  readonly metadata: BlobMetadata;
}

export class MemBlobStore implements BlobStore {
  private readonly objects = new Map<string, MemObject>();
  private writes = 0;

  put(key: string, data: Uint8Array, opts: PutOptions = {}): Promise<PutResult> {
    return promiseOf(() => {
      assertValidWrite(key, opts);
      return this.publish(key, new Uint8Array(data), opts);
    });
  }

  get(key: string): Promise<BlobContent> {
    return promiseOf(() => {
      const obj = this.mustFind(key);
      return { data: new Uint8Array(obj.data), etag: obj.etag, metadata: { ...obj.metadata } };
    });
  }

  getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    return promiseOf(() => {
      assertValidRangeArgs(key, offset, length);
      const obj = this.mustFind(key);
      assertRangeInside(key, offset, length, obj.data.byteLength);
      return obj.data.slice(offset, offset + length);
    });
  }

  getRangeInto(key: string, offset: number, length: number, into: Uint8Array): Promise<Uint8Array> {
    return promiseOf(() => {
      assertIntoFits(key, offset, length, into);
      const obj = this.mustFind(key);
      assertRangeInside(key, offset, length, obj.data.byteLength);
      into.set(obj.data.subarray(offset, offset + length));
      return into.subarray(0, length);
    });
  }

  stat(key: string): Promise<BlobStat | undefined> {
    return promiseOf(() => {
      assertValidKey(key);
      const obj = this.objects.get(key);
      return obj && { size: obj.data.byteLength, etag: obj.etag, metadata: { ...obj.metadata } };
    });
  }

  delete(key: string, opts: DeleteOptions = {}): Promise<DeleteResult> {
    return promiseOf(() => {
      assertValidKey(key);
      assertConditionsHold(key, this.objects.get(key)?.etag, { ifMatch: opts.ifMatch });
      return { deleted: this.objects.delete(key) };
    });
  }

  async *list(prefix: string): AsyncIterable<BlobListEntry> {
    assertValidPrefix(prefix);
    // Let other calls run first, as any real store would: a listing is not a snapshot.
    await Promise.resolve();
    // Keys are ASCII, so UTF-16 order is byte order, which is Azure's listing order.
    const keys = [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
    for (const key of keys) {
      const obj = this.objects.get(key);
      if (obj) yield { key, size: obj.data.byteLength, etag: obj.etag };
    }
  }

  openWriter(key: string, opts: WriterOptions = {}): Promise<BlobWriter> {
    return promiseOf(() => {
      assertValidWrite(key, opts);
      resolveWriterSizing(opts, key);
      return new MemBlobWriter(key, (data) => this.publish(key, data, opts));
    });
  }

  private publish(key: string, data: Uint8Array, opts: PutOptions): PutResult {
    assertConditionsHold(key, this.objects.get(key)?.etag, opts);
    this.writes += 1;
    const etag = `"mem-${this.writes}"`;
    this.objects.set(key, { data, etag, metadata: { ...opts.metadata } });
    return { etag };
  }

  private mustFind(key: string): MemObject {
    assertValidKey(key);
    const obj = this.objects.get(key);
    if (!obj) throw new BlobNotFoundError(key);
    return obj;
  }
}

class MemBlobWriter implements BlobWriter {
  private readonly chunks: Uint8Array[] = [];
  private readonly lifecycle: WriterLifecycle;
  bytesWritten = 0;

  constructor(
    key: string,
    private readonly publish: (data: Uint8Array) => PutResult,
  ) {
    this.lifecycle = new WriterLifecycle(key);
  }

  write(chunk: Uint8Array): Promise<void> {
    return this.lifecycle.run('write', () => {
      // A copy: on a Node Buffer, slice() is a view, and callers may reuse their buffer.
      this.chunks.push(new Uint8Array(chunk));
      this.bytesWritten += chunk.byteLength;
      return Promise.resolve();
    });
  }

  commit(): Promise<PutResult> {
    return this.lifecycle.run('commit', () => {
      const data = new Uint8Array(this.bytesWritten);
      let at = 0;
      for (const chunk of this.chunks) {
        data.set(chunk, at);
        at += chunk.byteLength;
      }
      this.chunks.length = 0;
      return Promise.resolve(this.publish(data));
    });
  }

  abort(): Promise<void> {
    if (this.lifecycle.beginAbort()) this.chunks.length = 0;
    return Promise.resolve();
  }
}
