// The Azure Import/Export adapter (shared/offline/azureImportService.ts) with ARM replaced at its seam
// (ImportJobsApi) by an in-memory fake that behaves like the Jobs API (PUT replaces, PATCH merges, tags
// replaced as a whole), and the tracking table by a map with the table's 409-on-duplicate rule. No network.
import type {
  DriveStatus,
  JobResponse,
  Location,
  PutJobParameters,
  UpdateJobParameters,
} from '@azure/arm-storageimportexport';
import { hasErrorCode } from '../../shared/errors';
import {
  ARM_JOB_STATES,
  ARM_MAX_DRIVES_PER_JOB,
  TAGS,
  azureImportService,
  mapDrive,
  mapJobState,
  parseReturnAddress,
  translateArmError,
  type ImportJobsApi,
  type TrackingTable,
} from '../../shared/offline/azureImportService';
import { IMPORT_JOB_STATES, type ShippingDetails } from '../../shared/offline/importService';
import { OFFLINE_ERROR_CODES, OfflineError } from '../../shared/offline/offlineErrors';

const SUB = '11111111-2222-3333-4444-555555555555';
const RG = 'rg-strongbox';
const T0 = new Date('2026-03-01T10:00:00.000Z');
const DAY_MS = 24 * 60 * 60 * 1000;
const ADDRESS = 'Ada Admin; 1 Main St; Springfield; 12345; US; +1 555 0100; ada@example.com';
const SHIPPING: ShippingDetails = {
  carrier: 'FedEx',
  trackingNumber: '7712 3456 7890',
  returnAddress: ADDRESS,
};

const restError = (statusCode: number | undefined, code = 'SomeArmCode'): Error =>
  Object.assign(new Error(`ARM said ${statusCode ?? 'nothing'}`), { statusCode, code });

class FakeArm implements ImportJobsApi {
  readonly jobs = new Map<string, JobResponse>();
  readonly calls: Array<{ op: string; name: string; body?: unknown }> = [];
  /** Next error per operation (one shot). */
  readonly failNext = new Map<string, Error>();

  private fail(op: string): void {
    const err = this.failNext.get(op);
    if (err !== undefined) {
      this.failNext.delete(op);
      throw err;
    }
  }

  get(name: string): Promise<JobResponse> {
    this.calls.push({ op: 'get', name });
    this.fail('get');
    const j = this.jobs.get(name);
    return j ? Promise.resolve(structuredClone(j)) : Promise.reject(restError(404, 'ResourceNotFound'));
  }

  create(name: string, body: PutJobParameters): Promise<JobResponse> {
    this.calls.push({ op: 'create', name, body: structuredClone(body) });
    this.fail('create');
    const job: JobResponse = {
      ...structuredClone(body),
      properties: {
        ...structuredClone(body.properties),
        state: 'Creating',
        driveList: (body.properties?.driveList ?? []).map((d) => ({ ...d, state: 'Specified' })),
      },
      systemData: { createdAt: T0, lastModifiedAt: T0 },
    };
    Object.assign(job, { name });
    this.jobs.set(name, job);
    return Promise.resolve(structuredClone(job));
  }

  update(name: string, body: UpdateJobParameters): Promise<JobResponse> {
    this.calls.push({ op: 'update', name, body: structuredClone(body) });
    this.fail('update');
    const j = this.jobs.get(name);
    if (!j) return Promise.reject(restError(404, 'ResourceNotFound'));
    const { tags, cancelRequested, state, ...rest } = body;
    const p = { ...j.properties, ...rest };
    if (state !== undefined) p.state = state;
    if (cancelRequested !== undefined) p.cancelRequested = cancelRequested;
    const next: JobResponse = { ...j, properties: p, ...(tags ? { tags } : {}) };
    this.jobs.set(name, next);
    return Promise.resolve(structuredClone(next));
  }

  location(name: string): Promise<Location> {
    return Promise.resolve({
      name,
      recipientName: 'Microsoft Azure Import/Export Service',
      streetAddress1: '1 Datacenter Rd',
      city: 'Amsterdam',
      postalCode: '1000 AA',
      countryOrRegion: 'NL',
      phone: '+31 20 000 0000',
    });
  }

