/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-explicit-any -- API answers are read as loose JSON (offlineEnv.ts Loose) and checked with expect() */
// Offline seeding's API and workflow on the local host, without drives: deadlines on the host's
// controllable clock (tracking on day 13 proceeds; none by day 15 expires; drives 15 days after the
// shipping details expire), two import jobs racing for one tracking number, the vault credentials
// rules, and the role x endpoint matrix of every offline operation.
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import * as path from 'node:path';
import { OFFLINE_OPERATIONS } from '../../functions/offline/offlineRoutes';
import { loadOrCreateLocalSigningKey, mintLocalToken } from '../../shared/auth/localSigningKey';
import { parseScope } from '../../shared/auth/roleAssignments';
import { authorize, ROLES, type Role } from '../../shared/auth/roles';
import { LOCAL_AUTH_AUDIENCE, LOCAL_AUTH_ISSUER } from '../../shared/config/config';
import { wrapDriveKey } from '../../shared/offline/driveKeyWrap';
import { DAY_MS, startOfflineEnv, waitFor, type OfflineEnv } from '../helper/offlineEnv';

let env: OfflineEnv;
let escrowPem = '';
let escrowKid = '';

beforeAll(async () => {
  env = await startOfflineEnv({ sub: 'sub-api', vault: 'va' });
  const creds = await env.api('POST', '/vaultCredentials', {});
  expect(creds.status).toBe(200);
  escrowPem = creds.body.escrowKey.publicKeyPem;
  escrowKid = creds.body.escrowKey.kid;
  const reg = await env.api('POST', '/servers/srv1/register', {
    registrationId: creds.body.registrationId,
    registrationSecret: creds.body.registrationSecret,
  });
  expect(reg.status).toBe(200);
}, 120_000);

afterAll(async () => {
  await env?.stop();
});

/** An item protected by srv1 and an offline backup for it with an import job of one drive. */
async function importJob(name: string, item: string): Promise<void> {
  const p = await env.api('POST', '/servers/srv1/protect', {
    itemName: item,
    source: { kind: 'directoryTree', path: `/data/${item}` },
    policyName: 'Daily0200',
  });
  expect(p.status).toBe(200);
  const ob = await env.api('PUT', `/offlineBackups/${name}`, {
    properties: {
      serverName: 'srv1',
      itemNames: [item],
      stagingLocation: `/staging/${name}`,
      storageAccount: 'devstoreaccount1',
      container: 'seeding',
    },
  });
  expect(ob.status).toBe(202);
  const driveId = randomBytes(16).toString('hex');
  const ij = await env.api('PUT', `/importJobs/${name}`, {
    properties: {
      drives: [
        {
          driveIndex: 0,
          driveId,
          keyId: randomBytes(16).toString('hex'),
          wrappedKey: wrapDriveKey(escrowPem, driveId, randomBytes(32)),
        },
      ],
      escrowKeyId: escrowKid,
      points: [{ itemName: item, pointId: `${Date.now()}-${randomBytes(6).toString('hex')}`, sizeBytes: 1 }],
    },
  });
  expect(ij.status).toBe(200);
  expect(ij.body.properties.state).toBe('Creating');
  // The workflow takes the deadline from its own clock when it notices the import job.
  await waitFor(`${name}'s tracking deadline`, async () => {
    const r = await env.api('GET', `/importJobs/${name}`);
    return r.body.properties.deadlines.trackingNumber ? true : undefined;
  });
}

const shipping = (tracking: string) => ({
  carrier: 'UPS',
  trackingNumber: tracking,
  returnAddress: '2 Side St',
});

async function stateOf(name: string): Promise<Record<string, any>> {
  return (await env.api('GET', `/importJobs/${name}`)).body.properties as Record<string, any>;
}

