// The helper CLI as an admin runs it (`node bin/strongbox-helper.js …`), non-interactive with flags.
// The interactive flow (@inquirer/prompts needs a TTY) is checked by hand: docs/offline-seeding.md.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startAzurite, type AzuriteInstance } from '../../host/src/azurite/azuriteProcess';

const ROOT = path.join(__dirname, '..', '..');
const PASSPHRASE = 'correct horse battery staple 42';
let azurite: AzuriteInstance;
let work: string;

beforeAll(async () => {
  azurite = await startAzurite();
  work = await mkdtemp(path.join(tmpdir(), 'sbx-helper-'));
});

afterAll(async () => {
  await azurite?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function helper(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'bin', 'strongbox-helper.js'), '--state-dir', path.join(work, 'state'), ...args],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH, AzureWebJobsStorage: azurite.connectionString },
        timeout: 60_000,
      },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
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

test('backup --offline, diskprep over two drives, shipping details; errors exit non-zero', async () => {
  const source = path.join(work, 'source');
  for (let i = 0; i < 40; i += 1) {
    await mkdir(path.join(source, `d${i % 4}`), { recursive: true });
    await writeFile(path.join(source, `d${i % 4}`, `f${i}`), randomBytes(20_000 + i));
  }
  const passFile = path.join(work, 'pass.txt');
  await writeFile(passFile, `${PASSPHRASE}\n`, { mode: 0o600 });
  const staging = path.join(work, 'staging');

  const weak = path.join(work, 'weak.txt');
  await writeFile(weak, 'short');
  const refused = await helper([
    'backup',
    source,
    '--offline',
    '--staging',
    staging,
    '--passphrase-file',
    weak,
  ]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain('KEY.WEAK_PASSPHRASE');

  const b = await helper([
    'backup',
    source,
    '--offline',
    '--staging',
    staging,
    '--passphrase-file',
    passFile,
  ]);
  expect(b).toMatchObject({ code: 0 });
  expect(b.stdout).toMatch(/created vault and backed up/);
  // A second point of other data: a second pack, so the staging spans two drives at this cap.
  const source2 = path.join(work, 'source2');
  await mkdir(source2);
  await writeFile(path.join(source2, 'g'), randomBytes(600_000));
  const b2 = await helper([
    'backup',
    source2,
    '--offline',
    '--staging',
    staging,
    '--passphrase-file',
    passFile,
  ]);
  expect(b2).toMatchObject({ code: 0 });

  const d0 = path.join(work, 'drive0');
  const d1 = path.join(work, 'drive1');
  await mkdir(d0);
  await mkdir(d1);
  // One drive is not enough at this cap: clear error, non-zero exit, and the run resumes later.
  const short = await helper([
    'diskprep',
    `s:${staging}`,
    '--drive',
    d0,
    '--capacity-bytes',
    '1000000',
    '--job',
    'cli-seed',
  ]);
  expect(short.code).toBe(1);
  expect(short.stderr).toContain('OFFLINE.NO_DRIVE');

  const prep = await helper([
    'diskprep',
    `s:${staging}`,
    '--drive',
    d0,
    '--drive',
    d1,
    '--capacity-bytes',
    '1000000',
    '--job',
    'cli-seed',
  ]);
  expect(prep.stderr).toBe('');
  expect(prep.code).toBe(0);
  expect(prep.stdout).toMatch(/drive 0: .*resuming/);
  expect(prep.stdout).toMatch(/drive 1: .*new/);
  expect(prep.stdout).toMatch(/import job cli-seed: Creating/);

  const noYes = await helper([
    'diskprep',
    'u:',
    '--carrier',
    'DHL',
    '--tracking-number',
    'CLI-123',
    '--return-address',
    '1 Main St',
  ]);
  expect(noYes.code).toBe(1);
  expect(noYes.stderr).toContain('not committed');

  const ship = await helper([
    'diskprep',
    'u:',
    `s:${staging}`,
    '--carrier',
    'DHL',
    '--tracking-number',
    'CLI-123',
    '--return-address',
    '1 Main St',
    '--yes',
  ]);
  expect(ship.code).toBe(0);
  expect(ship.stdout).toContain('Review:');
  expect(ship.stdout).toMatch(/import job cli-seed: Shipping/);
  const saved = /shipping details saved to (.+)/.exec(ship.stdout)?.[1];
  expect(saved).toBeDefined();
  expect(JSON.parse(await readFile(saved ?? '', 'utf8'))).toMatchObject({
    shipping: { carrier: 'DHL', trackingNumber: 'CLI-123' },
  });

  const bad = await helper(['diskprep', 'x:']);
  expect(bad.code).toBe(2);

  // Key hygiene: the passphrase appears in no output and in no file on the drives or in the state dir.
  const outputs = [refused, b, b2, short, prep, noYes, ship, bad].map((r) => r.stdout + r.stderr).join('\n');
  expect(outputs).not.toContain(PASSPHRASE);
  for (const f of [...(await walk(d0)), ...(await walk(d1)), ...(await walk(path.join(work, 'state')))]) {
    expect((await readFile(f)).includes(Buffer.from(PASSPHRASE))).toBe(false);
  }
});