  /** What the Azure datacenter does on its own. */
  setState(name: string, state: string, drives?: DriveStatus[]): void {
    const j = this.jobs.get(name);
    if (!j?.properties) throw new Error(`no job ${name}`);
    j.properties.state = state;
    if (drives) j.properties.driveList = drives;
  }
}

class FakeTracking {
  readonly rows = new Map<string, Record<string, unknown>>();
  failCreate: Error | undefined;
  createTable(): Promise<void> {
    return Promise.resolve();
  }
  createEntity(e: { partitionKey: string; rowKey: string }): Promise<object> {
    if (this.failCreate !== undefined) return Promise.reject(this.failCreate);
    const key = `${e.partitionKey}/${e.rowKey}`;
    if (this.rows.has(key)) return Promise.reject(restError(409, 'EntityAlreadyExists'));
    this.rows.set(key, { ...e });
    return Promise.resolve({});
  }
  getEntity(pk: string, rk: string): Promise<Record<string, unknown>> {
    const row = this.rows.get(`${pk}/${rk}`);
    return row ? Promise.resolve({ ...row }) : Promise.reject(restError(404));
  }
}

function setup() {
  const arm = new FakeArm();
  const tracking = new FakeTracking();
  const service = azureImportService({
    jobs: arm,
    tracking: tracking as unknown as TrackingTable,
    subscriptionId: SUB,
    resourceGroup: RG,
    location: 'westeurope',
  });
  return { arm, tracking, service };
}

const drives = [
  { driveId: 'drv-a', keyId: 'key-a' },
  { driveId: 'drv-b', keyId: 'key-b' },
];
const request = (name = 'ob-1') => ({
  name,
  storageAccount: 'strongboxsa',
  container: 'import-ob-1',
  drives,
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof OfflineError) return err.code;
    throw err;
  }
  throw new Error('expected a rejection');
}

