// Offline seeding end to end on Azurite: diskprep across drives, resume after an interruption,
// datacenter import with checksum failure and re-delivery, tracking-number race, key hygiene.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { TableClient } from '@azure/data-tables';
import { startAzurite, type AzuriteInstance } from '../../host/src/azurite/azuriteProcess';
import { diskPrep, planDrive, type DiskPrepOptions } from '../../shared/offline/diskPrep';
import { readJournal, readLabel, dataPath } from '../../shared/offline/driveFormat';
import { decryptFile, encryptedSizeOf } from '../../shared/offline/driveCipher';
import { localDriveKeyEscrow } from '../../shared/offline/localDriveKeyEscrow';
import { localImportService } from '../../shared/offline/localImportService';
import type { DriveKeyEscrow } from '../../shared/offline/driveKeyEscrow';
import { OFFLINE_ERROR_CODES } from '../../shared/offline/offlineErrors';
import { hasErrorCode } from '../../shared/errors';

const DAY = 24 * 60 * 60 * 1000;
let azurite: AzuriteInstance;
let work: string;

beforeAll(async () => {
  azurite = await startAzurite();
  work = await mkdtemp(path.join(tmpdir(), 'sbx-offline-'));
});

afterAll(async () => {
  await azurite?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

/** Mulberry32: a small seeded PRNG so a failing run can be replayed from the seed in its message. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A staging tree shaped like a vault: hundreds of small files, a few larger, one empty, one > 1 chunk. */
async function makeStaging(dir: string, seed: number): Promise<Map<string, string>> {
  const rnd = prng(seed);
  const hashes = new Map<string, string>();
  const put = async (rel: string, bytes: Buffer): Promise<void> => {
    const file = path.join(dir, ...rel.split('/'));
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, bytes);
    hashes.set(rel, createHash('sha256').update(bytes).digest('hex'));
  };
  for (let i = 0; i < 300; i += 1) {
    const size = Math.floor(rnd() * 12_000);
    await put(
      `packs/${(i % 16).toString(16).padStart(2, '0')}/p${i.toString().padStart(4, '0')}`,
      randomBytes(size),
    );
  }
  await put('config', Buffer.from('{"format":"strongbox-vault"}'));
  await put('index/empty', Buffer.alloc(0));
  await put('packs/ff/big', randomBytes(1024 * 1024 + 1)); // two chunks: a boundary
  await put('packs/fe/mid', randomBytes(900 * 1024));
  // Bookkeeping the local blob store writes: must not be shipped.
  await mkdir(path.join(dir, '.strongbox', 'locks'), { recursive: true });
  await writeFile(path.join(dir, '.strongbox', 'locks', 'x~.lock'), 'lock');
  return hashes;
}

async function hashesOnDrive(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const j = await readJournal(dir);
  for (const e of j?.files ?? []) {
    const bytes = await readFile(dataPath(dir, e.path));
    out.set(e.path, createHash('sha256').update(bytes).digest('hex'));
  }
  return out;
}

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else out.push(p);
  }
  return out;
}

/** Records every key the escrow sees (to grep for it later) while delegating to the real one. */
function spyEscrow(inner: DriveKeyEscrow, keys: Buffer[]): DriveKeyEscrow {
  return {
    async escrow(driveId, key) {
      keys.push(Buffer.from(key));
      return inner.escrow(driveId, key);
    },
    recover: (driveId, keyId) => inner.recover(driveId, keyId),
  };
}

const CAPACITY = 2 * 1024 * 1024; // with ~3.6 MiB staged: three drives

function drivesIn(root: string): DiskPrepOptions['nextDrive'] {
  return async ({ index }) => {
    const dir = path.join(root, `drive${index}`);
    await mkdir(dir, { recursive: true });
    return dir;
  };
}

test('planDrive: order kept, a file that does not fit closes the drive, a too-large file is refused', () => {
  const files = [
    { path: 'a', size: 10 },
    { path: 'b', size: 100_000 },
    { path: 'c', size: 10 },
  ];
  const cap = 64 * 1024 + 2 * (4096 + 513) + 1;
  expect(planDrive(files, cap).map((f) => f.path)).toEqual(['a']);
  expect(() => planDrive([{ path: 'huge', size: 10 * CAPACITY }], CAPACITY)).toThrow(
    expect.objectContaining({ code: OFFLINE_ERROR_CODES.FILE_TOO_LARGE }) as Error,
  );
  expect(encryptedSizeOf(0)).toBe(24 + 16);
  expect(encryptedSizeOf(1024 * 1024)).toBe(24 + 1024 * 1024 + 16);
  expect(encryptedSizeOf(1024 * 1024 + 1)).toBe(24 + 1024 * 1024 + 1 + 32);
});

