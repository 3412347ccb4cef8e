// The control-plane API over HTTP on the local host and Azurite: every endpoint's success path, the main
// refusals, the role x endpoint matrix, token attacks, and a malformed-input sweep that proves a rejected
// request changes nothing. Run `npx tsc -p tsconfig.json` first: the host runs the compiled app.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SignJWT, UnsecuredJWT, generateKeyPair } from 'jose';
import { startAzurite, type AzuriteInstance } from '../../host/src/azurite/azuriteProcess';
import { API_OPERATIONS, CONTROL_PLANE_OPERATIONS } from '../../functions/api/apiRoutes';
import {
  loadOrCreateLocalSigningKey,
  mintLocalToken,
  type LocalSigningKey,
} from '../../shared/auth/localSigningKey';
import { authorize, ROLES, type Role } from '../../shared/auth/roles';
import { LOCAL_AUTH_AUDIENCE, LOCAL_AUTH_ISSUER, loadConfig } from '../../shared/config/config';
import { createControlPlane, type ControlPlane } from '../../shared/controlPlane/controlPlane';
import { cryptoIds, systemClock } from '../../shared/controlPlane/controlPlanePorts';
import { CONTROL_PLANE_TABLE, rowKeys } from '../../shared/controlPlane/names';
import { MAX_JSON_BODY_BYTES } from '../../shared/controlPlane/requestValidation';
import { MAX_VAULTS_PER_SUBSCRIPTION, type VaultDoc } from '../../shared/controlPlane/vaultService';
import { azureTableStateStore } from '../../shared/state/azureTableStateStore';
import type { StateStore } from '../../shared/state/stateStore';
import { startHostProcess, type HostProcess } from '../support/hostProcess';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const SUB = 'sub-a';
const OTHER_SUB = 'sub-b';

let azurite: AzuriteInstance | undefined;
let host: HostProcess | undefined;
let authDir = '';
let key: LocalSigningKey;
let store: StateStore;
let cp: ControlPlane;
const tokens: Record<string, string> = {};
let rpId = '';
let jobId = '';

interface Call {
  readonly status: number;
  readonly body: { error?: { code: string; message: string; target?: string }; [k: string]: unknown };
  readonly headers: Headers;
}

