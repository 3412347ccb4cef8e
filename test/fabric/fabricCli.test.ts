// The fabric CLI through a child process, as a developer runs it (`node scripts/fabric.js …`).
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { startAzurite, type AzuriteInstance } from '../../host/src/azurite/azuriteProcess';

const ROOT = path.join(__dirname, '..', '..');
let azurite: AzuriteInstance;

beforeAll(async () => {
  azurite = await startAzurite();
});

afterAll(async () => {
  await azurite?.stop();
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function fabric(
  args: string[],
  env: Record<string, string | undefined> = { AzureWebJobsStorage: azurite.connectionString },
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'scripts', 'fabric.js'), ...args],
      { cwd: ROOT, env: { PATH: process.env.PATH, ...env }, timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

test('round trip: create, list, write, stop, agent, start, delete', async () => {
  const created = await fabric([
    'create-vm',
    '--name',
    'cli1',
    '--disk-mb',
    '2',
    '--data-disks',
    '1',
    '--seed',
    '3',
    '--agent',
    'old',
  ]);
  expect(created).toMatchObject({ code: 0 });
  expect(created.stdout).toMatch(/created cli1 \(2 disks of 2097152 bytes\)/);

  const listed = await fabric(['list', '--json']);
  expect(listed.code).toBe(0);
  const vms = JSON.parse(listed.stdout) as Array<{
    name: string;
    powerState: string;
    agent: { version?: string };
  }>;
  expect(vms).toEqual([
    expect.objectContaining({
      name: 'cli1',
      powerState: 'running',
      agent: { status: 'ready', version: '2.2.10' },
    }),
  ]);

  const wrote = await fabric([
    'write',
    '--vm',
    'cli1',
    '--disk',
    '1',
    '--percent',
    '10',
    '--block-kb',
    '64',
    '--seed',
    '5',
  ]);
  expect(wrote).toMatchObject({ code: 0 });
  // 10 % of 2 MiB in 64 KiB blocks: round(3.2) = 3 blocks.
  expect(wrote.stdout).toMatch(/wrote 196608 bytes in 3 blocks to cli1 disk 1/);

  expect((await fabric(['stop', '--vm', 'cli1', '--deallocate'])).stdout).toMatch(/cli1: deallocated/);
  const stoppedWrite = await fabric(['write', '--vm', 'cli1', '--percent', '1']);
  expect(stoppedWrite.code).toBe(1);
  expect(stoppedWrite.stderr).toMatch(/INVENTORY.VM_NOT_RUNNING/);
  expect((await fabric(['start', '--vm', 'cli1'])).stdout).toMatch(/cli1: running/);
  expect((await fabric(['agent', '--vm', 'cli1', '--state', 'missing'])).stdout).toMatch(/agent missing/);
  expect((await fabric(['list'])).stdout).toMatch(
    /cli1\trunning\tlinux\tmissing\tno\tos:2097152,data:2097152/,
  );

  expect(await fabric(['delete', '--vm', 'cli1'])).toMatchObject({ code: 0 });
  const gone = await fabric(['delete', '--vm', 'cli1']);
  expect(gone.code).toBe(1);
  expect(gone.stderr).toMatch(/INVENTORY.VM_NOT_FOUND/);
});

test.each([
  [['create-vm', '--name', 'x', '--disk-gb', 'big']],
  [['create-vm']],
  [['create-vm', '--name', 'Bad_Name', '--disk-mb', '1']],
  [['create-vm', '--name', 'x', '--running', '--stopped']],
  [['agent', '--vm', 'x', '--state', 'sleepy']],
  [['write', '--vm', 'x', '--percent', '101']],
  [['no-such-command']],
])('bad input %j exits 2 with a message', async (args) => {
  const run = await fabric(args);
  expect(run.code).toBe(2);
  expect(run.stderr.trim()).not.toBe('');
});

test('no connection string: exit 2 and say what to set', async () => {
  const run = await fabric(['list'], {});
  expect(run.code).toBe(2);
  expect(run.stderr).toMatch(/AzureWebJobsStorage/);
});
