/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-explicit-any -- API answers are read as loose JSON (offlineEnv.ts Loose) and checked with expect() */
// Issue 6's end-to-end test on the local host, driving the helper as a child process:
// register → protect (tree + disk image, offline) → backup to staging → diskprep over two drives (the
// first run killed mid-copy and resumed) → shipping on day 3 → delivery on day 5 (one drive with a
// corrupted file: the import fails naming drive and file; the drive is re-prepared and re-delivered) →
// import → the next scheduled backup copies into the vault (the host killed mid-copy and restarted) →
// byte-identical restores → 1% of the files change → an online incremental moves < 2× the changed
// bytes → identical restore; the helper's queue event delivered twice has one effect; key hygiene.
//
// Sizes: CI runs a small version of the same steps. STRONGBOX_E2E_FULL=1 runs the sizes (a
// 400 MB tree of 2,000 files and a 512 MiB disk image; about 3 minutes on 2 cores): npm run test:offline-full.
import { QueueClient } from '@azure/storage-queue';
import { createHash } from 'node:crypto';
import { mkdir, open, readFile, readdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { TableClient } from '@azure/data-tables';
import { BlobServiceClient } from '@azure/storage-blob';
import { QueueServiceClient } from '@azure/storage-queue';
import { readJournal, dataPath } from '../../shared/offline/driveFormat';
import { eventKeyOf } from '../../shared/offline/helperEvents';
import { offlineStore } from '../../shared/offline/offlineStore';
import {
  passphraseKeyProvider,
  openVault,
  verify,
  readVaultSnapshot,
  localKeyFileProvider,
} from '../../shared/vault';
import { AzureBlobStore } from '../../shared/blob/azureBlobStore';
import { LocalDirBlobStore } from '../../shared/blob/localDirBlobStore';
import {
  DAY_MS,
  content,
  fileHash,
  hostLogsOf,
  prng,
  startOfflineEnv,
  treeHashes,
  waitFor,
  type OfflineEnv,
} from './offlineEnv';

const FULL = process.env.STRONGBOX_E2E_FULL === '1';
const SIZES = FULL
  ? { files: 2000, treeBytes: 400_000_000, imageBytes: 512 * 1024 * 1024 }
  : { files: 400, treeBytes: 24_000_000, imageBytes: 24 * 1024 * 1024 };
const SEED = 0x0ff1e6;
const PASSPHRASE = 'offline seeding passphrase 2024!';
const JOB = 'seed-e2e-1';

let env: OfflineEnv;
const log = (m: string) => process.stdout.write(`[e2e ${new Date().toISOString().slice(11, 19)}] ${m}\n`);

beforeAll(async () => {
  env = await startOfflineEnv({ azuriteOnDisk: FULL });
}, 120_000);

afterAll(async () => {
  await env?.stop();
});

async function makeTree(dir: string, rnd: () => number): Promise<number> {
  // Sizes vary around the mean (a few empty files), scaled so the tree holds at least treeBytes.
  const raw = Array.from({ length: SIZES.files }, (_, i) => (i % 97 === 0 ? 0 : 0.2 + 1.6 * rnd()));
  const scale = SIZES.treeBytes / raw.reduce((a, b) => a + b, 0);
  let total = 0;
  for (const [i, r] of raw.entries()) {
    const sub = path.join(dir, `d${i % 37}`, `e${i % 5}`);
    await mkdir(sub, { recursive: true });
    const size = Math.ceil(r * scale);
    await writeFile(path.join(sub, `f${i}.bin`), content(size, rnd));
    total += size;
  }
  return total;
}

async function makeImage(file: string, rnd: () => number): Promise<void> {
  const h = await open(file, 'w');
  const chunk = 4 * 1024 * 1024;
  for (let off = 0; off < SIZES.imageBytes; off += chunk) {
    // A quarter of the image is holes (zeros), as on a real disk.
    if (rnd() < 0.25) continue;
    await h.write(content(Math.min(chunk, SIZES.imageBytes - off), rnd), 0, undefined, off);
  }
  await h.truncate(SIZES.imageBytes);
  await h.close();
}

function ok(run: { code: number; stdout: string; stderr: string }, what: string): string {
  if (run.code !== 0)
    throw new Error(`${what} exited ${run.code}\nstdout:\n${run.stdout}\nstderr:\n${run.stderr}`);
  return run.stdout;
}

async function offline(): Promise<Record<string, any>> {
  const r = await env.api('GET', `/offlineBackups/${JOB}`);
  return r.body.properties as Record<string, any>;
}

test(
  `offline seeding end to end (${FULL ? 'full size' : 'CI size'}; seed ${SEED})`,
  async () => {
    const rnd = prng(SEED);
    const w = env.work;
    const tree = path.join(w, 'source', 'tree');
    const image = path.join(w, 'source', 'disk.img');
    const staging = path.join(w, 'staging');
    const drives = [path.join(w, 'drive0'), path.join(w, 'drive1')];
    const passFile = path.join(w, 'pass.txt');
    await mkdir(path.dirname(image), { recursive: true });
    for (const d of drives) await mkdir(d, { recursive: true });
    await writeFile(passFile, `${PASSPHRASE}\n`, { mode: 0o600 });
    const treeBytes = await makeTree(tree, rnd);
    await makeImage(image, rnd);
    log(`source: ${SIZES.files} files, ${treeBytes} bytes + ${SIZES.imageBytes}-byte image`);

    // --- register, protect -----------------------------------------------------------------------------
    const creds = path.join(w, 'vault.credentials');
    ok(
      await env.helper(['credentials', '--subscription', env.sub, '--vault', env.vault, '--out', creds]),
      'credentials',
    );
    const reg = ok(
      await env.helper([
        'register',
        '--credentials',
        creds,
        '--server-name',
        'fileserver1',
        '--passphrase-file',
        passFile,
      ]),
      'register',
    );
    expect(reg).toMatch(/registered server fileserver1 with vault v1/);
    const common = ['--policy', 'Daily0200', '--offline', '--staging', staging, '--import-job', JOB];
    ok(await env.helper(['protect', tree, '--item', 'files', ...common]), 'protect tree');
    const p2 = ok(
      await env.helper(['protect', image, '--disk-image', '--item', 'disk', ...common]),
      'protect image',
    );
    expect(p2).toMatch(/offline backup seed-e2e-1: WaitingForStaging/);
    const jobs = await env.api('GET', '/jobs?operation=OfflineSeeding');
    expect(jobs.body.value).toHaveLength(2);
    for (const j of jobs.body.value)
      expect(j.properties.statusDetail).toBe('Waiting for import job to complete');

    // --- backup to staging -------------------------------------------------------------------------------
    const staged = ok(await env.helper(['backup', '--passphrase-file', passFile]), 'backup (staging)');
    log(staged.trim());
    expect(staged).toMatch(/item files: staged/);
    expect(staged).toMatch(/item disk: staged/);
    await waitFor('the staged event', async () =>
      (await offline()).state === 'WaitingForStaging' ? true : undefined,
    );

    // --- diskprep: killed mid-copy, then resumed ---------------------------------------------------------
    const stagedBytes = (await treeHashes(staging)).size;
    let stagingTotal = 0;
    for (const f of await listFiles(staging)) stagingTotal += (await readFile(f)).length;
    const capacity = Math.ceil(stagingTotal * 0.6) + 1024 * 1024;
    const prepArgs = [
      'diskprep',
      `s:${staging}`,
      '--drive',
      drives[0]!,
      '--drive',
      drives[1]!,
      '--capacity-bytes',
      String(capacity),
    ];
    // Throttled so that the first journal flush (every 2 s) comes well before the end.
    const child = env.spawnHelper([
      ...prepArgs,
      '--max-bytes-per-second',
      String(Math.ceil(stagingTotal / 8)),
    ]);
    await waitFor(
      'some files on drive 0',
      async () => {
        const j = await readJournal(drives[0]!).catch(() => undefined);
        return j && j.files.some((f) => f.state === 'complete') ? true : undefined;
      },
      120_000,
    );
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const beforeKill = await completeEntries(drives);
    log(`diskprep killed with ${beforeKill.size} files complete`);
    const prep = ok(await env.helper(prepArgs), 'diskprep (resume)');
    log(prep.trim());
    expect(prep).toMatch(/drive 0: .*resuming/);
    expect(prep).toMatch(/drive 1: /);
    expect(prep).toMatch(/[1-9]\d* files copied .*, [1-9]\d* already complete/);
    expect(prep).toMatch(/import job seed-e2e-1: Creating with 2 drive/);
    // Identical drives: nothing complete before the kill was redone; every file on the drives decrypts…
    const after = await completeEntries(drives);
    for (const [p, h] of beforeKill) expect(after.get(p)).toBe(h);
    const journals = await Promise.all(drives.map((d) => readJournal(d)));
    const onDrives = journals.flatMap((j) => j?.files.map((f) => f.path) ?? []).sort();
    const stagedFiles = (await listFiles(staging))
      .map((f) => path.relative(staging, f).split(path.sep).join('/'))
      .filter((p) => !p.startsWith('.'))
      .sort();
    expect(onDrives).toEqual(stagedFiles);
    expect(journals.every((j) => j?.sealed)).toBe(true);
    expect(stagedBytes).toBeGreaterThan(0);

    // --- shipping on day 3 ---------------------------------------------------------------------------------
    await env.advance(3 * DAY_MS);
    const ship = ok(
      await env.helper([
        'diskprep',
        'u:',
        `s:${staging}`,
        '--carrier',
        'DHL',
        '--tracking-number',
        '1Z 999 AA1 0123',
        '--return-address',
        '1 Main St, Springfield',
        '--yes',
      ]),
      'diskprep u:',
    );
    log(ship.trim());
    expect(ship).toMatch(/shipping details saved to /);
    expect(ship).toMatch(/import job seed-e2e-1: Shipping \(offline backup InTransit\)/);

    // --- day 5: delivery; drive 1 has a corrupted file ------------------------------------------------------
    const j1 = journals[1];
    const victim = j1?.files.find((f) => f.size > 1000) ?? j1?.files[0];
    if (!victim) throw new Error('drive 1 holds no file');
    const vPath = dataPath(drives[1]!, victim.path);
    const bytes = await readFile(vPath);
    const at = Math.floor(bytes.length / 2);
    bytes[at] = (bytes[at] ?? 0) ^ 0x40;
    await writeFile(vPath, bytes);
    const day5 = await env.advance(2 * DAY_MS);
    for (const d of drives)
      ok(await env.helper(['datacenter', 'deliver', '--job', JOB, '--drive', d, '--at', day5]), 'deliver');
    await env.advance(DAY_MS + 60_000); // Received → Transferring: the drives are imported
    const failed = await waitFor(
      'the import of drive 1 to fail',
      async () => {
        const r = await env.api('GET', `/importJobs/${JOB}`);
        const d = (r.body.properties.drives as any[]).find((x) => x.driveIndex === 1);
        return d?.state === 'Failed' ? r.body.properties : undefined;
      },
      120_000,
    );
    const bad = (failed.drives as any[]).find((x) => x.driveIndex === 1);
    expect(bad.errors[0]).toMatchObject({ code: 'OFFLINE.FILE_CORRUPT', file: victim.path });
    expect(failed.nextAction).toContain(`Drive 1 (${bad.driveId}) failed: ${victim.path}`);
    expect(failed.nextAction).toContain('--drive-index 1');
    const fix = ok(
      await env.helper(['diskprep', `s:${staging}`, '--drive-index', '1', '--drive', drives[1]!]),
      're-prepare drive 1',
    );
    expect(fix).toMatch(/1 files copied/);
    const day6 = (await env.hostNow()).now;
    ok(
      await env.helper(['datacenter', 'deliver', '--job', JOB, '--drive', drives[1]!, '--at', day6]),
      're-deliver',
    );
    const status = ok(await env.helper(['status']), 'status');
    log(status.trim());

    // --- the import completes; the next scheduled backup copies into the vault; the host dies mid-copy -----
    await env.advance(11 * DAY_MS);
    const copying = await waitFor(
      'the scheduled copy time',
      async () => {
        const o = await offline();
        return o.state === 'WaitingForScheduledBackup' ? o : undefined;
      },
      180_000,
    );
    log(`import complete; copy scheduled at ${copying.scheduledCopyTime}`);
    const vaultContainer = await serverContainer();
    await env.advance(DAY_MS);
    await waitFor(
      'the first pack in the vault',
      async () => {
        for await (const b of vaultContainer.listBlobsFlat({ prefix: 'packs/' })) return b.name;
        return undefined;
      },
      120_000,
      20,
    );
    let atKill: Record<string, any> = {};
    let pointsAtKill = -1;
    await env.restartHost(async () => {
      // The host is down: read the workflow's row from storage.
      atKill = (await offlineStore(env.store).getBackup(JOB))?.doc ?? {};
      pointsAtKill = 0;
      for await (const _ of vaultContainer.listBlobsFlat({ prefix: 'points/' })) pointsAtKill++;
    });
    log(`host killed during the copy (state ${atKill.state}) and restarted`);
    expect(atKill.state).toBe('CopyingToVault');
    expect(pointsAtKill).toBe(0); // killed before the copy's last phase
    const done = await waitFor(
      'the offline backup to complete',
      async () => {
        const o = await offline();
        return o.state === 'Completed' ? o : o.state === 'Failed' || o.state === 'Expired' ? o : undefined;
      },
      600_000,
    );
    expect(done.state).toBe('Completed');
    expect(done.stagingDeletable).toBe(true);

    // Items Protected with one Full recovery point each; jobs completed; import container cleaned.
    for (const item of ['files', 'disk']) {
      const it = await env.api('GET', `/protectedItems/${item}`);
      expect(it.body.properties.protectionState).toBe('Protected');
      const rps = await env.api('GET', `/protectedItems/${item}/recoveryPoints`);
      expect(rps.body.value).toHaveLength(1);
    }
    const seeding = await env.api('GET', '/jobs?operation=OfflineSeeding');
    expect(seeding.body.value.map((j: any) => j.properties.status)).toEqual(['Completed', 'Completed']);
    for (const j of seeding.body.value)
      expect(j.properties.statusDetail).toBe(`Initial backup seeded offline (import job ${JOB})`);
    const importContainer = BlobServiceClient.fromConnectionString(
      env.azurite.connectionString,
    ).getContainerClient('seeding');
    let leftovers = 0;
    for await (const _ of importContainer.listBlobsFlat({ prefix: `${JOB}/` })) leftovers++;
    expect(leftovers).toBe(0);

    // No duplicate blocks: the vault holds exactly the staged objects, once each, and verifies.
    const inVault = new Map<string, number>();
    for await (const b of vaultContainer.listBlobsFlat())
      inVault.set(b.name, b.properties.contentLength ?? -1);
    for (const f of stagedFiles) expect(inVault.get(f)).toBe((await readFile(path.join(staging, f))).length);
    expect(inVault.size).toBe(stagedFiles.length);
    const vault = await openVault(new AzureBlobStore(vaultContainer), passphraseKeyProvider(PASSPHRASE));
    expect(await verify(vault, { readData: true })).toMatchObject({
      ok: true,
      missingBlocks: [],
      corruptBlocks: [],
    });
    const snap = await readVaultSnapshot(vault);
    assertNoDuplicateBlocks(snap);

    // --- byte-identical restore ----------------------------------------------------------------------------
    const r1 = path.join(w, 'restore1');
    ok(
      await env.helper(['restore', '--item', 'files', '--target', r1, '--passphrase-file', passFile]),
      'restore files',
    );
    expect(await treeHashes(r1)).toEqual(await treeHashes(tree));
    const rImg = path.join(w, 'restore1.img');
    ok(
      await env.helper(['restore', '--item', 'disk', '--target', rImg, '--passphrase-file', passFile]),
      'restore disk',
    );
    expect(await fileHash(rImg)).toBe(await fileHash(image));

    // --- 1% of the files change; the online incremental moves < 2× the changed bytes --------------------
    const all = [...(await treeHashes(tree)).keys()].filter((p) => !p.endsWith('/'));
    let changed = 0;
    const changeCount = Math.max(1, Math.round(all.length / 100));
    for (let i = 0; i < changeCount; i++) {
      const p = all[Math.floor(rnd() * all.length)]!;
      const f = path.join(tree, p);
      const size = (await readFile(f)).length || 4096;
      await writeFile(f, content(size, rnd));
      changed += size;
    }
    const before = new Map(inVault);
    const inc = ok(await env.helper(['backup', '--passphrase-file', passFile]), 'online incremental');
    log(inc.trim());
    expect(inc).toMatch(/staging location .* can be deleted/);
    expect(inc).toMatch(/item files: backed up .* online/);
    let moved = 0;
    for await (const b of vaultContainer.listBlobsFlat())
      if (!before.has(b.name)) moved += b.properties.contentLength ?? 0;
    log(
      `changed ${changed} bytes in ${changeCount} files; the incremental stored ${moved} new bytes (${(moved / changed).toFixed(2)}×)`,
    );
    expect(moved).toBeLessThan(2 * changed);
    await waitFor('the backup events', async () => {
      const rps = await env.api('GET', '/protectedItems/files/recoveryPoints');
      return rps.body.value.length === 2 ? true : undefined;
    });
    const r2 = path.join(w, 'restore2');
    ok(
      await env.helper(['restore', '--item', 'files', '--target', r2, '--passphrase-file', passFile]),
      'restore 2',
    );
    expect(await treeHashes(r2)).toEqual(await treeHashes(tree));

    // --- item-level recovery: one file, and one folder, out of the newest point ----------------------------
    const restorePath = (p: string, target: string) =>
      env.helper([
        'restore',
        '--item',
        'files',
        '--path',
        p,
        '--target',
        target,
        '--passphrase-file',
        passFile,
      ]);
    const nested = all.find((p) => p.includes('/'));
    if (nested === undefined) throw new Error('the generated tree has no nested file');
    const r3 = path.join(w, 'restore-one');
    ok(await restorePath(nested, r3), 'restore one file');
    expect(await treeHashes(r3)).toEqual(
      new Map([[path.posix.basename(nested), (await treeHashes(tree)).get(nested)!]]),
    );
    const folder = path.posix.dirname(nested);
    const r4 = path.join(w, 'restore-folder');
    ok(await restorePath(`/${folder}/`, r4), 'restore one folder');
    const want = new Map(
      [...(await treeHashes(tree))]
        .filter(([p]) => p.startsWith(`${folder}/`))
        .map(([p, h]) => [`${path.posix.basename(folder)}/${p.slice(folder.length + 1)}`, h]),
    );
    expect(await treeHashes(r4)).toEqual(want);
    const missing = await restorePath('no/such/file', path.join(w, 'restore-none'));
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/--path no\/such\/file: no such file or folder/);

    // --- a queue message delivered twice has one effect -----------------------------------------------------
    const backups = async () => (await env.api('GET', '/jobs?operation=Backup')).body.value.length as number;
    const points = async () =>
      (await env.api('GET', '/protectedItems/files/recoveryPoints')).body.value.length as number;
    const [b0, p0] = [await backups(), await points()];
    const eventRows = await claimRows();
    const grant = await env.api('POST', '/servers/fileserver1/dataAccess', {});
    const queue = new QueueClient(grant.body.events.queueUrl);
    const lastPoint = (
      await env.api('GET', '/protectedItems/files/recoveryPoints')
    ).body.value[1].properties.manifestRef.slice(7);
    const serverId = grant.body.serverId as string;
    const replay = {
      v: 1,
      id: `backup:${serverId}:${lastPoint}`,
      kind: 'backupCompleted',
      subscriptionId: env.sub,
      vaultName: env.vault,
      serverName: 'fileserver1',
      sentTime: new Date().toISOString(),
      data: {
        itemName: 'files',
        pointId: lastPoint,
        pointTime: new Date(Number(lastPoint.slice(0, 13))).toISOString(),
        sourceKind: 'directoryTree',
        bytesRead: 1,
        bytesUploaded: 1,
      },
    };
    const msg = Buffer.from(JSON.stringify(replay)).toString('base64');
    await Promise.all([queue.sendMessage(msg), queue.sendMessage(msg)]);
    const admin = QueueServiceClient.fromConnectionString(env.azurite.connectionString).getQueueClient(
      'strongbox-helper-events',
    );
    await waitFor('the queue to drain', async () =>
      (await admin.getProperties()).approximateMessagesCount === 0 ? true : undefined,
    );
    await new Promise((r) => setTimeout(r, 2000));
    expect([await backups(), await points()]).toEqual([b0, p0]);
    expect((await claimRows()).filter((r) => r === eventKeyOf(replay.id))).toHaveLength(1);
    expect(eventRows.length).toBeGreaterThan(0);

    // --- key hygiene ------------------------------------------------------------------------------------------
    await keyHygiene(staging);
  },
  FULL ? 3_600_000 : 900_000,
);

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) {
      if (!e.name.startsWith('.')) out.push(...(await listFiles(p)));
    } else if (!e.name.startsWith('.')) out.push(p);
  }
  return out;
}