async function call(
  method: string,
  urlPath: string,
  options: { token?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> } = {},
): Promise<Call> {
  if (!host) throw new Error('host did not start');
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token === undefined ? tokens.owner : options.token;
  if (token !== null && token !== undefined) headers.authorization = `Bearer ${token}`;
  let body: string | undefined = options.raw;
  if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(`${host.baseUrl}/api${urlPath}`, {
    method,
    headers,
    ...(body !== undefined ? { body } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Call['body']) : {}, headers: res.headers };
}

const mint = (principalId: string, over: Partial<Parameters<typeof mintLocalToken>[1]> = {}) =>
  mintLocalToken(key, { principalId, issuer: LOCAL_AUTH_ISSUER, audience: LOCAL_AUTH_AUDIENCE, ...over });

/** Every row of a subscription's partition with its ETag: "nothing changed" means this is identical. */
async function snapshot(sub: string): Promise<string[]> {
  const rows: string[] = [];
  let token: string | undefined;
  do {
    const page = await store.query(
      CONTROL_PLANE_TABLE,
      rowKeys.partition(sub),
      token ? { continuationToken: token } : {},
    );
    rows.push(...page.items.map((e) => `${e.rowKey} ${e.etag}`));
    token = page.continuationToken;
  } while (token);
  return rows;
}

const validPolicy = {
  properties: {
    schedule: { frequency: 'daily', timeZone: 'UTC', times: ['02:00'] },
    instantRestoreDays: 2,
    retention: { daily: { days: 14 } },
  },
};

beforeAll(async () => {
  azurite = await startAzurite();
  authDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-auth-'));
  key = await loadOrCreateLocalSigningKey(authDir);
  host = await startHostProcess({
    appDir: REPO_ROOT,
    connectionString: azurite.connectionString,
    env: {
      STRONGBOX_LOCAL_AUTH_DIR: authDir,
      STRONGBOX_AUTH_JWKS_URI: '',
      STRONGBOX_AUTH_ISSUER: '',
      STRONGBOX_AUTH_AUDIENCE: '',
    },
  });
  store = azureTableStateStore(loadConfig({ AzureWebJobsStorage: azurite.connectionString }).storage);
  cp = createControlPlane({ store, clock: systemClock, ids: cryptoIds });
  const now = new Date();
  const grants: [string, Role, string][] = [
    ['reader', 'Backup Reader', `/subscriptions/${SUB}`],
    ['operator', 'Backup Operator', `/subscriptions/${SUB}`],
    ['contributor', 'Backup Contributor', `/subscriptions/${SUB}`],
    ['owner', 'Owner', `/subscriptions/${SUB}`],
    ['vault1reader', 'Backup Reader', `/subscriptions/${SUB}/vaults/v1`],
    ['outsider', 'Owner', `/subscriptions/${OTHER_SUB}`],
    ['owner', 'Owner', '/subscriptions/sub-limit'],
    ['owner', 'Owner', '/subscriptions/sub-sweep'],
  ];
  for (const [principal, role, scope] of grants) {
    const { parseScope } = await import('../../shared/auth/roleAssignments');
    await cp.roleAssignments.assign(principal, role, parseScope(scope), now);
    tokens[principal] ??= await mint(principal);
  }
  tokens.nobody = await mint('nobody');
  // The fixture every read endpoint reads: vault v1 with an item, a recovery point and two jobs.
  await cp.vaults.put(SUB, 'v1', { location: 'westeurope' });
  await cp.items.register(SUB, 'v1', { name: 'vm1', sourceId: '/vms/vm1', friendlyName: 'vm one' });
  await cp.items.apply(SUB, 'v1', 'vm1', { kind: 'configureProtection', policyName: 'DefaultPolicy' });
  const rp = await cp.recoveryPoints.add(SUB, 'v1', 'vm1', {
    recoveryPointTime: now.toISOString(),
    recoveryPointType: 'Full',
    consistency: 'CrashConsistent',
    sizeBytes: 1024,
    manifestRef: 'manifests/1',
  });
  rpId = rp.name;
  const job = await cp.jobs.start(SUB, 'v1', {
    operation: 'Backup',
    itemName: 'vm1',
    durableInstanceId: 'inst-1',
  });
  jobId = job.name;
  await cp.jobs.finish(SUB, 'v1', job.name, { status: 'Completed', bytesTransferred: 1024 });
  await cp.jobs.start(SUB, 'v1', { operation: 'Restore', itemName: 'vm1' });
  await cp.items.apply(SUB, 'v1', 'vm1', { kind: 'backupSucceeded', at: now.toISOString() });
}, 90_000);

afterAll(async () => {
  await host?.stop();
  await azurite?.stop();
  fs.rmSync(authDir, { recursive: true, force: true });
});

describe('routes', () => {
  it('the host serves exactly the registry, and /api/health still works', async () => {
    const listed = [
      ...(host?.logs() ?? '').matchAll(/^\s+([\w-]+): \[(\w+)\] http:\/\/localhost:\d+\/api\/(\S+)$/gm),
    ]
      .map((m) => `${m[2]} ${m[3]}`)
      .filter((r) => r !== 'GET health')
      .sort();
    expect(listed).toEqual(API_OPERATIONS.map((op) => `${op.method} ${op.route}`).sort());
    const health = await call('GET', '/health', { token: null });
    expect(health.status).toBe(200);
  });
});

describe('authentication', () => {
  const urlPath = `/subscriptions/${SUB}/vaults/v1`;
  const expect401 = async (token: string | null, raw?: string) => {
    const res =
      raw !== undefined
        ? await call('GET', urlPath, { token: null, headers: { authorization: raw } })
        : await call('GET', urlPath, { token });
    expect(res.status).toBe(401);
    expect(res.body.error?.code).toBe('AuthenticationFailed');
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(JSON.stringify(res.body)).not.toContain('westeurope');
  };

  it('accepts a valid token', async () => {
    expect((await call('GET', urlPath)).status).toBe(200);
  });

  it('401 without a token or with a malformed header', async () => {
    await expect401(null);
    await expect401(null, 'Basic dXNlcjpwYXNz');
    await expect401(null, 'Bearer not a jwt');
  });

  it('401 for a wrong audience, a wrong issuer, an expired token', async () => {
    await expect401(await mint('owner', { audience: 'api://someone-else' }));
    await expect401(await mint('owner', { issuer: 'https://evil.example' }));
    await expect401(
      await mint('owner', { now: new Date(Date.now() - 2 * 3600_000), expiresInSeconds: 3600 }),
    );
  });

  it('401 for alg none, an unknown key, and HS256 signed with the public key', async () => {
    const claims = { oid: 'owner', sub: 'owner' };
    const none = new UnsecuredJWT(claims)
      .setIssuer(LOCAL_AUTH_ISSUER)
      .setAudience(LOCAL_AUTH_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('1h')
      .encode();
    await expect401(none);
    const stranger = await generateKeyPair('RS256');
    const unknownKey = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: key.kid })
      .setIssuer(LOCAL_AUTH_ISSUER)
      .setAudience(LOCAL_AUTH_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(stranger.privateKey);
    await expect401(unknownKey);
    // The classic key-confusion attack: the public key's bytes used as an HMAC secret.
    const hs = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'HS256', kid: key.kid })
      .setIssuer(LOCAL_AUTH_ISSUER)
      .setAudience(LOCAL_AUTH_AUDIENCE)
      .setIssuedAt()
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(JSON.stringify(key.publicJwk)));
    await expect401(hs);
  });
});

