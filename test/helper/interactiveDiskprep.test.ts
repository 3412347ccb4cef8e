/* eslint-disable @typescript-eslint/no-unsafe-member-access -- API answers are read as loose JSON (offlineEnv.ts Loose) and checked with expect() */
// The interactive diskprep flow as documented (docs/offline-seeding.md), driven through a real terminal:
// jest has no TTY, so test/helper/ptyDrive.py runs the helper in a pseudo-terminal (python3's pty
// module; no native npm module) and answers the questions: the drive to prepare, "format it?", the
// next drive when the first is full, "enter the shipping details now?", carrier, tracking number,
// return address, and "yes" after the review.
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { readJournal } from '../../shared/offline/driveFormat';
import { HELPER_BIN, REPO_ROOT, content, prng, startOfflineEnv, type OfflineEnv } from './offlineEnv';

let env: OfflineEnv;
const PASSPHRASE = 'interactive diskprep passphrase';

beforeAll(async () => {
  env = await startOfflineEnv({ sub: 'sub-pty', vault: 'vp' });
}, 120_000);

afterAll(async () => {
  await env?.stop();
});

test('diskprep through a terminal: asks for drives, confirms formatting, asks for the next drive, ships', async () => {
  const w = env.work;
  const rnd = prng(7);
  const tree = path.join(w, 'tree');
  for (let i = 0; i < 60; i++) {
    await mkdir(path.join(tree, `d${i % 3}`), { recursive: true });
    await writeFile(path.join(tree, `d${i % 3}`, `f${i}`), content(20_000 + i * 500, rnd));
  }
  const image = path.join(w, 'disk.img');
  await writeFile(image, content(3 * 1024 * 1024, rnd));
  const passFile = path.join(w, 'pass');
  await writeFile(passFile, PASSPHRASE, { mode: 0o600 });
  const staging = path.join(w, 'staging');
  const creds = path.join(w, 'creds.json');
  const ok = async (args: string[]) => {
    const r = await env.helper(args);
    if (r.code !== 0) throw new Error(`${args[0]} exited ${r.code}: ${r.stderr}`);
  };
  await ok(['credentials', '--subscription', env.sub, '--vault', env.vault, '--out', creds]);
  await ok(['register', '--credentials', creds, '--server-name', 'pty-host', '--passphrase-file', passFile]);
  const offline = ['--policy', 'Daily0200', '--offline', '--staging', staging, '--import-job', 'pty-job'];
  await ok(['protect', tree, '--item', 'tree', ...offline]);
  await ok(['protect', image, '--disk-image', '--item', 'img', ...offline]);
  await ok(['backup', '--passphrase-file', passFile]);

  const d0 = path.join(w, 'usb0');
  const d1 = path.join(w, 'usb1');
  await mkdir(d0, { recursive: true });
  await mkdir(d1, { recursive: true });
  await writeFile(path.join(d0, 'holiday.jpg'), 'old photos'); // a used drive: formatting must be confirmed
  const script = {
    timeout: 120,
    steps: [
      { expect: 'Path of drive 0', send: `${d0}\r` },
      { expect: 'is not empty .*Format it', send: 'y\r' },
      { expect: 'The previous drive is full\\. Path of drive 1', send: `${d1}\r` },
      { expect: 'Enter the shipping details now\\?', send: 'y\r' },
      { expect: 'Carrier', send: 'FedEx\r' },
      { expect: 'Tracking number', send: '7712 3456 7890\r' },
      { expect: 'Return address', send: '10 Server Room Rd\r' },
      { expect: 'Type yes to commit', send: 'yes\r' },
    ],
  };
  const scriptFile = path.join(w, 'pty-script.json');
  await writeFile(scriptFile, JSON.stringify(script));
  // Capacity: about half of the staged data, so the copy spans two drives.
  const run = await new Promise<{ code: number; out: string; err: string }>((resolve) => {
    execFile(
      'python3',
      [
        path.join(__dirname, 'ptyDrive.py'),
        scriptFile,
        '--',
        process.execPath,
        HELPER_BIN,
        'diskprep',
        `s:${staging}`,
        '--capacity-bytes',
        String(4 * 1024 * 1024),
      ],
      {
        cwd: REPO_ROOT,
        timeout: 180_000,
        env: {
          PATH: process.env.PATH ?? '',
          HOME: w,
          TERM: 'xterm',
          STRONGBOX_HELPER_HOME: path.join(w, 'helper-state'),
          STRONGBOX_TOKEN: env.tokens.operator ?? '',
          STRONGBOX_SERVICE_URL: env.host.baseUrl,
        },
      },
      (err, out, errOut) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out, err: errOut }),
    );
  });
  env.outputs.push(run.out);
  if (run.code !== 0) throw new Error(`pty run exited ${run.code}\n${run.out}\n${run.err}`);
  expect(run.out).toMatch(/drive 0: .*usb0 \(new;/);
  expect(run.out).toMatch(/drive 1: .*usb1 \(new;/);
  expect(run.out).toMatch(/ship the drives to: Strongbox Emulated Datacenter/);
  expect(run.out).toMatch(/Review:[\s\S]*tracking number 7712 3456 7890/);
  expect(run.out).toMatch(/shipping details saved to /);
  expect(run.out).toMatch(/import job pty-job: Shipping \(offline backup InTransit\)/);
  // Progress with bytes, rate and ETA was shown on the terminal.
  expect(run.out).toMatch(/diskprep .*\d+% \| .*\/s \| ETA/);
  // The erased drive holds only the job's data now, and both journals are sealed.
  for (const d of [d0, d1]) expect((await readJournal(d))?.sealed).toBe(true);
  const job = await env.api('GET', '/importJobs/pty-job');
  expect(job.body.properties.drives).toHaveLength(2);
  expect(job.body.properties.shipping).toEqual({ carrier: 'FedEx', trackingNumber: '771234567890' });
}, 300_000);