describe('azureImportService: create', () => {
  it('creates an Import job: storage account id, drive list without key material, our fields in tags', async () => {
    const { arm, service } = setup();
    const job = await service.createJob(request(), T0);
    const create = arm.calls.find((c) => c.op === 'create');
    expect(create).toEqual({
      op: 'create',
      name: 'ob-1',
      body: {
        location: 'westeurope',
        tags: {
          [TAGS.container]: 'import-ob-1',
          [TAGS.createdAt]: T0.toISOString(),
          [TAGS.shippingDeadline]: new Date(T0.getTime() + 14 * DAY_MS).toISOString(),
          [`${TAGS.keyPrefix}drv-a`]: 'key-a',
          [`${TAGS.keyPrefix}drv-b`]: 'key-b',
        },
        properties: {
          jobType: 'Import',
          storageAccountId: `/subscriptions/${SUB}/resourceGroups/${RG}/providers/Microsoft.Storage/storageAccounts/strongboxsa`,
          // No bitLockerKey: our drives are not BitLocker volumes, and our own key never leaves the escrow.
          driveList: [{ driveId: 'drv-a' }, { driveId: 'drv-b' }],
          diagnosticsPath: 'waimportexport',
          logLevel: 'Error',
          backupDriveManifest: false,
        },
      },
    });
    expect(job).toEqual({
      name: 'ob-1',
      storageAccount: 'strongboxsa',
      container: 'import-ob-1',
      prefix: 'ob-1/',
      state: 'Creating',
      createdAt: T0.toISOString(),
      stateSince: T0.toISOString(),
      shippingDeadline: new Date(T0.getTime() + 14 * DAY_MS).toISOString(),
      drives: [
        {
          driveId: 'drv-a',
          keyId: 'key-a',
          state: 'Specified',
          errors: [],
          bytesTransferred: 0,
          filesTransferred: 0,
        },
        {
          driveId: 'drv-b',
          keyId: 'key-b',
          state: 'Specified',
          errors: [],
          bytesTransferred: 0,
          filesTransferred: 0,
        },
      ],
      bytesTransferred: 0,
    });
  });

  it('fills bitLockerKey only from an explicit provider', async () => {
    const arm = new FakeArm();
    const service = azureImportService({
      jobs: arm,
      tracking: new FakeTracking() as unknown as TrackingTable,
      subscriptionId: SUB,
      resourceGroup: RG,
      location: 'westeurope',
      bitLockerKeyOf: (driveId) => Promise.resolve(`bitlocker-of-${driveId}`),
    });
    await service.createJob(request(), T0);
    const body = arm.calls.find((c) => c.op === 'create')?.body as PutJobParameters;
    expect(body.properties?.driveList).toEqual([
      { driveId: 'drv-a', bitLockerKey: 'bitlocker-of-drv-a' },
      { driveId: 'drv-b', bitLockerKey: 'bitlocker-of-drv-b' },
    ]);
  });

  it('returns the existing job on a re-run with the same drives, JOB_EXISTS with others, never a second PUT', async () => {
    const { arm, service } = setup();
    const first = await service.createJob(request(), T0);
    expect(await service.createJob(request(), new Date(T0.getTime() + 1000))).toEqual(first);
    expect(
      await codeOf(service.createJob({ ...request(), drives: [{ driveId: 'drv-c', keyId: 'key-c' }] }, T0)),
    ).toBe(OFFLINE_ERROR_CODES.JOB_EXISTS);
    expect(arm.calls.filter((c) => c.op === 'create')).toHaveLength(1);
  });

  it(`refuses no drives and more than ${ARM_MAX_DRIVES_PER_JOB} (Azure's limit), accepts exactly ${ARM_MAX_DRIVES_PER_JOB}`, async () => {
    const { service } = setup();
    const n = (k: number) => Array.from({ length: k }, (_, i) => ({ driveId: `d${i}`, keyId: `k${i}` }));
    expect(await codeOf(service.createJob({ ...request('a-0'), drives: [] }, T0))).toBe(
      OFFLINE_ERROR_CODES.INVALID_ARGUMENT,
    );
    expect(
      await codeOf(service.createJob({ ...request('a-11'), drives: n(ARM_MAX_DRIVES_PER_JOB + 1) }, T0)),
    ).toBe(OFFLINE_ERROR_CODES.INVALID_ARGUMENT);
    const ok = await service.createJob({ ...request('a-10'), drives: n(ARM_MAX_DRIVES_PER_JOB) }, T0);
    expect(ok.drives).toHaveLength(ARM_MAX_DRIVES_PER_JOB);
  });

  it('translates a 409 from the PUT into JOB_EXISTS', async () => {
    const { arm, service } = setup();
    arm.failNext.set('create', restError(409, 'Conflict'));
    expect(await codeOf(service.createJob(request(), T0))).toBe(OFFLINE_ERROR_CODES.JOB_EXISTS);
  });
});