describe('vaults', () => {
  it('PUT creates (201) with DefaultPolicy, GET reads with ETag, PUT updates (200), DELETE removes', async () => {
    const created = await call('PUT', `/subscriptions/${SUB}/vaults/life1`, {
      body: { location: 'westeurope', properties: { storageRedundancy: 'GRS' } },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id: `/subscriptions/${SUB}/vaults/life1`,
      name: 'life1',
      location: 'westeurope',
      properties: {
        storageRedundancy: 'GRS',
        dataResidency: 'primary and secondary region',
        provisioningState: 'Succeeded',
      },
    });
    expect(
      String((created.body.properties as { redundancyDescription: string }).redundancyDescription),
    ).toContain('secondary region');
    expect(created.headers.get('etag')).toBe(created.body.etag);
    const policies = await call('GET', `/subscriptions/${SUB}/vaults/life1/backupPolicies`);
    expect((policies.body.value as { name: string }[]).map((p) => p.name)).toEqual(['DefaultPolicy']);
    const got = await call('GET', `/subscriptions/${SUB}/vaults/life1`);
    expect(got.status).toBe(200);
    const updated = await call('PUT', `/subscriptions/${SUB}/vaults/life1`, {
      body: { location: 'westeurope', properties: { storageRedundancy: 'LRS' } },
      headers: { 'if-match': String(got.body.etag) },
    });
    expect(updated.status).toBe(200);
    expect(updated.body.etag).not.toBe(got.body.etag);
    expect((await call('DELETE', `/subscriptions/${SUB}/vaults/life1`)).status).toBe(200);
    expect((await call('GET', `/subscriptions/${SUB}/vaults/life1`)).body.error?.code).toBe('VaultNotFound');
    expect(
      (await call('GET', `/subscriptions/${SUB}/vaults/life1/backupPolicies/DefaultPolicy`)).status,
    ).toBe(404);
  });

  it('a stale If-Match answers 412 and changes nothing; a location change answers 409', async () => {
    const a = await call('PUT', `/subscriptions/${SUB}/vaults/etag1`, { body: { location: 'westeurope' } });
    await call('PUT', `/subscriptions/${SUB}/vaults/etag1`, {
      body: { location: 'westeurope', properties: { storageRedundancy: 'ZRS' } },
    });
    const before = await snapshot(SUB);
    const stale = await call('PUT', `/subscriptions/${SUB}/vaults/etag1`, {
      body: { location: 'westeurope', properties: { storageRedundancy: 'GRS' } },
      headers: { 'if-match': String(a.body.etag) },
    });
    expect(stale.status).toBe(412);
    expect(stale.body.error?.code).toBe('PreconditionFailed');
    expect(
      (
        await call('DELETE', `/subscriptions/${SUB}/vaults/etag1`, {
          headers: { 'if-match': String(a.body.etag) },
        })
      ).status,
    ).toBe(412);
    const moved = await call('PUT', `/subscriptions/${SUB}/vaults/etag1`, { body: { location: 'eastus' } });
    expect(moved.status).toBe(409);
    expect(moved.body.error).toMatchObject({ code: 'PropertyCannotBeChanged', target: 'location' });
    expect(await snapshot(SUB)).toEqual(before);
  });

  it('concurrent updates of one vault with the same If-Match: exactly one wins, the others get 412', async () => {
    const v = await call('PUT', `/subscriptions/${SUB}/vaults/race1`, { body: { location: 'westeurope' } });
    const results = await Promise.all(
      (['ZRS', 'GRS', 'LRS'] as const).map((r) =>
        call('PUT', `/subscriptions/${SUB}/vaults/race1`, {
          body: { location: 'westeurope', properties: { storageRedundancy: r } },
          headers: { 'if-match': String(v.body.etag) },
        }),
      ),
    );
    expect(results.map((r) => r.status).sort()).toEqual([200, 412, 412]);
  });

  it('refuses to delete a vault with protected items, saying so', async () => {
    const res = await call('DELETE', `/subscriptions/${SUB}/vaults/v1`);
    expect(res.status).toBe(409);
    expect(res.body.error?.code).toBe('VaultHasProtectedItems');
    expect(res.body.error?.message).toMatch(
      /cannot be deleted because it contains 1 protected item\(s\) and recovery points/,
    );
    expect((await call('GET', `/subscriptions/${SUB}/vaults/v1`)).status).toBe(200);
  });

  it('lists with $top and nextLink', async () => {
    const names: string[] = [];
    let next: string | undefined = `/subscriptions/${SUB}/vaults?$top=1`;
    let pages = 0;
    while (next) {
      const res = await call('GET', next);
      expect(res.status).toBe(200);
      names.push(...(res.body.value as { name: string }[]).map((v) => v.name));
      next =
        typeof res.body.nextLink === 'string'
          ? new URL(res.body.nextLink).pathname.replace(/^\/api/, '') + new URL(res.body.nextLink).search
          : undefined;
      pages += 1;
    }
    expect(pages).toBeGreaterThan(1);
    expect(names).toEqual(expect.arrayContaining(['v1', 'race1']));
    expect(new Set(names).size).toBe(names.length);
    expect((await call('GET', `/subscriptions/${SUB}/vaults?$skipToken=garbage`)).status).toBe(400);
    expect((await call('GET', `/subscriptions/${SUB}/vaults?$top=0`)).body.error?.target).toBe('$top');
  });

  it(`refuses vault number ${MAX_VAULTS_PER_SUBSCRIPTION + 1} in a subscription`, async () => {
    // 500 vaults written directly (5 transactions), with the counter, as the service would leave them.
    const pk = rowKeys.partition('sub-limit');
    const now = new Date().toISOString();
    for (let batch = 0; batch < 5; batch++) {
      await store.transact(
        CONTROL_PLANE_TABLE,
        pk,
        Array.from({ length: 100 }, (_, i) => {
          const name = `lim${batch * 100 + i}`;
          const doc: VaultDoc = {
            name,
            subscriptionId: 'sub-limit',
            location: 'westeurope',
            storageRedundancy: 'LRS',
            vaultId: '0'.repeat(32),
            dataKeyRef: 'x',
            createdTime: now,
            updatedTime: now,
            provisioningState: 'Succeeded',
            protectedItemCount: 0,
            policyCount: 0,
          };
          return { kind: 'insert' as const, rowKey: rowKeys.vault(name), value: doc };
        }),
      );
    }
    await store.upsert(CONTROL_PLANE_TABLE, pk, rowKeys.vaultCounter(), {
      count: MAX_VAULTS_PER_SUBSCRIPTION,
    });
    const before = await snapshot('sub-limit');
    const res = await call('PUT', '/subscriptions/sub-limit/vaults/one-too-many', {
      body: { location: 'westeurope' },
    });
    expect(res.status).toBe(409);
    expect(res.body.error?.code).toBe('VaultLimitExceeded');
    expect(res.body.error?.message).toContain('500');
    expect(await snapshot('sub-limit')).toEqual(before);
    // Deleting one makes room for exactly one.
    expect((await call('DELETE', '/subscriptions/sub-limit/vaults/lim0')).status).toBe(200);
    expect(
      (await call('PUT', '/subscriptions/sub-limit/vaults/one-more', { body: { location: 'westeurope' } }))
        .status,
    ).toBe(201);
    expect(
      (
        await call('PUT', '/subscriptions/sub-limit/vaults/one-too-many', {
          body: { location: 'westeurope' },
        })
      ).status,
    ).toBe(409);
  });
});

