// The conformance suite against Azurite, plus what only the Azure adapter can get wrong: staged
// blocks and their ids, the uncommitted-block lifetime, etag forms, and SDK error translation.
import { ContainerClient, RestError } from '@azure/storage-blob';
import { startAzurite, type AzuriteInstance } from '../../host/src/azurite/azuriteProcess';
import { AzureBlobStore } from '../../shared/blob/azureBlobStore';
import {
  classifyAzureError,
  translateAzureError,
  type AzureCallContext,
} from '../../shared/blob/azureErrors';
import { UNCOMMITTED_BLOCK_LIFETIME_MS } from '../../shared/blob/azureLimits';
import { BLOB_ERROR_CODES as CODES } from '../../shared/blob/blobErrors';
import type { BlobStore } from '../../shared/blob/blobStore';
import { describeBlobStoreConformance } from './blobStoreConformance';
import { KIB, MIB, expectCode, expectSameBytes, seededBytes, text } from './blobTestUtils';

/** Small pages so the 250-key listing crosses five List Blobs pages (Azure's page is up to 5,000). */
const LIST_PAGE_SIZE = 50;

let azurite: AzuriteInstance | undefined;
let containers = 0;
const clients = new WeakMap<BlobStore, ContainerClient>();

beforeAll(async () => {
  azurite = await startAzurite();
}, 60_000);

afterAll(async () => {
  await azurite?.stop();
});

function newContainer(): ContainerClient {
  if (!azurite) throw new Error('Azurite did not start');
  containers += 1;
  return new ContainerClient(azurite.connectionString, `conformance-${containers}-${process.pid}`);
}

function newStore(opts: ConstructorParameters<typeof AzureBlobStore>[1] = {}): AzureBlobStore {
  const container = newContainer();
  const store = new AzureBlobStore(container, { listPageSize: LIST_PAGE_SIZE, ...opts });
  clients.set(store, container);
  return store;
}

describeBlobStoreConformance('azureBlobStore (Azurite)', () => Promise.resolve(newStore()), {
  dispose: async (store) => {
    await clients.get(store)?.deleteIfExists();
  },
});

describe('azureBlobStore specifics (Azurite)', () => {
  test('creates its container on first use', async () => {
    const store = newStore();
    const container = clients.get(store)!;
    expect(await container.exists()).toBe(false);
    await store.put('k', text('x'));
    expect(await container.exists()).toBe(true);
  });

  test('a writer stages one block per blockSizeBytes, with ids of one length, and commits them in order', async () => {
    const store = newStore();
    const data = seededBytes(12 * MIB + 1, 5);
    const writer = await store.openWriter('packs/ab/big', { blockSizeBytes: MIB });
    for (let at = 0; at < data.byteLength; at += 700 * KIB)
      await writer.write(data.subarray(at, at + 700 * KIB));
    await writer.commit();
    const list = await clients.get(store)!.getBlockBlobClient('packs/ab/big').getBlockList('committed');
    const blocks = list.committedBlocks ?? [];
    expect(blocks.map((b) => b.size)).toEqual([...Array<number>(12).fill(MIB), 1]);
    expect(new Set(blocks.map((b) => b.name.length)).size).toBe(1);
    expectSameBytes((await store.get('packs/ab/big')).data, data, 'seed 5');
  });

  test('a writer open longer than the uncommitted-block lifetime refuses to commit', async () => {
    let nowMs = 1_000_000;
    const store = newStore({ now: () => nowMs });
    const writer = await store.openWriter('old/k', { blockSizeBytes: KIB });
    await writer.write(seededBytes(3 * KIB, 1));
    nowMs += UNCOMMITTED_BLOCK_LIFETIME_MS;
    await expectCode(writer.commit(), CODES.LIMIT_EXCEEDED);
    await writer.abort();
    expect(await store.stat('old/k')).toBeUndefined();
  });

  test('an unreachable endpoint is TRANSIENT', async () => {
    const dead = new ContainerClient(
      'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;' +
        'AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;' +
        'BlobEndpoint=http://127.0.0.1:1/devstoreaccount1',
      'dead',
      { retryOptions: { maxTries: 1 } },
    );
    await expectCode(new AzureBlobStore(dead).get('k'), CODES.TRANSIENT);
  });
});