test('deadlines: tracking on day 13 proceeds, none by day 15 expires, drives 15 days after shipping expire; tracking race', async () => {
  await importJob('dl-a', 'item-a');
  await importJob('dl-b', 'item-b');
  await importJob('dl-c', 'item-c');
  await importJob('race-1', 'item-r1');
  await importJob('race-2', 'item-r2');

  // Two jobs submit one tracking number at the same moment: exactly one wins (a conditional insert).
  const race = await Promise.all([
    env.api('PUT', '/importJobs/race-1/shippingDetails', shipping('1Z RACE 0001')),
    env.api('PUT', '/importJobs/race-2/shippingDetails', shipping('1z race 0001')),
  ]);
  expect(race.map((r) => r.status).sort()).toEqual([200, 409]);
  const lost = race.find((r) => r.status === 409);
  expect(lost?.body.error.code).toBe('TrackingNumberInUse');
  expect(lost?.body.error.message).toMatch(/already used by another import job/);

  // C ships now and its drives never arrive.
  expect((await env.api('PUT', '/importJobs/dl-c/shippingDetails', shipping('C-0001'))).status).toBe(200);
  await waitFor('dl-c drives deadline', async () =>
    (await stateOf('dl-c')).deadlines.drives ? true : undefined,
  );

  // Day 13: A gives its tracking number and proceeds.
  await env.advance(13 * DAY_MS);
  const a = await env.api('PUT', '/importJobs/dl-a/shippingDetails', shipping('A-0013'));
  expect(a.status).toBe(200);
  expect(a.body.properties.offlineBackupState).toBe('InTransit');
  expect(a.body.properties.state).toBe('Shipping');

  // Day 15: B (no tracking number) and C (no drives) expire; A is still in transit.
  await env.advance(2 * DAY_MS);
  const b = await waitFor('dl-b to expire', async () => {
    const s = await stateOf('dl-b');
    return s.offlineBackupState === 'Expired' ? s : undefined;
  });
  expect(b.error.code).toBe('OFFLINE.JOB_EXPIRED');
  expect(b.error.message).toMatch(
    /No tracking number was entered within 14 days of creating import job dl-b/,
  );
  expect(b.deleted.reason).toMatch(/No tracking number/);
  expect(b.nextAction).toMatch(/send the initial backup online/);
  const late = await env.api('PUT', '/importJobs/dl-b/shippingDetails', shipping('B-0015'));
  expect(late.status).toBe(409);
  expect(late.body.error.code).toBe('ImportJobExpired');
  const jobB = (await env.api('GET', '/jobs?operation=OfflineSeeding&itemName=item-b')).body.value[0];
  expect(jobB.properties.status).toBe('Failed');
  expect(jobB.properties.error.code).toBe('OFFLINE.JOB_EXPIRED');
  expect(jobB.properties.statusDetail).toBe('Import job dl-b expired');
  const itemB = await env.api('GET', '/protectedItems/item-b');
  expect(itemB.body.properties.protectionState).toBe('ProtectedInitialBackupPending');

  const c = await waitFor('dl-c to expire', async () => {
    const s = await stateOf('dl-c');
    return s.offlineBackupState === 'Expired' ? s : undefined;
  });
  expect(c.error.message).toMatch(
    /The drives did not reach the datacenter within 14 days of the shipping details/,
  );
  // Delivering the drives now (day 15 after the shipping details) is refused.
  const drive = path.join(env.work, 'late-drive');
  await mkdir(drive, { recursive: true });
  const deliver = await env.helper([
    'datacenter',
    'deliver',
    '--job',
    'dl-c',
    '--drive',
    drive,
    '--at',
    (await env.hostNow()).now,
  ]);
  expect(deliver.code).toBe(1);
  expect(deliver.stderr).toMatch(/OFFLINE\.JOB_DELETED: import job dl-c was deleted/);

  // A helper event over HTTP (the queue's fallback) is applied once however often it is posted.
  const staged = {
    v: 1,
    id: 'staged:test:dl-a:1',
    kind: 'staged',
    subscriptionId: env.sub,
    vaultName: env.vault,
    serverName: 'srv1',
    sentTime: new Date().toISOString(),
    data: {
      importJobName: 'dl-a',
      points: [{ itemName: 'item-a', pointId: '1700000000000-0123456789ab', sizeBytes: 5 }],
      bytes: 5,
      files: 1,
    },
  };
  const e1 = await env.api('POST', '/servers/srv1/events', staged);
  const e2 = await env.api('POST', '/servers/srv1/events', staged);
  expect([e1.status, e1.body.applied, e2.status, e2.body.applied]).toEqual([200, true, 200, false]);
  const wrongServer = await env.api('POST', '/servers/srv1/events', { ...staged, serverName: 'srv9' });
  expect(wrongServer.status).toBe(400);

  const aNow = await stateOf('dl-a');
  expect(aNow.offlineBackupState).toBe('InTransit');
  expect(Date.parse(aNow.deadlines.drives)).toBeGreaterThan(Date.parse((await env.hostNow()).now));
}, 300_000);

test('vault credentials: a wrong secret or another vault is refused; the file carries no key', async () => {
  const creds = await env.api('POST', '/vaultCredentials', {});
  expect(Object.keys(creds.body).sort()).toEqual(
    [
      'escrowKey',
      'expiresTime',
      'format',
      'issuedTime',
      'registrationId',
      'registrationSecret',
      'subscriptionId',
      'vaultId',
      'vaultName',
      'version',
    ].sort(),
  );
  expect(Date.parse(creds.body.expiresTime) - Date.parse(creds.body.issuedTime)).toBe(10 * DAY_MS);
  expect(creds.body.escrowKey.publicKeyPem).not.toMatch(/PRIVATE/);
  const wrong = await env.api('POST', '/servers/srv2/register', {
    registrationId: creds.body.registrationId,
    registrationSecret: randomBytes(32).toString('base64url'),
  });
  expect(wrong.status).toBe(400);
  expect(wrong.body.error).toMatchObject({
    code: 'InvalidVaultCredentials',
    target: 'body.registrationSecret',
  });
  const missing = await env.api('POST', '/servers/srv2/register', { registrationId: 'x' });
  expect(missing.status).toBe(400);
  expect(missing.body.error.code).toBe('InvalidRequestBody');
});