describe('backup policies', () => {
  const base = `/subscriptions/${SUB}/vaults/v1/backupPolicies`;

  it('PUT 201 / GET / PUT 200 / LIST / DELETE, with the policy validated by shared/policy', async () => {
    const created = await call('PUT', `${base}/Nightly`, { body: validPolicy });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'Nightly',
      properties: { instantRestoreDays: 2, retention: { daily: { days: 14 } } },
    });
    expect((await call('GET', `${base}/nightly`)).status).toBe(200);
    const updated = await call('PUT', `${base}/Nightly`, {
      body: { properties: { ...validPolicy.properties, retention: { daily: { days: 30 } } } },
      headers: { 'if-match': String(created.body.etag) },
    });
    expect(updated.status).toBe(200);
    const list = await call('GET', base);
    expect((list.body.value as { name: string }[]).map((p) => p.name).sort()).toEqual([
      'DefaultPolicy',
      'Nightly',
    ]);
    expect((await call('DELETE', `${base}/Nightly`)).status).toBe(200);
    expect((await call('GET', `${base}/Nightly`)).body.error?.code).toBe('BackupPolicyNotFound');
  });

  it('names the field and the rule of an invalid policy, and changes nothing', async () => {
    const before = await snapshot(SUB);
    const res = await call('PUT', `${base}/Bad`, {
      body: { properties: { ...validPolicy.properties, retention: { daily: { days: 3 } } } },
    });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({
      code: 'InvalidRequestBody',
      target: 'properties.retention.daily.days',
    });
    expect(res.body.error?.message).toMatch(/^properties\.retention\.daily\.days must be .*7/);
    expect(await snapshot(SUB)).toEqual(before);
  });

  it('refuses to delete a policy in use', async () => {
    const res = await call('DELETE', `${base}/DefaultPolicy`);
    expect(res.status).toBe(409);
    expect(res.body.error?.code).toBe('BackupPolicyInUse');
  });
});