describe('classifyAzureError', () => {
  const put: AzureCallContext = { op: 'put', key: 'k' };
  const putIfNoneMatch: AzureCallContext = { ...put, condition: 'ifNoneMatch' };
  const putIfMatch: AzureCallContext = { ...put, condition: 'ifMatch' };
  const rest = (statusCode: number | undefined, code?: string) => new RestError('x', { statusCode, code });

  test.each([
    {
      name: '409 BlobAlreadyExists',
      err: rest(409, 'BlobAlreadyExists'),
      ctx: putIfNoneMatch,
      kind: 'alreadyExists',
    },
    {
      name: '412 ConditionNotMet, ifMatch',
      err: rest(412, 'ConditionNotMet'),
      ctx: putIfMatch,
      kind: 'preconditionFailed',
    },
    {
      name: '412 ConditionNotMet, ifNoneMatch',
      err: rest(412, 'ConditionNotMet'),
      ctx: putIfNoneMatch,
      kind: 'alreadyExists',
    },
    { name: '412 LeaseIdMissing', err: rest(412, 'LeaseIdMissing'), ctx: put, kind: 'failed' },
    { name: '404 BlobNotFound', err: rest(404, 'BlobNotFound'), ctx: put, kind: 'notFound' },
    { name: '404 with ifMatch', err: rest(404, 'BlobNotFound'), ctx: putIfMatch, kind: 'preconditionFailed' },
    {
      name: '404 from HEAD (code only in details)',
      err: Object.assign(rest(404), { details: { errorCode: 'BlobNotFound' } }),
      ctx: put,
      kind: 'notFound',
    },
    { name: '416 InvalidRange', err: rest(416, 'InvalidRange'), ctx: put, kind: 'invalidRange' },
    {
      name: '409 BlockCountExceedsLimit',
      err: rest(409, 'BlockCountExceedsLimit'),
      ctx: put,
      kind: 'limitExceeded',
    },
    { name: '500 OperationTimedOut', err: rest(500, 'OperationTimedOut'), ctx: put, kind: 'transient' },
    { name: '503 ServerBusy', err: rest(503, 'ServerBusy'), ctx: put, kind: 'transient' },
    { name: '502, 504, 408, 429', err: rest(504), ctx: put, kind: 'transient' },
    { name: 'ECONNRESET', err: rest(undefined, 'ECONNRESET'), ctx: put, kind: 'transient' },
    { name: 'REQUEST_SEND_ERROR', err: rest(undefined, 'REQUEST_SEND_ERROR'), ctx: put, kind: 'transient' },
    {
      name: 'AbortError (per-try timeout)',
      err: Object.assign(new Error('aborted'), { name: 'AbortError' }),
      ctx: put,
      kind: 'transient',
    },
    { name: 'truncated XML', err: rest(undefined, 'PARSE_ERROR'), ctx: put, kind: 'failed' },
    { name: '403 AuthorizationFailure', err: rest(403, 'AuthorizationFailure'), ctx: put, kind: 'failed' },
    { name: '400 InvalidHeaderValue', err: rest(400, 'InvalidHeaderValue'), ctx: put, kind: 'failed' },
    { name: '501 NotImplemented', err: rest(501, 'NotImplemented'), ctx: put, kind: 'failed' },
    { name: 'a plain string', err: 'boom', ctx: put, kind: 'failed' },
  ] as const)('$name → $kind', ({ err, ctx, kind }) => {
    expect(classifyAzureError(err, ctx)).toBe(kind);
  });

  test('translation keeps the SDK error as cause and passes BlobErrors through', () => {
    const sdk = rest(503, 'ServerBusy');
    const translated = translateAzureError(sdk, put);
    expect(translated.code).toBe(CODES.TRANSIENT);
    expect(translated.cause).toBe(sdk);
    expect(translateAzureError(translated, put)).toBe(translated);
  });
});