async function completeEntries(drives: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const d of drives) {
    const j = await readJournal(d).catch(() => undefined);
    for (const f of j?.files ?? []) if (f.state === 'complete') out.set(f.path, f.encryptedSha256 ?? '');
  }
  return out;
}

async function serverContainer() {
  const grant = await env.api('POST', '/servers/fileserver1/dataAccess', {});
  return BlobServiceClient.fromConnectionString(env.azurite.connectionString).getContainerClient(
    grant.body.container as string,
  );
}

async function claimRows(): Promise<string[]> {
  const t = TableClient.fromConnectionString(env.azurite.connectionString, 'StrongboxOffline', {
    allowInsecureConnection: true,
  });
  const out: string[] = [];
  for await (const e of t.listEntities({ queryOptions: { filter: "PartitionKey eq '~events'" } }))
    out.push(e.rowKey ?? '');
  return out;
}

function assertNoDuplicateBlocks(snap: Awaited<ReturnType<typeof readVaultSnapshot>>): void {
  // Each block id lives in exactly one pack (index entries naming the same id and pack are one copy).
  const where = new Map<string, Set<string>>();
  const indexes = snap.indexes;
  for (const ix of indexes) {
    for (const e of ix.entries) {
      const s = where.get(e.blockId) ?? new Set<string>();
      s.add(e.packId);
      where.set(e.blockId, s);
    }
  }
  const dup = [...where.entries()].filter(([, s]) => s.size > 1);
  expect(dup).toEqual([]);
  expect(where.size).toBeGreaterThan(0);
}