describe('read models', () => {
  const v = `/subscriptions/${SUB}/vaults/v1`;

  it('protected items: list and get', async () => {
    const list = await call('GET', `${v}/protectedItems`);
    expect(list.status).toBe(200);
    expect(list.body.value).toEqual([
      expect.objectContaining({
        name: 'vm1',
        properties: expect.objectContaining({
          protectionState: 'Protected',
          policyName: 'DefaultPolicy',
        }) as unknown,
      }),
    ]);
    const item = await call('GET', `${v}/protectedItems/vm1`);
    expect(item.body).toMatchObject({ properties: { recoveryPointCount: 1, protectionStatus: 'Protected' } });
    expect((await call('GET', `${v}/protectedItems/nope`)).body.error?.code).toBe('ProtectedItemNotFound');
  });

  it('recovery points: list and get', async () => {
    const list = await call('GET', `${v}/protectedItems/vm1/recoveryPoints`);
    const points = list.body.value as { name: string; properties: Record<string, unknown> }[];
    expect(points).toHaveLength(1);
    expect(points[0]?.properties).toMatchObject({
      recoveryPointType: 'Full',
      consistency: 'CrashConsistent',
      sizeBytes: 1024,
      manifestRef: 'manifests/1',
    });
    const one = await call('GET', `${v}/protectedItems/vm1/recoveryPoints/${points[0]?.name ?? ''}`);
    expect(one.status).toBe(200);
    expect(
      (await call('GET', `${v}/protectedItems/vm1/recoveryPoints/00000000-0000-0000-0000-000000000000`))
        .status,
    ).toBe(404);
  });

  it('jobs: filter by operation, status, item and time window; page; get one', async () => {
    const all = await call('GET', `${v}/jobs`);
    expect((all.body.value as unknown[]).length).toBe(2);
    const completed = await call('GET', `${v}/jobs?status=Completed`);
    const jobs = completed.body.value as { name: string; properties: Record<string, unknown> }[];
    expect(jobs.map((j) => j.properties.operation)).toEqual(['Backup']);
    expect(jobs[0]?.properties).toMatchObject({
      status: 'Completed',
      bytesTransferred: 1024,
      progressPercent: 100,
      durableInstanceId: 'inst-1',
    });
    expect(typeof jobs[0]?.properties.durationMs).toBe('number');
    expect(
      ((await call('GET', `${v}/jobs?operation=Restore&itemName=vm1`)).body.value as unknown[]).length,
    ).toBe(1);
    expect(
      (
        (await call('GET', `${v}/jobs?startFrom=2000-01-01T00:00:00Z&startTo=2001-01-01T00:00:00Z`)).body
          .value as unknown[]
      ).length,
    ).toBe(0);
    const page1 = await call('GET', `${v}/jobs?$top=1`);
    expect((page1.body.value as unknown[]).length).toBe(1);
    expect(typeof page1.body.nextLink).toBe('string');
    expect((await call('GET', `${v}/jobs/${jobs[0]?.name ?? ''}`)).status).toBe(200);
    const bad = await call('GET', `${v}/jobs?status=Done`);
    expect(bad.status).toBe(400);
    expect(bad.body.error?.target).toBe('status');
  });

  it('dashboard: protected items and the last 24 hours of jobs', async () => {
    const res = await call('GET', `${v}/dashboard`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      protectedItemCount: 1,
      jobsLast24Hours: { completed: 1, failed: 0, inProgress: 1 },
    });
  });
});

