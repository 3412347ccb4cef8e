// BlobStore on Azure Blob Storage block blobs, through one ContainerClient. Conditional writes use
// the service's own If-None-Match / If-Match, so they are atomic across all clients; every SDK error
// is translated by azureErrors.ts before it leaves this file.
import { ContainerClient, type StoragePipelineOptions } from '@azure/storage-blob';
import { isValidKey, assertValidKey, assertValidPrefix } from './blobKey';
import { BlobLimitExceededError } from './blobErrors';
import type {
  BlobContent,
  BlobListEntry,
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
  assertRangeInside,
  assertValidRangeArgs,
  assertValidWrite,
  resolveWriterSizing,
} from './blobValidation';
import { BLOCK_BLOB_MAX_BLOCK_SIZE_BYTES, BLOCK_BLOB_MAX_PUT_BLOB_BYTES } from './azureLimits';
import { classifyAzureError, translateAzureError, type AzureCallContext } from './azureErrors';
import {
  conditionOf,
  normalizeEtag,
  readBodyExactly,
  readBodyInto,
  writeConditionsFor,
} from './azureRequests';
import { assertIntoFits } from './readRangeInto';
import { AzureBlockWriter } from './azureBlockWriter';

/** List Blobs returns at most 5,000 items per page (also its default). */
export const LIST_BLOBS_MAX_PAGE_SIZE = 5000;

export interface AzureBlobStoreOptions {
  /** Items per List Blobs page, 1 to 5,000. Tests use a small value to cross page boundaries. */
  listPageSize?: number;
  /** Milliseconds since the epoch; injectable to test the uncommitted-block lifetime check. */
  now?: () => number;
}

export class AzureBlobStore implements BlobStore {
  private ready: Promise<void> | undefined;
  private readonly listPageSize: number;
  private readonly now: () => number;

  constructor(
    private readonly container: ContainerClient,
    opts: AzureBlobStoreOptions = {},
  ) {
    this.listPageSize = opts.listPageSize ?? LIST_BLOBS_MAX_PAGE_SIZE;
    this.now = opts.now ?? Date.now;
  }

  static fromConnectionString(
    connectionString: string,
    containerName: string,
    opts: AzureBlobStoreOptions & { pipeline?: StoragePipelineOptions } = {},
  ): AzureBlobStore {
    return new AzureBlobStore(new ContainerClient(connectionString, containerName, opts.pipeline), opts);
  }

  /** Creates the container if needed. Called before every operation; the work happens once. */
  ensureReady(): Promise<void> {
    this.ready ??= this.container.createIfNotExists().then(
      () => undefined,
      (err: unknown) => {
        this.ready = undefined; // let the next call try again
        throw translateAzureError(err, { op: 'ensureReady' });
      },
    );
    return this.ready;
  }

  async put(key: string, data: Uint8Array, opts: PutOptions = {}): Promise<PutResult> {
    assertValidWrite(key, opts);
    // Azure Put Blob: a single-shot upload is at most 5,000 MiB; larger objects go through openWriter.
    if (data.byteLength > BLOCK_BLOB_MAX_PUT_BLOB_BYTES)
      throw new BlobLimitExceededError(`put of ${data.byteLength} bytes; use openWriter`, key);
    const ctx: AzureCallContext = { op: 'put', key, condition: conditionOf(opts) };
    return this.call(ctx, async () => {
      try {
        const res = await this.container.getBlockBlobClient(key).upload(data, data.byteLength, {
          conditions: writeConditionsFor(opts),
          metadata: opts.metadata && { ...opts.metadata },
        });
        return { etag: normalizeEtag(res.etag, ctx) };
      } catch (err) {
        // Azurite 3.35 answers Put Blob with If-None-Match:* by 409 when the key holds only
        // uncommitted blocks (an aborted writer's), though the blob does not exist. A caller that
        // reads ALREADY_EXISTS as "the pack is there" would then skip it, so when nothing committed
        // exists we commit through Put Block List, whose condition ignores uncommitted blocks.
        if (classifyAzureError(err, ctx) !== 'alreadyExists' || (await this.stat(key)) !== undefined)
          throw err;
        return this.putAsBlockList(key, data, opts);
      }
    });
  }

  async get(key: string): Promise<BlobContent> {
    assertValidKey(key);
    const ctx: AzureCallContext = { op: 'get', key };
    return this.call(ctx, async () => {
      // One GET gives bytes, etag and metadata of one version; the SDK resumes a dropped body with
      // If-Match on that etag, so a concurrent overwrite cannot mix versions.
      const res = await this.container.getBlockBlobClient(key).download(0);
      const data = await readBodyExactly(res.readableStreamBody, res.contentLength ?? 0, ctx);
      return { data, etag: normalizeEtag(res.etag, ctx), metadata: { ...res.metadata } };
    });
  }

  async getRange(key: string, offset: number, length: number): Promise<Uint8Array> {
    return this.readRange(key, offset, length, undefined);
  }