test('seed end to end: interrupted diskprep resumes, a corrupt drive fails and is re-prepared, bytes arrive exactly', async () => {
  const seed = 0x5eed0001;
  const root = path.join(work, 'e2e');
  const staging = path.join(root, 'staging');
  const hashes = await makeStaging(staging, seed);
  const keys: Buffer[] = [];
  const escrow = spyEscrow(
    localDriveKeyEscrow({
      kekPath: path.join(root, 'service', 'escrow.kek'),
      dir: path.join(root, 'service', 'escrow'),
    }),
    keys,
  );
  const drivesRoot = path.join(root, 'drives');
  const base = {
    stagingDir: staging,
    jobName: 'seed-e2e',
    escrow,
    capacityBytes: CAPACITY,
    nextDrive: drivesIn(drivesRoot),
  };

  // Run 1: abort at a seeded random file (a crash between files; the in-flight file is redone).
  const rnd = prng(seed);
  const stopAfter = 50 + Math.floor(rnd() * 200);
  const ac = new AbortController();
  let copied = 0;
  await expect(
    diskPrep({
      ...base,
      signal: ac.signal,
      onFile: () => {
        if (++copied === stopAfter) ac.abort();
      },
    }),
  ).rejects.toMatchObject({ code: OFFLINE_ERROR_CODES.ABORTED });

  const before = new Map<string, string>();
  for (const d of await readdir(drivesRoot)) {
    const j = await readJournal(path.join(drivesRoot, d));
    for (const e of j?.files ?? []) if (e.state === 'complete') before.set(e.path, e.encryptedSha256 ?? '');
  }
  // Every file reported done is recorded as complete (seed in the test name's data: 0x5eed0001).
  expect(before.size).toBe(stopAfter);

  // Run 2: resume. Nothing complete is redone.
  const progress: number[] = [];
  const redone: string[] = [];
  const res = await diskPrep({
    ...base,
    onFile: (e) => {
      if (!e.skipped) redone.push(e.path);
    },
    onProgress: (p) => progress.push(p.bytesDone),
  });
  expect(res.drives.length).toBeGreaterThanOrEqual(2);
  expect(res.filesSkipped).toBe(stopAfter);
  expect(redone.filter((p) => before.has(p))).toEqual([]);
  expect(res.filesCopied + res.filesSkipped).toBe(hashes.size);

  // Every drive: sealed journal, complete entries, hashes match, completed-before files untouched,
  // plaintext hash per file equals the staged file; union of drives = staging, no duplicates.
  const seen = new Set<string>();
  for (const d of res.drives) {
    const label = await readLabel(d.dir);
    expect(label).toMatchObject({ jobName: 'seed-e2e', driveIndex: d.index, driveId: d.driveId });
    const key = await escrow.recover(d.driveId, d.keyId);
    const j = await readJournal(d.dir, key); // the MAC verifies
    expect(j?.sealed).toBe(true);
    const onDisk = await hashesOnDrive(d.dir);
    for (const e of j?.files ?? []) {
      expect(e.state).toBe('complete');
      expect(e.sha256).toBe(hashes.get(e.path));
      expect(onDisk.get(e.path)).toBe(e.encryptedSha256);
      if (before.has(e.path)) expect(e.encryptedSha256).toBe(before.get(e.path));
      expect(seen.has(e.path)).toBe(false);
      seen.add(e.path);
    }
    // capacity respected
    let used = 0;
    for (const f of await walk(d.dir)) used += (await stat(f)).size;
    expect(used).toBeLessThanOrEqual(CAPACITY);
  }
  expect([...seen].sort()).toEqual([...hashes.keys()].sort());

  // A third run changes nothing.
  const again = await diskPrep(base);
  expect(again.filesCopied).toBe(0);

  // Datacenter: job, shipping, delivery. Corrupt one byte of one file on drive 1 first.
  const service = localImportService({
    connectionString: azurite.connectionString,
    escrow,
    tablePrefix: 'e2e',
  });
  const t0 = new Date('2025-03-01T00:00:00Z');
  await service.createJob(
    {
      name: 'seed-e2e',
      storageAccount: 'devstoreaccount1',
      container: 'seeding',
      drives: res.drives.map((d) => ({ driveId: d.driveId, keyId: d.keyId })),
    },
    t0,
  );
  const bad = res.drives[1];
  if (!bad) throw new Error('need two drives');
  const badJournal = await readJournal(bad.dir);
  const victim = badJournal?.files.find((f) => f.size > 100);
  if (!victim) throw new Error('no victim');
  const victimPath = dataPath(bad.dir, victim.path);
  const bytes = await readFile(victimPath);
  bytes[bytes.length - 20] = (bytes[bytes.length - 20] ?? 0) ^ 0x01;
  await writeFile(victimPath, bytes);

  await service.updateShipping(
    'seed-e2e',
    { carrier: 'DHL', trackingNumber: 'e2e 0001', returnAddress: '1 Main St' },
    t0,
  );
  for (const d of res.drives) await service.deliverDrive('seed-e2e', d.dir, new Date(t0.getTime() + 2 * DAY));
  expect((await service.getJob('seed-e2e')).state).toBe('Received');
  await service.advance(new Date(t0.getTime() + 3 * DAY + 1));
  let job = await service.getJob('seed-e2e');
  expect(job.state).toBe('Transferring');
  const failed = job.drives.find((d) => d.driveId === bad.driveId);
  expect(failed?.state).toBe('Failed');
  expect(failed?.errors).toEqual([
    expect.objectContaining({ code: OFFLINE_ERROR_CODES.FILE_CORRUPT, file: victim.path }),
  ]);
  expect(failed?.errors[0]?.message).toContain(bad.driveId);
  expect(job.drives.filter((d) => d.state === 'Completed')).toHaveLength(res.drives.length - 1);

  // Re-prepare drive 1 only: the damaged file is detected by checksum and redone; then re-deliver.
  const fix = await diskPrep({ ...base, onlyDriveIndex: 1 });
  expect(fix.filesCopied).toBe(1);
  await service.deliverDrive('seed-e2e', bad.dir, new Date(t0.getTime() + 4 * DAY));
  await service.advance(new Date(t0.getTime() + 4 * DAY + 1));
  job = await service.getJob('seed-e2e');
  expect(job.drives.every((d) => d.state === 'Completed')).toBe(true);
  expect(job.state).toBe('Transferring'); // the 7–10 day transfer window has not passed
  await service.advance(new Date(t0.getTime() + 20 * DAY));
  job = await service.getJob('seed-e2e');
  expect(job.state).toBe('Completed');
  expect(job.bytesTransferred).toBe(res.drives.reduce((n, d) => n + d.bytes, 0));

  // The container holds exactly the staged bytes, per file.
  const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient(
    'seeding',
  );
  const got = new Map<string, string>();
  for await (const b of container.listBlobsFlat({ prefix: 'seed-e2e/' })) {
    const buf = await container.getBlockBlobClient(b.name).downloadToBuffer();
    got.set(b.name.slice('seed-e2e/'.length), createHash('sha256').update(buf).digest('hex'));
  }
  expect(got).toEqual(hashes);

  // Key hygiene: no drive key in any file on the drives, the staging, the escrow dir, or the table rows.
  expect(keys.length).toBe(res.drives.length);
  const needles = keys.flatMap((k) => [k, Buffer.from(k.toString('hex')), Buffer.from(k.toString('base64'))]);
  const files = [...(await walk(drivesRoot)), ...(await walk(path.join(root, 'service')))];
  for (const f of files) {
    const content = await readFile(f);
    for (const n of needles) expect(content.includes(n)).toBe(false);
  }
  const rows: string[] = [];
  for (const table of ['e2eimportjobs', 'e2eimporttracking']) {
    const tc = TableClient.fromConnectionString(azurite.connectionString, table, {
      allowInsecureConnection: true,
    });
    for await (const r of tc.listEntities()) rows.push(JSON.stringify(r));
  }
  const rowText = Buffer.from(rows.join('\n'));
  for (const n of needles) expect(rowText.includes(n)).toBe(false);
});