describe('isolation: other subscriptions and vaults answer 404', () => {
  it('a principal of another subscription gets 404 on every endpoint, with no data', async () => {
    const paths = concretePaths('iso');
    // The workflow operations (VM, offline seeding) have their own matrices in their own tests.
    for (const op of CONTROL_PLANE_OPERATIONS) {
      const { method, urlPath, body } = paths(op.name);
      const res = await call(method, urlPath, { token: tokens.outsider, body });
      expect({ op: op.name, status: res.status }).toEqual({ op: op.name, status: 404 });
      expect(JSON.stringify(res.body)).not.toMatch(/westeurope|vm1|manifests/);
    }
    const none = await call('GET', `/subscriptions/${SUB}/vaults/does-not-exist`, { token: tokens.outsider });
    const real = await call('GET', `/subscriptions/${SUB}/vaults/v1`, { token: tokens.outsider });
    expect(real.body.error?.code).toBe(none.body.error?.code);
  });

  it('a vault-scoped reader sees its vault only', async () => {
    expect(
      (await call('GET', `/subscriptions/${SUB}/vaults/v1`, { token: tokens.vault1reader })).status,
    ).toBe(200);
    expect(
      (await call('GET', `/subscriptions/${SUB}/vaults/race1`, { token: tokens.vault1reader })).status,
    ).toBe(404);
    const list = await call('GET', `/subscriptions/${SUB}/vaults`, { token: tokens.vault1reader });
    expect((list.body.value as { name: string }[]).map((x) => x.name)).toEqual(['v1']);
    expect((await call('GET', `/subscriptions/${SUB}/vaults`, { token: tokens.nobody })).status).toBe(404);
  });
});

/**
 * A concrete, valid request for each operation. Destructive ones get their own fresh resources (named with
 * `tag`), created through the services before the call.
 */