  /**
   * getRange straight into the caller's buffer: the response body's chunks are copied into it as
   * they arrive, so a restore's 8 MiB ranges allocate nothing per range (readRangeInto.ts).
   */
  async getRangeInto(key: string, offset: number, length: number, into: Uint8Array): Promise<Uint8Array> {
    assertIntoFits(key, offset, length, into);
    return this.readRange(key, offset, length, into);
  }

  private async readRange(
    key: string,
    offset: number,
    length: number,
    into: Uint8Array | undefined,
  ): Promise<Uint8Array> {
    assertValidKey(key);
    assertValidRangeArgs(key, offset, length);
    if (length === 0) {
      // The SDK reads count 0 as "to the end", so an empty range is answered from the size.
      const stat = await this.statOrThrow(key);
      assertRangeInside(key, offset, 0, stat.size);
      return into ? into.subarray(0, 0) : new Uint8Array(0);
    }
    const ctx: AzureCallContext = { op: 'getRange', key, range: { offset, length } };
    return this.call(ctx, async () => {
      const res = await this.container.getBlockBlobClient(key).download(offset, length);
      // Azure answers a range that starts inside the blob but runs past its end with the bytes that
      // exist (and Azurite even answers one starting at the end with 0 bytes): both are INVALID_RANGE.
      if (res.contentLength !== length) {
        res.readableStreamBody?.resume();
        throw translateAzureError({ statusCode: 416, code: 'InvalidRange' }, ctx);
      }
      return into
        ? readBodyInto(res.readableStreamBody, length, ctx, into)
        : readBodyExactly(res.readableStreamBody, length, ctx);
    });
  }

  async stat(key: string): Promise<BlobStat | undefined> {
    assertValidKey(key);
    const ctx: AzureCallContext = { op: 'stat', key };
    try {
      return await this.statOrThrow(key);
    } catch (err) {
      if (translateAzureError(err, ctx).code === 'BLOB.NOT_FOUND') return undefined;
      throw err;
    }
  }

  async delete(key: string, opts: DeleteOptions = {}): Promise<DeleteResult> {
    assertValidKey(key);
    const ctx: AzureCallContext = { op: 'delete', key, condition: conditionOf(opts) };
    try {
      await this.call(ctx, () =>
        this.container.getBlockBlobClient(key).delete({
          conditions: writeConditionsFor(opts),
          // Strongbox takes no snapshots, but one taken by hand must not make delete fail.
          deleteSnapshots: 'include',
        }),
      );
      return { deleted: true };
    } catch (err) {
      if (opts.ifMatch === undefined && translateAzureError(err, ctx).code === 'BLOB.NOT_FOUND')
        return { deleted: false };
      throw err;
    }
  }

  async *list(prefix: string): AsyncIterable<BlobListEntry> {
    assertValidPrefix(prefix);
    const ctx: AzureCallContext = { op: 'list', key: prefix };
    await this.ensureReady();
    const pages = this.container
      .listBlobsFlat(prefix ? { prefix } : {})
      .byPage({ maxPageSize: this.listPageSize });
    let page: Awaited<ReturnType<typeof pages.next>>;
    for (;;) {
      try {
        page = await pages.next();
      } catch (err) {
        throw translateAzureError(err, ctx);
      }
      if (page.done) return;
      // Azure lists in lexicographic (byte) order of names, which is our key order.
      for (const item of page.value.segment.blobItems) {
        if (!isValidKey(item.name)) continue;
        yield {
          key: item.name,
          size: item.properties.contentLength ?? 0,
          etag: normalizeEtag(item.properties.etag, ctx),
        };
      }
    }
  }

  async openWriter(key: string, opts: WriterOptions = {}): Promise<BlobWriter> {
    assertValidWrite(key, opts);
    const sizing = resolveWriterSizing(opts, key);
    await this.ensureReady();
    return new AzureBlockWriter(this.container.getBlockBlobClient(key), key, opts, sizing, this.now);
  }

  /** A one-block writer: the same block id format as every other writer of the key (Azure: one id length per blob). */
  private async putAsBlockList(key: string, data: Uint8Array, opts: PutOptions): Promise<PutResult> {
    const blockSizeBytes = Math.min(Math.max(1, data.byteLength), BLOCK_BLOB_MAX_BLOCK_SIZE_BYTES);
    const blob = this.container.getBlockBlobClient(key);
    const writer = new AzureBlockWriter(blob, key, opts, { blockSizeBytes, maxBlocksInFlight: 1 }, this.now);
    try {
      await writer.write(data);
      return await writer.commit();
    } finally {
      await writer.abort();
    }
  }

  private async statOrThrow(key: string): Promise<BlobStat> {
    const ctx: AzureCallContext = { op: 'stat', key };
    return this.call(ctx, async () => {
      const props = await this.container.getBlockBlobClient(key).getProperties();
      return {
        size: props.contentLength ?? 0,
        etag: normalizeEtag(props.etag, ctx),
        metadata: { ...props.metadata },
      };
    });
  }

  /** Makes sure the container exists, runs one SDK call and translates whatever it throws. */
  private async call<T>(ctx: AzureCallContext, fn: () => Promise<T>): Promise<T> {
    await this.ensureReady();
    try {
      return await fn();
    } catch (err) {
      throw translateAzureError(err, ctx);
    }
  }
}