test('a moved or swapped file fails authentication with drive and file named', async () => {
  const root = path.join(work, 'swap');
  const staging = path.join(root, 'staging');
  await mkdir(path.join(staging, 'a'), { recursive: true });
  await writeFile(path.join(staging, 'a', 'one'), randomBytes(5000));
  await writeFile(path.join(staging, 'a', 'two'), randomBytes(5000));
  const escrow = localDriveKeyEscrow({ kekPath: path.join(root, 'kek'), dir: path.join(root, 'escrow') });
  const res = await diskPrep({ stagingDir: staging, jobName: 'swap-job', escrow, nextDrive: drivesIn(root) });
  const d = res.drives[0];
  if (!d) throw new Error('no drive');
  const one = await readFile(dataPath(d.dir, 'a/one'));
  const key = await escrow.recover(d.driveId, d.keyId);
  const consume = async (): Promise<void> => {
    for await (const _ of decryptFile(dataPath(d.dir, 'a/two'), key, {
      driveId: d.driveId,
      relPath: 'a/two',
    })) {
      // drain
    }
  };
  await writeFile(dataPath(d.dir, 'a/two'), one);
  const err = await consume().catch((e: unknown) => e);
  expect(hasErrorCode(err, OFFLINE_ERROR_CODES.FILE_CORRUPT)).toBe(true);
  expect((err as Error).message).toContain(d.driveId);
  expect((err as Error).message).toContain('a/two');
});