function concretePaths(tag: string): (name: string) => { method: string; urlPath: string; body?: unknown } {
  const v = `/subscriptions/${SUB}/vaults/v1`;
  return (name) => {
    switch (name) {
      case 'vaults-list':
        return { method: 'GET', urlPath: `/subscriptions/${SUB}/vaults` };
      case 'vaults-get':
        return { method: 'GET', urlPath: v };
      case 'vaults-put':
        return {
          method: 'PUT',
          urlPath: `/subscriptions/${SUB}/vaults/m-${tag}-put`,
          body: { location: 'westeurope' },
        };
      case 'vaults-delete':
        return { method: 'DELETE', urlPath: `/subscriptions/${SUB}/vaults/m-${tag}-del` };
      case 'vaults-dashboard':
        return { method: 'GET', urlPath: `${v}/dashboard` };
      case 'policies-list':
        return { method: 'GET', urlPath: `${v}/backupPolicies` };
      case 'policies-get':
        return { method: 'GET', urlPath: `${v}/backupPolicies/DefaultPolicy` };
      case 'policies-put':
        return { method: 'PUT', urlPath: `${v}/backupPolicies/m-${tag}-put`, body: validPolicy };
      case 'policies-delete':
        return { method: 'DELETE', urlPath: `${v}/backupPolicies/m-${tag}-del` };
      case 'items-list':
        return { method: 'GET', urlPath: `${v}/protectedItems` };
      case 'items-get':
        return { method: 'GET', urlPath: `${v}/protectedItems/vm1` };
      case 'recoveryPoints-list':
        return { method: 'GET', urlPath: `${v}/protectedItems/vm1/recoveryPoints` };
      case 'recoveryPoints-get':
        return { method: 'GET', urlPath: `${v}/protectedItems/vm1/recoveryPoints/${rpId}` };
      case 'jobs-list':
        return { method: 'GET', urlPath: `${v}/jobs` };
      case 'jobs-get':
        return { method: 'GET', urlPath: `${v}/jobs/${jobId}` };
      case 'operationStatus-get':
        return { method: 'GET', urlPath: `${v}/operationStatus/${jobId}` };
      default:
        throw new Error(`no concrete request for ${name}: add one (every operation must be in the matrix)`);
    }
  };
}

describe('role x endpoint matrix', () => {
  const principals: Record<Role, string> = {
    'Backup Reader': 'reader',
    'Backup Operator': 'operator',
    'Backup Contributor': 'contributor',
    Owner: 'owner',
  };

  it.each(ROLES)(
    '%s: every endpoint is called; allowed ones succeed, the rest get 403 (0 unexpected 2xx)',
    async (role) => {
      const tag = principals[role];
      await cp.vaults.put(SUB, `m-${tag}-del`, { location: 'westeurope' });
      await cp.policies.put(SUB, 'v1', `m-${tag}-del`, validPolicy);
      const paths = concretePaths(tag);
      const outcomes: string[] = [];
      const unexpected: string[] = [];
      for (const op of CONTROL_PLANE_OPERATIONS) {
        const { method, urlPath, body } = paths(op.name);
        const res = await call(method, urlPath, { token: tokens[tag], body });
        const allowed = authorize(role, op.action);
        outcomes.push(`${op.name}=${res.status}`);
        if (allowed ? res.status < 200 || res.status > 299 : res.status !== 403)
          unexpected.push(`${op.name}: ${res.status} (${allowed ? 'allowed' : 'denied'})`);
        if (!allowed && res.status === 403)
          expect(JSON.stringify(res.body)).not.toMatch(/westeurope|vm1|manifests/);
      }
      expect(unexpected).toEqual([]);
      expect(outcomes).toHaveLength(CONTROL_PLANE_OPERATIONS.length);
    },
  );
});

