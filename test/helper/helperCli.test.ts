// The helper CLI's contract without a service: every command has --help, and bad input exits non-zero
// with a message naming the field and the rule (2 for bad usage, 1 for a failure).
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { HELPER_BIN, REPO_ROOT } from './offlineEnv';

let work: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'sbx-cli-'));
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

function helper(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [HELPER_BIN, '--state-dir', path.join(work, 'state'), ...args],
      { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', HOME: work, ...env }, timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

const COMMANDS = [
  'credentials',
  'register',
  'protect',
  'backup',
  'restore',
  'diskprep',
  'status',
  'datacenter',
  'datacenter deliver',
];

test.each(COMMANDS)('%s --help', async (cmd) => {
  const r = await helper([...cmd.split(' '), '--help']);
  expect(r.code).toBe(0);
  expect(r.stdout).toMatch(/^Usage: strongbox-helper /m);
});

test('bad input names the field and the rule', async () => {
  const creds = {
    format: 'strongbox-vault-credentials',
    version: 1,
    subscriptionId: 's',
    vaultName: 'v',
    vaultId: '0'.repeat(32),
    registrationId: 'a'.repeat(32),
    registrationSecret: 'A'.repeat(43),
    issuedTime: '2020-01-01T00:00:00Z',
    expiresTime: '2020-01-11T00:00:00Z',
    escrowKey: { kid: 'k', publicKeyPem: 'x' },
  };
  const expired = path.join(work, 'expired.json');
  await writeFile(expired, JSON.stringify(creds));
  const weak = path.join(work, 'weak');
  await writeFile(weak, 'fifteen chars!!');
  const good = path.join(work, 'good');
  await writeFile(good, 'sixteen chars!!!');

  let r = await helper(['register', '--credentials', expired, '--passphrase-file', good]);
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(
    /OFFLINE\.CREDENTIALS_INVALID: vault credentials: expiresTime passed \(2020-01-11T00:00:00Z\): the file is valid for 10 days/,
  );

  const fresh = path.join(work, 'fresh.json');
  await writeFile(
    fresh,
    JSON.stringify({ ...creds, expiresTime: new Date(Date.now() + 86_400_000).toISOString() }),
  );
  r = await helper(['register', '--credentials', fresh, '--passphrase-file', weak]);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/passphrase: must be at least 16 characters/);

  r = await helper(['register', '--credentials', fresh, '--passphrase-file', good]);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/no API token: pass --token-file <file> or set STRONGBOX_TOKEN/);

  await writeFile(path.join(work, 'bad.json'), JSON.stringify({ ...creds, version: 2 }));
  r = await helper(['register', '--credentials', path.join(work, 'bad.json')]);
  expect(r.stderr).toMatch(/vault credentials: version 2 is not supported/);

  r = await helper(['protect', work, '--item', 'x', '--policy', 'p']);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/this machine is not registered/);

  r = await helper(['diskprep', 'x:']);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/unknown target x:/);

  r = await helper(['diskprep', 's:/tmp', '--capacity-bytes', '-5']);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/--capacity-bytes.*must be a positive integer/);

  r = await helper([
    'datacenter',
    'deliver',
    '--job',
    'j',
    '--drive',
    work,
    '--at',
    'soon',
    '--connection',
    'UseDevelopmentStorage=true',
  ]);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/--at soon: must be an ISO-8601 time/);
});