test('a drive with foreign data is refused unless overwriting is confirmed; a wrong drive is named', async () => {
  const root = path.join(work, 'foreign');
  const staging = path.join(root, 'staging');
  await mkdir(staging, { recursive: true });
  await writeFile(path.join(staging, 'x'), 'hello');
  const drive = path.join(root, 'drive');
  await mkdir(drive, { recursive: true });
  await writeFile(path.join(drive, 'family-photos.jpg'), 'precious');
  const escrow = localDriveKeyEscrow({ kekPath: path.join(root, 'kek'), dir: path.join(root, 'escrow') });
  const base = {
    stagingDir: staging,
    jobName: 'foreign-job',
    escrow,
    nextDrive: () => Promise.resolve(drive),
  };
  await expect(diskPrep(base)).rejects.toMatchObject({ code: OFFLINE_ERROR_CODES.DRIVE_NOT_EMPTY });
  expect(await readFile(path.join(drive, 'family-photos.jpg'), 'utf8')).toBe('precious');
  const res = await diskPrep({ ...base, confirmOverwrite: () => Promise.resolve(true) });
  expect(res.filesCopied).toBe(1);
  await expect(diskPrep({ ...base, onlyDriveIndex: 1 })).rejects.toMatchObject({
    code: OFFLINE_ERROR_CODES.DRIVE_MISMATCH,
  });
});

test('two jobs racing for one tracking number: exactly one wins', async () => {
  const root = path.join(work, 'race');
  const escrow = localDriveKeyEscrow({ kekPath: path.join(root, 'kek'), dir: path.join(root, 'escrow') });
  const service = localImportService({
    connectionString: azurite.connectionString,
    escrow,
    tablePrefix: 'race',
  });
  const t0 = new Date('2025-03-01T00:00:00Z');
  const drive = { driveId: 'ab'.repeat(16), keyId: 'cd'.repeat(16) };
  for (let round = 0; round < 5; round += 1) {
    const names = [`race-a-${round}`, `race-b-${round}`, `race-c-${round}`];
    for (const name of names) {
      await service.createJob(
        { name, storageAccount: 'devstoreaccount1', container: 'seeding', drives: [drive] },
        t0,
      );
    }
    const results = await Promise.allSettled(
      names.map((name) =>
        service.updateShipping(
          name,
          { carrier: 'UPS', trackingNumber: `1Z-RACE-${round}`, returnAddress: 'x' },
          t0,
        ),
      ),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(2);
    for (const l of lost) {
      expect(l.reason).toMatchObject({ code: OFFLINE_ERROR_CODES.TRACKING_NUMBER_IN_USE });
    }
  }
  // The same job re-submitting its own number is idempotent.
  const owner = (await Promise.all(['race-a-0', 'race-b-0', 'race-c-0'].map((n) => service.getJob(n)))).find(
    (j) => j.shipping !== undefined,
  );
  if (!owner) throw new Error('no owner');
  const again = await service.updateShipping(
    owner.name,
    { carrier: 'UPS', trackingNumber: '1z-race-0', returnAddress: 'x' },
    t0,
  );
  expect(again.state).toBe('Shipping');
});