describe('malformed input sweep: 400/413 naming the field, nothing changed', () => {
  const v = '/subscriptions/sub-sweep/vaults/sweep1';
  beforeAll(async () => {
    await cp.vaults.put('sub-sweep', 'sweep1', { location: 'westeurope' });
  });

  const cases: [
    string,
    string,
    string,
    { body?: unknown; raw?: string; headers?: Record<string, string> },
    number,
    string,
  ][] = [
    ['vault: missing location', 'PUT', v, { body: {} }, 400, 'location'],
    ['vault: location not a string', 'PUT', v, { body: { location: 42 } }, 400, 'location'],
    ['vault: bad region name', 'PUT', v, { body: { location: 'West Europe!' } }, 400, 'location'],
    [
      'vault: unknown top-level field',
      'PUT',
      v,
      { body: { location: 'westeurope', owner: 'me' } },
      400,
      'owner',
    ],
    [
      'vault: mass-assigning provisioningState',
      'PUT',
      v,
      { body: { location: 'westeurope', properties: { provisioningState: 'Deleting' } } },
      400,
      'properties.provisioningState',
    ],
    [
      'vault: bad redundancy',
      'PUT',
      v,
      { body: { location: 'westeurope', properties: { storageRedundancy: 'RAGRS' } } },
      400,
      'properties.storageRedundancy',
    ],
    ['vault: body is an array', 'PUT', v, { body: [1] }, 400, 'body'],
    ['vault: invalid JSON', 'PUT', v, { raw: '{"location":' }, 400, 'body'],
    ['vault: empty body', 'PUT', v, { raw: '' }, 400, 'body'],
    [
      'vault: oversized body',
      'PUT',
      v,
      { raw: JSON.stringify({ location: 'westeurope', pad: 'x'.repeat(MAX_JSON_BODY_BYTES) }) },
      413,
      'body',
    ],
    [
      'vault: name starts with a digit',
      'PUT',
      '/subscriptions/sub-sweep/vaults/1vault',
      { body: { location: 'westeurope' } },
      400,
      'vaultName',
    ],
    [
      'vault: name too long',
      'PUT',
      `/subscriptions/sub-sweep/vaults/v${'x'.repeat(50)}`,
      { body: { location: 'westeurope' } },
      400,
      'vaultName',
    ],
    [
      'vault: name with underscore',
      'PUT',
      '/subscriptions/sub-sweep/vaults/my_vault',
      { body: { location: 'westeurope' } },
      400,
      'vaultName',
    ],
    [
      'vault: bad subscription id',
      'PUT',
      '/subscriptions/-x/vaults/ok1',
      { body: { location: 'westeurope' } },
      400,
      'subscriptionId',
    ],
    ['vault delete: bad name', 'DELETE', '/subscriptions/sub-sweep/vaults/a', {}, 400, 'vaultName'],
    ['policy: missing properties', 'PUT', `${v}/backupPolicies/P1x`, { body: {} }, 400, 'properties'],
    [
      'policy: unknown envelope field',
      'PUT',
      `${v}/backupPolicies/P1x`,
      { body: { ...validPolicy, tags: {} } },
      400,
      'tags',
    ],
    [
      'policy: unknown policy field',
      'PUT',
      `${v}/backupPolicies/P1x`,
      { body: { properties: { ...validPolicy.properties, retentionDays: 5 } } },
      400,
      'properties.retentionDays',
    ],
    [
      'policy: wrong type',
      'PUT',
      `${v}/backupPolicies/P1x`,
      { body: { properties: { ...validPolicy.properties, instantRestoreDays: 'two' } } },
      400,
      'properties.instantRestoreDays',
    ],
    [
      'policy: bad time',
      'PUT',
      `${v}/backupPolicies/P1x`,
      {
        body: {
          properties: {
            ...validPolicy.properties,
            schedule: { frequency: 'daily', timeZone: 'UTC', times: ['25:00'] },
          },
        },
      },
      400,
      'properties.schedule.times.0',
    ],
    [
      'policy: oversized body',
      'PUT',
      `${v}/backupPolicies/P1x`,
      { raw: JSON.stringify({ ...validPolicy, pad: 'x'.repeat(MAX_JSON_BODY_BYTES) }) },
      413,
      'body',
    ],
    ['policy: bad name', 'PUT', `${v}/backupPolicies/p!`, { body: validPolicy }, 400, 'policyName'],
    ['policy delete: bad name', 'DELETE', `${v}/backupPolicies/x`, {}, 400, 'policyName'],
    [
      'vault: wrong content type',
      'PUT',
      v,
      { raw: 'location=westeurope', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      415,
      'Content-Type',
    ],
  ];

  it.each(cases)('%s', async (_name, method, urlPath, input, status, target) => {
    const before = await snapshot('sub-sweep');
    const res = await call(method, urlPath, { token: tokens.owner, ...input });
    expect(res.status).toBe(status);
    expect(res.body.error?.target).toBe(target);
    expect(res.body.error?.message).toContain(target);
    expect(await snapshot('sub-sweep')).toEqual(before);
  });
});