describe('azureImportService: shipping', () => {
  it('reserves the tracking number, then PATCHes deliveryPackage, returnAddress and state Shipping', async () => {
    const { arm, tracking, service } = setup();
    await service.createJob(request(), T0);
    const at = new Date(T0.getTime() + 3 * DAY_MS);
    const job = await service.updateShipping(
      'ob-1',
      { ...SHIPPING, returnCarrierAccountNumber: ' 123456 ' },
      at,
    );
    expect([...tracking.rows.values()]).toEqual([
      { partitionKey: 'tracking', rowKey: '771234567890', jobName: 'ob-1' },
    ]);
    expect(arm.calls.filter((c) => c.op === 'update')).toEqual([
      {
        op: 'update',
        name: 'ob-1',
        body: {
          state: 'Shipping',
          deliveryPackage: {
            carrierName: 'FedEx',
            trackingNumber: '771234567890',
            driveCount: 2,
            shipDate: at.toISOString(),
          },
          returnAddress: {
            recipientName: 'Ada Admin',
            streetAddress1: '1 Main St',
            city: 'Springfield',
            postalCode: '12345',
            countryOrRegion: 'US',
            phone: '+1 555 0100',
            email: 'ada@example.com',
          },
          returnShipping: { carrierName: 'FedEx', carrierAccountNumber: '123456' },
        },
      },
    ]);
    expect(job.state).toBe('Shipping');
    expect(job.shipping).toEqual({
      carrier: 'FedEx',
      trackingNumber: '771234567890',
      returnAddress: ADDRESS,
    });
  });

  it('refuses a tracking number another job holds, before any ARM update; the owner may retry', async () => {
    const { arm, service } = setup();
    await service.createJob(request('ob-1'), T0);
    await service.createJob(request('ob-2'), T0);
    await service.updateShipping('ob-1', SHIPPING, T0);
    const updates = arm.calls.filter((c) => c.op === 'update').length;
    expect(
      await codeOf(service.updateShipping('ob-2', { ...SHIPPING, trackingNumber: '771234567890' }, T0)),
    ).toBe(OFFLINE_ERROR_CODES.TRACKING_NUMBER_IN_USE);
    expect(arm.calls.filter((c) => c.op === 'update')).toHaveLength(updates);
    expect((await service.updateShipping('ob-1', SHIPPING, T0)).state).toBe('Shipping');
  });

  it('two jobs racing for one number: exactly one wins', async () => {
    const { service } = setup();
    await service.createJob(request('ob-1'), T0);
    await service.createJob(request('ob-2'), T0);
    const results = await Promise.allSettled([
      service.updateShipping('ob-1', SHIPPING, T0),
      service.updateShipping('ob-2', SHIPPING, T0),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const lost = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(hasErrorCode(lost?.reason, OFFLINE_ERROR_CODES.TRACKING_NUMBER_IN_USE)).toBe(true);
  });

  it('a failed ARM update leaves the number reserved to the job, and the retry succeeds', async () => {
    const { arm, service } = setup();
    await service.createJob(request(), T0);
    arm.failNext.set('update', restError(503));
    expect(await codeOf(service.updateShipping('ob-1', SHIPPING, T0))).toBe(
      OFFLINE_ERROR_CODES.STORAGE_FAILED,
    );
    expect((await service.updateShipping('ob-1', SHIPPING, T0)).shipping?.trackingNumber).toBe(
      '771234567890',
    );
  });

  it('refuses a bad return address, a late entry, a changed number, and a job past Shipping', async () => {
    const { arm, service } = setup();
    await service.createJob(request(), T0);
    expect(
      await codeOf(service.updateShipping('ob-1', { ...SHIPPING, returnAddress: 'somewhere' }, T0)),
    ).toBe(OFFLINE_ERROR_CODES.INVALID_ARGUMENT);
    const late = new Date(T0.getTime() + 14 * DAY_MS + 1);
    expect(await codeOf(service.updateShipping('ob-1', SHIPPING, late))).toBe(
      OFFLINE_ERROR_CODES.INVALID_STATE,
    );
    await service.updateShipping('ob-1', SHIPPING, T0);
    expect(
      await codeOf(service.updateShipping('ob-1', { ...SHIPPING, trackingNumber: 'OTHER-1234' }, T0)),
    ).toBe(OFFLINE_ERROR_CODES.INVALID_STATE);
    arm.setState('ob-1', 'Received');
    expect(await codeOf(service.updateShipping('ob-1', SHIPPING, T0))).toBe(
      OFFLINE_ERROR_CODES.INVALID_STATE,
    );
    expect(await codeOf(service.updateShipping('missing', SHIPPING, T0))).toBe(
      OFFLINE_ERROR_CODES.JOB_NOT_FOUND,
    );
  });
});

describe('azureImportService: get, poll, cancel', () => {
  it('reads per-drive state, bytes, and a failed drive with its error log (query string dropped)', async () => {
    const { arm, service } = setup();
    await service.createJob(request(), T0);
    arm.setState('ob-1', 'Transferring', [
      { driveId: 'drv-a', state: 'Completed', copyStatus: 'Completed', bytesSucceeded: 1000 },
      {
        driveId: 'drv-b',
        state: 'CompletedMoreInfo',
        copyStatus: 'CompletedWithErrors',
        bytesSucceeded: 10,
        errorLogUri: 'https://strongboxsa.blob.core.windows.net/waimportexport/drv-b_error.xml?sig=secret',
      },
    ]);
    const job = await service.poll('ob-1', T0);
    expect(job.state).toBe('Transferring');
    expect(job.bytesTransferred).toBe(1010);
    expect(job.drives.map((d) => [d.driveId, d.keyId, d.state])).toEqual([
      ['drv-a', 'key-a', 'Completed'],
      ['drv-b', 'key-b', 'Failed'],
    ]);
    expect(job.drives[1]?.errors).toEqual([
      {
        code: OFFLINE_ERROR_CODES.FILE_CORRUPT,
        message:
          'drive drv-b: completed with errors (copy status CompletedWithErrors) (error log: https://strongboxsa.blob.core.windows.net/waimportexport/drv-b_error.xml)',
      },
    ]);
    expect(JSON.stringify(job)).not.toContain('sig=');
  });

  it('getJob and poll of a missing job are JOB_NOT_FOUND', async () => {
    const { service } = setup();
    expect(await codeOf(service.getJob('nope'))).toBe(OFFLINE_ERROR_CODES.JOB_NOT_FOUND);
    expect(await codeOf(service.poll('nope', T0))).toBe(OFFLINE_ERROR_CODES.JOB_NOT_FOUND);
  });

  it('cancel requests cancellation, keeps the resource and the other tags, is idempotent, then refuses shipping', async () => {
    const { arm, service } = setup();
    await service.createJob(request(), T0);
    const at = new Date(T0.getTime() + 15 * DAY_MS);
    const job = await service.cancelJob('ob-1', 'shipping deadline passed', at);
    expect(job.deletedAt).toBe(at.toISOString());
    expect(job.deleteReason).toBe('shipping deadline passed');
    expect(job.container).toBe('import-ob-1');
    expect(job.drives[0]?.keyId).toBe('key-a');
    const again = await service.cancelJob('ob-1', 'other reason', new Date(at.getTime() + 1));
    expect(again.deletedAt).toBe(at.toISOString());
    expect(arm.calls.filter((c) => c.op === 'update')).toHaveLength(1);
    expect(await codeOf(service.updateShipping('ob-1', SHIPPING, T0))).toBe(OFFLINE_ERROR_CODES.JOB_DELETED);
  });

  it('a job Azure closed or cancelled on its own reads as deleted', async () => {
    const { arm, service } = setup();
    await service.createJob(request(), T0);
    arm.setState('ob-1', 'ClosedOrCancelled');
    const job = await service.getJob('ob-1');
    expect(job.deletedAt).toBe(T0.toISOString());
    expect(job.deleteReason).toBe('Azure Import/Export job ClosedOrCancelled');
  });

  it('has no deliverDrive (the carrier delivers) and nothing to advance', async () => {
    const { service } = setup();
    await service.createJob(request(), T0);
    expect(await codeOf(service.deliverDrive('ob-1', '/mnt/x', T0))).toBe(OFFLINE_ERROR_CODES.INVALID_STATE);
    expect(await service.advance(T0)).toEqual([]);
  });

  it("ship-to address: the location's, then the job's own shippingInformation", async () => {
    const { arm, service } = setup();
    expect(service.shipToAddress()).toBe('the Azure Import/Export shipping address of location westeurope');
    await service.createJob(request(), T0);
    await new Promise((r) => setImmediate(r));
    expect(service.shipToAddress()).toBe(
      'Microsoft Azure Import/Export Service; 1 Datacenter Rd; Amsterdam; 1000 AA; NL; +31 20 000 0000',
    );
    const j = arm.jobs.get('ob-1');
    if (j?.properties) j.properties.shippingInformation = { recipientName: 'Dock 7', city: 'Dublin' };
    await service.getJob('ob-1');
    expect(service.shipToAddress()).toBe('Dock 7; Dublin');
  });
});

describe('azureImportService: mapping tables', () => {
  it.each([
    ['Creating', 'Creating', false],
    ['Shipping', 'Shipping', false],
    ['Received', 'Received', false],
    ['Transferring', 'Transferring', false],
    ['Packaging', 'Packaging', false],
    ['Completed', 'Completed', false],
    ['Closed', 'Completed', false],
    ['ClosedOrCancelled', 'Completed', true],
    ['Cancelled', 'Completed', true],
    ['Deleted', 'Completed', true],
  ])('job state %s -> %s (cancelled %s)', (arm, state, cancelled) => {
    expect(mapJobState(arm)).toEqual({ state, cancelled });
  });

  it('covers every port state and refuses an unknown ARM state by name', () => {
    const mapped = new Set(Object.values(ARM_JOB_STATES).map((m) => m.state));
    expect([...IMPORT_JOB_STATES].filter((s) => !mapped.has(s))).toEqual([]);
    expect(() => mapJobState('Exploded')).toThrow(/unknown job state 'Exploded'/);
    expect(() => mapJobState(undefined)).toThrow(OfflineError);
  });

  it.each([
    ['Specified', undefined, 'Specified', 0],
    ['Received', undefined, 'Received', 0],
    ['Transferring', 'InProgress', 'Transferring', 0],
    ['Completed', 'Completed', 'Completed', 0],
    ['Completed', 'Failed', 'Failed', 1],
    ['ShippedBack', 'Completed', 'Completed', 0],
    ['CompletedMoreInfo', 'CompletedWithWarnings', 'Failed', 1],
    ['NeverReceived', undefined, 'Failed', 1],
    ['SomethingNew', undefined, 'Failed', 1],
  ])('drive state %s (copy %s) -> %s with %d errors', (state, copyStatus, want, errors) => {
    const d = mapDrive({ driveId: 'x', state, ...(copyStatus ? { copyStatus } : {}) }, 'k');
    expect(d.state).toBe(want);
    expect(d.errors).toHaveLength(errors);
  });

  it('parses a return address of exactly seven parts (new lines or semicolons), nothing else', () => {
    expect(parseReturnAddress(ADDRESS.replace(/; /g, '\n'))).toEqual(parseReturnAddress(ADDRESS));
    expect(() => parseReturnAddress('a; b; c; d; e; f')).toThrow(OfflineError);
    expect(() => parseReturnAddress(`${ADDRESS}; extra`)).toThrow(OfflineError);
  });
});

describe('translateArmError', () => {
  const code = (err: unknown, meaning?: Parameters<typeof translateArmError>[2]) =>
    translateArmError('doing it', err, meaning).code;

  it.each([
    [404, { notFound: OFFLINE_ERROR_CODES.JOB_NOT_FOUND }, OFFLINE_ERROR_CODES.JOB_NOT_FOUND],
    [404, {}, OFFLINE_ERROR_CODES.STORAGE_FAILED],
    [409, {}, OFFLINE_ERROR_CODES.INVALID_STATE],
    [409, { conflict: OFFLINE_ERROR_CODES.JOB_EXISTS }, OFFLINE_ERROR_CODES.JOB_EXISTS],
    [400, {}, OFFLINE_ERROR_CODES.INVALID_ARGUMENT],
    [401, {}, OFFLINE_ERROR_CODES.STORAGE_FAILED],
    [403, {}, OFFLINE_ERROR_CODES.STORAGE_FAILED],
    [408, {}, OFFLINE_ERROR_CODES.STORAGE_FAILED],
    [429, {}, OFFLINE_ERROR_CODES.STORAGE_FAILED],
    [500, {}, OFFLINE_ERROR_CODES.STORAGE_FAILED],
    [503, {}, OFFLINE_ERROR_CODES.STORAGE_FAILED],
  ])('HTTP %d %j -> %s', (status, meaning, want) => {
    expect(code(restError(status), meaning)).toBe(want);
  });

  it('says why: forbidden names the identity, transient says retry, no response counts as transient', () => {
    expect(translateArmError('x', restError(403, 'AuthorizationFailed')).message).toMatch(
      /managed identity is not allowed .*HTTP 403 AuthorizationFailed/,
    );
    expect(translateArmError('x', restError(429)).message).toMatch(/transient, retry/);
    expect(translateArmError('x', new Error('ECONNRESET')).message).toMatch(/transient, retry.*no response/);
    expect(translateArmError('x', restError(501)).cause).toBeDefined();
  });

  it('passes our own errors through unchanged', () => {
    const ours = new OfflineError(OFFLINE_ERROR_CODES.JOB_DELETED, 'gone');
    expect(translateArmError('x', ours)).toBe(ours);
  });
});