/** No passphrase, drive key or vault key in durable history, tables, queues, the host's or helper's logs. */
async function keyHygiene(staging: string): Promise<void> {
  const stateDir = path.join(env.work, 'helper-state');
  const needles: Buffer[] = [Buffer.from(PASSPHRASE)];
  // Drive keys, recovered from the helper's local escrow (the test has the helper's key file).
  const kek = localKeyFileProvider(path.join(stateDir, 'escrow.kek'), { create: false });
  for (const f of await readdir(path.join(stateDir, 'escrow'))) {
    const e = JSON.parse(await readFile(path.join(stateDir, 'escrow', f), 'utf8')) as {
      driveId: string;
      keyId: string;
      local: string;
    };
    needles.push(
      await kek.unwrap({ keyId: e.keyId, wrapped: Buffer.from(e.local, 'base64') }, { vaultId: e.driveId }),
    );
  }
  // The vault's master key, unwrapped with the passphrase from the staged copy.
  const st = new LocalDirBlobStore(staging);
  const config = JSON.parse(Buffer.from((await st.get('config')).data).toString('utf8')) as {
    vaultId: string;
    key: { id: string };
  };
  needles.push(
    await passphraseKeyProvider(PASSPHRASE).unwrap(
      { keyId: config.key.id, wrapped: (await st.get(`keys/${config.key.id}`)).data },
      { vaultId: config.vaultId },
    ),
  );
  const escrowPem = await readFile(path.join(env.authDir, 'offline-escrow-key.json'), 'utf8');
  const privatePem = (JSON.parse(escrowPem) as { privateKeyPem: string }).privateKeyPem;
  const forms = needles.flatMap((k) =>
    k.length === 32
      ? [
          k,
          Buffer.from(k.toString('hex')),
          Buffer.from(k.toString('base64')),
          Buffer.from(k.toString('base64url')),
        ]
      : [k],
  );
  forms.push(Buffer.from(privatePem.split('\n')[1] ?? 'x'));
  const haystacks: [string, Buffer][] = [];
  const conn = env.azurite.connectionString;
  const { TableServiceClient } = await import('@azure/data-tables');
  const tables = TableServiceClient.fromConnectionString(conn, { allowInsecureConnection: true });
  for await (const t of tables.listTables()) {
    const tc = TableClient.fromConnectionString(conn, t.name ?? '', { allowInsecureConnection: true });
    const rows: string[] = [];
    for await (const e of tc.listEntities()) rows.push(JSON.stringify(e));
    haystacks.push([`table ${t.name}`, Buffer.from(rows.join('\n'))]);
  }
  const queues = QueueServiceClient.fromConnectionString(conn);
  for await (const q of queues.listQueues()) {
    const peek = await queues.getQueueClient(q.name).peekMessages({ numberOfMessages: 32 });
    haystacks.push([
      `queue ${q.name}`,
      Buffer.from(peek.peekedMessageItems.map((m) => m.messageText).join('\n')),
    ]);
    haystacks.push([
      `queue ${q.name} (decoded)`,
      Buffer.from(
        peek.peekedMessageItems.map((m) => Buffer.from(m.messageText, 'base64').toString('utf8')).join('\n'),
      ),
    ]);
  }
  const blobs = BlobServiceClient.fromConnectionString(conn);
  for await (const c of blobs.listContainers()) {
    if (!/largemessages|webjobs/.test(c.name)) continue;
    for await (const b of blobs.getContainerClient(c.name).listBlobsFlat()) {
      haystacks.push([
        `blob ${c.name}/${b.name}`,
        await blobs.getContainerClient(c.name).getBlobClient(b.name).downloadToBuffer(),
      ]);
    }
  }
  haystacks.push(['host logs', Buffer.from(hostLogsOf(env))]);
  haystacks.push(['helper output', Buffer.from(env.outputs.join('\n'))]);
  for (const f of await listFiles(stateDir)) haystacks.push([`helper state ${f}`, await readFile(f)]);
  expect(haystacks.length).toBeGreaterThan(5);
  const found: string[] = [];
  for (const [where, hay] of haystacks) {
    for (const n of forms)
      if (hay.includes(n))
        found.push(`${where}: ${createHash('sha256').update(n).digest('hex').slice(0, 8)}`);
    // A SAS signature in a log would be a credential leak too.
    if (where.includes('logs') || where.includes('output'))
      expect(/[?&]sig=/.test(hay.toString('utf8'))).toBe(false);
  }
  expect(found).toEqual([]);
}