test('a vault deleted and re-created under its name: old credentials and servers are not carried over', async () => {
  const vb = 'vb-recreated';
  const call = async (method: string, urlPath: string, body?: unknown) => {
    const res = await fetch(`${env.host.baseUrl}/api/subscriptions/${env.sub}/vaults/${vb}${urlPath}`, {
      method,
      headers: {
        authorization: `Bearer ${env.tokens.owner ?? ''}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : {} };
  };
  const register = async (server: string, creds: any) =>
    call('POST', `/servers/${server}/register`, {
      registrationId: creds.registrationId,
      registrationSecret: creds.registrationSecret,
    });

  await env.cp.vaults.put(env.sub, vb, { location: 'westeurope' });
  const first = (await call('POST', '/vaultCredentials', {})).body;
  const unused = (await call('POST', '/vaultCredentials', {})).body;
  const old = await register('srv-old', first);
  expect(old.status).toBe(200);

  await env.cp.vaults.delete(env.sub, vb);
  await env.cp.vaults.put(env.sub, vb, { location: 'westeurope' });

  // The old vault's server is not registered in the new one, and its unused credentials don't work.
  const gone = await call('GET', '/servers/srv-old');
  expect(gone.status).toBe(404);
  expect(gone.body.error.code).toBe('ServerNotFound');
  const stale = await register('srv-new', unused);
  expect(stale.status).toBe(400);
  expect(stale.body.error).toMatchObject({
    code: 'InvalidVaultCredentials',
    target: 'body.registrationSecret',
  });

  // Registering the same server name with the new vault's credentials makes a new server: a new id
  // and container, nothing of the old registration's.
  const fresh = (await call('POST', '/vaultCredentials', {})).body;
  expect(fresh.vaultId).not.toBe(first.vaultId);
  const again = await register('srv-old', fresh);
  expect(again.status).toBe(200);
  expect(again.body.properties.serverId).not.toBe(old.body.properties.serverId);
  expect(again.body.properties.container).not.toBe(old.body.properties.container);
  expect((await call('GET', '/servers/srv-old')).status).toBe(200);
}, 120_000);

test('role x endpoint matrix: no unexpected 2xx for any role; another subscription sees 404', async () => {
  const key = await loadOrCreateLocalSigningKey(env.authDir);
  const tokens = new Map<Role | 'outsider', string>();
  for (const role of ROLES) {
    const principal = `m-${role.replace(/\s+/g, '').toLowerCase()}`;
    await env.cp.roleAssignments.assign(principal, role, parseScope(`/subscriptions/${env.sub}`), new Date());
    tokens.set(
      role,
      await mintLocalToken(key, {
        principalId: principal,
        issuer: LOCAL_AUTH_ISSUER,
        audience: LOCAL_AUTH_AUDIENCE,
      }),
    );
  }
  await env.cp.roleAssignments.assign(
    'm-outsider',
    'Owner',
    parseScope('/subscriptions/sub-elsewhere'),
    new Date(),
  );
  tokens.set(
    'outsider',
    await mintLocalToken(key, {
      principalId: 'm-outsider',
      issuer: LOCAL_AUTH_ISSUER,
      audience: LOCAL_AUTH_AUDIENCE,
    }),
  );
  const params: Record<string, string> = {
    subscriptionId: env.sub,
    vaultName: env.vault,
    serverName: 'srv1',
    importJobName: 'dl-a',
  };
  const unexpected: string[] = [];
  let checked = 0;
  for (const op of OFFLINE_OPERATIONS) {
    const url = `/api/${op.route.replace(/\{(\w+)\}/g, (_, n: string) => params[n] ?? n)}`;
    for (const [who, token] of tokens) {
      const res = await fetch(`${env.host.baseUrl}${url}`, {
        method: op.method,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        ...(op.method === 'PUT' || op.method === 'POST' ? { body: '{}' } : {}),
      });
      await res.arrayBuffer();
      checked++;
      if (who === 'outsider') {
        if (res.status !== 404) unexpected.push(`${who} ${op.method} ${op.route}: ${res.status}`);
      } else if (!authorize(who, op.action)) {
        if (res.status !== 403) unexpected.push(`${who} ${op.method} ${op.route}: ${res.status}`);
      } else if (
        res.status >= 200 &&
        res.status < 300 &&
        op.method !== 'GET' &&
        op.name !== 'vaultCredentials-create' &&
        op.name !== 'servers-dataAccess'
      ) {
        // An empty body must never succeed for a write (it is validated before anything changes).
        unexpected.push(`${who} ${op.method} ${op.route}: ${res.status} for an empty body`);
      }
    }
  }
  expect(checked).toBe(OFFLINE_OPERATIONS.length * (ROLES.length + 1));
  expect(unexpected).toEqual([]);
}, 120_000);
