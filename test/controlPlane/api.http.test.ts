// The control-plane API over HTTP on the local host and Azurite: every endpoint's success path, the main
// refusals, the role x endpoint matrix, token attacks, and a malformed-input sweep that proves a rejected
// request changes nothing. Run `npx tsc -p tsconfig.json` first: the host runs the compiled app.
// The host reaches Azurite's table endpoint through tableFaultProxy, so a test can make the host lose an
// ETag race deterministically (another writer changes the row just before the host's conditional write).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SignJWT, UnsecuredJWT, generateKeyPair } from 'jose';
import {
  connectionStringFor,
  startAzurite,
  type AzuriteInstance,
} from '../../host/src/azurite/azuriteProcess';
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
import { CONTROL_PLANE_TABLE, ROLE_ASSIGNMENTS_TABLE, rowKeys } from '../../shared/controlPlane/names';
import { MAX_JSON_BODY_BYTES } from '../../shared/controlPlane/requestValidation';
import {
  MAX_CONFLICT_RETRIES,
  MAX_VAULTS_PER_SUBSCRIPTION,
  type VaultDoc,
} from '../../shared/controlPlane/vaultService';
import { azureTableStateStore } from '../../shared/state/azureTableStateStore';
import type { StateStore } from '../../shared/state/stateStore';
import { startHostProcess, type HostProcess } from '../support/hostProcess';
import { faultyStateStore, InjectedCrash } from './faultyStateStore';
import { isConditionalWrite, startTableFaultProxy, type TableFaultProxy } from './tableFaultProxy';

const REPO_ROOT = path.resolve(__dirname, '..', '..');
const SUB = 'sub-a';
const OTHER_SUB = 'sub-b';

let azurite: AzuriteInstance | undefined;
let host: HostProcess | undefined;
let proxy: TableFaultProxy | undefined;
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

/**
 * Every row of a subscription's partitions (control plane and role assignments) with its ETag: "nothing
 * changed" means this is identical.
 */
async function snapshot(sub: string): Promise<string[]> {
  const rows: string[] = [];
  for (const table of [CONTROL_PLANE_TABLE, ROLE_ASSIGNMENTS_TABLE]) {
    let token: string | undefined;
    do {
      const page = await store.query(
        table,
        rowKeys.partition(sub),
        token ? { continuationToken: token } : {},
      );
      rows.push(...page.items.map((e) => `${table} ${e.rowKey} ${e.etag}`));
      token = page.continuationToken;
    } while (token);
  }
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
  proxy = await startTableFaultProxy(azurite.tablePort);
  host = await startHostProcess({
    appDir: REPO_ROOT,
    connectionString: connectionStringFor(azurite.blobPort, azurite.queuePort, proxy.port),
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
    ['owner', 'Owner', '/subscriptions/sub-ra'],
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
  // Named role assignments the matrix reads, at the subscription and at v1.
  const fixture = { properties: { principalId: 'fixture-principal', role: 'Backup Reader' } };
  await cp.assignments.put({ subscriptionId: SUB }, 'ra-fixture', fixture);
  await cp.assignments.put({ subscriptionId: SUB, vaultName: 'v1' }, 'ra-fixture', fixture);
}, 90_000);

afterAll(async () => {
  await host?.stop();
  await proxy?.close();
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

  /**
   * Makes the host lose its ETag race on `vault|<name>` up to `times` times: just before each of the host's
   * conditional writes of the vault row reaches Azurite, another writer (this test, through the services)
   * creates a policy, which rewrites the vault row (its policyCount) under the vault's ETag.
   */
  function rivalWriter(vault: string, times: number): { rivals: () => number; stop: () => void } {
    let rivals = 0;
    proxy?.intercept(async (req) => {
      if (rivals >= times || !isConditionalWrite(req, CONTROL_PLANE_TABLE, 'sub-a', rowKeys.vault(vault)))
        return;
      rivals += 1;
      await cp.policies.put(SUB, vault, `Rival${rivals}`, validPolicy);
    });
    return { rivals: () => rivals, stop: () => proxy?.intercept(undefined) };
  }

  it('409 on an ETag conflict: a PUT that loses every ETag race answers 409 ConcurrencyConflict, and no update is lost', async () => {
    expect(
      (await call('PUT', `/subscriptions/${SUB}/vaults/clash1`, { body: { location: 'westeurope' } })).status,
    ).toBe(201);
    const rival = rivalWriter('clash1', Infinity);
    let res: Call;
    try {
      res = await call('PUT', `/subscriptions/${SUB}/vaults/clash1`, {
        body: { location: 'westeurope', properties: { storageRedundancy: 'GRS' } },
      });
    } finally {
      rival.stop();
    }
    expect(res.status).toBe(409);
    expect(res.body.error).toMatchObject({ code: 'ConcurrencyConflict' });
    expect(res.body.error?.message).toMatch(/changed by concurrent requests; retry/);
    // Every attempt lost (read, rival writes, conditional write refused): exactly the retry budget.
    expect(rival.rivals()).toBe(MAX_CONFLICT_RETRIES);
    // The winners' updates all stand; the loser's did not half-land.
    const row = await store.get<VaultDoc>(CONTROL_PLANE_TABLE, 'sub-a', rowKeys.vault('clash1'));
    expect(row?.value).toMatchObject({ storageRedundancy: 'LRS', policyCount: 1 + MAX_CONFLICT_RETRIES });
    const policies = await call('GET', `/subscriptions/${SUB}/vaults/clash1/backupPolicies`);
    expect((policies.body.value as unknown[]).length).toBe(1 + MAX_CONFLICT_RETRIES);
    // Once the other writer stops, the same PUT succeeds.
    const retried = await call('PUT', `/subscriptions/${SUB}/vaults/clash1`, {
      body: { location: 'westeurope', properties: { storageRedundancy: 'GRS' } },
    });
    expect(retried.status).toBe(200);
  });

  it("a PUT that loses one ETag race re-reads and applies its change on top: both writers' updates are kept", async () => {
    expect(
      (await call('PUT', `/subscriptions/${SUB}/vaults/clash2`, { body: { location: 'westeurope' } })).status,
    ).toBe(201);
    const rival = rivalWriter('clash2', 1);
    let res: Call;
    try {
      res = await call('PUT', `/subscriptions/${SUB}/vaults/clash2`, {
        body: { location: 'westeurope', properties: { storageRedundancy: 'GRS' } },
      });
    } finally {
      rival.stop();
    }
    expect(rival.rivals()).toBe(1);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ properties: { storageRedundancy: 'GRS' } });
    const row = await store.get<VaultDoc>(CONTROL_PLANE_TABLE, 'sub-a', rowKeys.vault('clash2'));
    expect(row?.value).toMatchObject({ storageRedundancy: 'GRS', policyCount: 2 });
    expect(row?.etag).toBe(res.body.etag);
    const policies = await call('GET', `/subscriptions/${SUB}/vaults/clash2/backupPolicies`);
    expect((policies.body.value as { name: string }[]).map((x) => x.name).sort()).toEqual([
      'DefaultPolicy',
      'Rival1',
    ]);
  });

  it('a PUT with If-Match that loses the ETag race answers 412: the version the client read is gone', async () => {
    const v = await call('PUT', `/subscriptions/${SUB}/vaults/clash3`, { body: { location: 'westeurope' } });
    const rival = rivalWriter('clash3', 1);
    let res: Call;
    try {
      res = await call('PUT', `/subscriptions/${SUB}/vaults/clash3`, {
        body: { location: 'westeurope', properties: { storageRedundancy: 'ZRS' } },
        headers: { 'if-match': String(v.body.etag) },
      });
    } finally {
      rival.stop();
    }
    expect(rival.rivals()).toBe(1);
    expect(res.status).toBe(412);
    expect(res.body.error).toMatchObject({ code: 'PreconditionFailed', target: 'If-Match' });
    const row = await store.get<VaultDoc>(CONTROL_PLANE_TABLE, 'sub-a', rowKeys.vault('clash3'));
    expect(row?.value).toMatchObject({ storageRedundancy: 'LRS', policyCount: 2 });
  });

  it('a vault whose DELETE stopped half-way shows only itself, marked Deleting, until DELETE finishes it', async () => {
    const base = `/subscriptions/${SUB}/vaults/half1`;
    expect((await call('PUT', base, { body: { location: 'westeurope' } })).status).toBe(201);
    expect((await call('PUT', `${base}/backupPolicies/Extra`, { body: validPolicy })).status).toBe(201);
    // The real delete, in-process on the same storage, dies after marking the vault and before the
    // transaction that deletes its policies.
    const faulty = faultyStateStore(store);
    const crashing = createControlPlane({ store: faulty, clock: systemClock, ids: cryptoIds });
    faulty.crashAt(2, 'before');
    await expect(crashing.vaults.delete(SUB, 'half1')).rejects.toBeInstanceOf(InjectedCrash);
    const got = await call('GET', base);
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ properties: { provisioningState: 'Deleting' } });
    const inside: [string, string, unknown?][] = [
      ['GET', `${base}/backupPolicies`],
      ['GET', `${base}/backupPolicies/DefaultPolicy`],
      ['GET', `${base}/backupPolicies/Extra`],
      ['PUT', `${base}/backupPolicies/Extra`, validPolicy],
      ['GET', `${base}/protectedItems`],
      ['GET', `${base}/jobs`],
      ['GET', `${base}/dashboard`],
      ['GET', `${base}/roleAssignments`],
      ['PUT', base, { location: 'westeurope' }],
    ];
    for (const [method, urlPath, body] of inside) {
      const res = await call(method, urlPath, { body });
      expect({ urlPath, method, status: res.status, code: res.body.error?.code }).toEqual({
        urlPath,
        method,
        status: 409,
        code: 'VaultIsBeingDeleted',
      });
      expect(res.body.error?.message).toMatch(/Send DELETE again to finish/);
    }
    expect((await call('DELETE', base)).status).toBe(200);
    expect((await call('GET', base)).body.error?.code).toBe('VaultNotFound');
    const again = await call('PUT', base, { body: { location: 'westeurope' } });
    expect(again.status).toBe(201);
    const policies = await call('GET', `${base}/backupPolicies`);
    expect((policies.body.value as { name: string }[]).map((x) => x.name)).toEqual(['DefaultPolicy']);
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

describe('long-running operations: GET .../operationStatus/{jobId}', () => {
  const v = `/subscriptions/${SUB}/vaults/ops1`;
  const job: Record<string, string> = {};

  beforeAll(async () => {
    // Jobs as the workflows leave them: one running, one completed, one failed with its error, one cancelled.
    await cp.vaults.put(SUB, 'ops1', { location: 'westeurope' });
    const running = await cp.jobs.start(SUB, 'ops1', { operation: 'Backup', itemName: 'vmA' });
    await cp.jobs.progress(SUB, 'ops1', running.name, { progressPercent: 35 });
    const completed = await cp.jobs.start(SUB, 'ops1', { operation: 'Restore', itemName: 'vmA' });
    await cp.jobs.finish(SUB, 'ops1', completed.name, { status: 'Completed' });
    const failed = await cp.jobs.start(SUB, 'ops1', { operation: 'Backup', itemName: 'vmB' });
    await cp.jobs.finish(SUB, 'ops1', failed.name, {
      status: 'Failed',
      error: { code: 'VM.SNAPSHOT_FAILED', message: 'The snapshot of disk 0 failed.' },
    });
    const cancelled = await cp.jobs.start(SUB, 'ops1', { operation: 'Backup', itemName: 'vmC' });
    await cp.jobs.finish(SUB, 'ops1', cancelled.name, { status: 'Cancelled' });
    Object.assign(job, {
      running: running.name,
      completed: completed.name,
      failed: failed.name,
      cancelled: cancelled.name,
    });
  });

  it('maps the job: InProgress, Succeeded, Failed with the job error, Canceled', async () => {
    const get = (id: string | undefined) => call('GET', `${v}/operationStatus/${id ?? ''}`);
    const running = await get(job.running);
    expect(running.status).toBe(200);
    expect(running.body).toEqual({
      id: `/subscriptions/${SUB}/vaults/ops1/operationStatus/${job.running ?? ''}`,
      name: job.running,
      status: 'InProgress',
      startTime: expect.any(String) as unknown,
      percentComplete: 35,
    });
    expect(running.headers.get('cache-control')).toBe('no-store');
    expect((await get(job.completed)).body).toMatchObject({
      status: 'Succeeded',
      percentComplete: 100,
      endTime: expect.any(String) as unknown,
    });
    const failed = await get(job.failed);
    expect(failed.body).toMatchObject({
      status: 'Failed',
      error: { code: 'VM.SNAPSHOT_FAILED', message: 'The snapshot of disk 0 failed.' },
    });
    expect((await get(job.cancelled)).body).toMatchObject({ status: 'Canceled' });
    // Readers may poll too (jobs/read).
    expect(
      (await call('GET', `${v}/operationStatus/${job.failed ?? ''}`, { token: tokens.reader })).status,
    ).toBe(200);
  });

  it('404 for an unknown job, a job of another vault, and a caller from another subscription', async () => {
    const unknown = await call('GET', `${v}/operationStatus/0190a0a0-0000-7000-8000-000000000000`);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error?.code).toBe('JobNotFound');
    // v1's job, asked for under ops1.
    const elsewhere = await call('GET', `${v}/operationStatus/${jobId}`);
    expect(elsewhere.status).toBe(404);
    expect(elsewhere.body.error?.code).toBe('JobNotFound');
    for (const token of [tokens.outsider, tokens.vault1reader, tokens.nobody]) {
      const res = await call('GET', `${v}/operationStatus/${job.failed ?? ''}`, { token });
      expect(res.status).toBe(404);
      expect(JSON.stringify(res.body)).not.toMatch(/SNAPSHOT|vmB/);
    }
    // The same job id under another subscription's path is not found either.
    const otherSub = await call(
      'GET',
      `/subscriptions/${OTHER_SUB}/vaults/ops1/operationStatus/${job.failed ?? ''}`,
      {
        token: tokens.outsider,
      },
    );
    expect(otherSub.status).toBe(404);
  });
});

describe('role assignments', () => {
  const sub = '/subscriptions/sub-ra';
  const ra = (name: string) => `${sub}/roleAssignments/${name}`;
  const grant = (principalId: string, role: Role) => ({ body: { properties: { principalId, role } } });
  beforeAll(async () => {
    await cp.vaults.put('sub-ra', 'rv1', { location: 'westeurope' });
    tokens.newbie = await mint('newbie');
    tokens.vowner = await mint('vowner');
    tokens.vreader = await mint('vreader');
    tokens.owner2 = await mint('owner2');
    tokens.ghost = await mint('ghost');
  });

  it('Owner creates (201), reads, lists and deletes an assignment; it takes effect at once', async () => {
    expect((await call('GET', `${sub}/vaults`, { token: tokens.newbie })).status).toBe(404);
    const created = await call('PUT', ra('ra-1'), grant('newbie', 'Backup Reader'));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id: `${sub}/roleAssignments/ra-1`,
      name: 'ra-1',
      type: 'Strongbox/roleAssignments',
      properties: { principalId: 'newbie', role: 'Backup Reader', scope: sub },
    });
    expect(created.headers.get('etag')).toBe(created.body.etag);
    expect((await call('GET', `${sub}/vaults`, { token: tokens.newbie })).status).toBe(200);
    // A reader cannot write; the same PUT again is a no-op (200).
    expect(
      (await call('PUT', `${sub}/vaults/nope1`, { token: tokens.newbie, body: { location: 'westeurope' } }))
        .status,
    ).toBe(403);
    expect((await call('PUT', ra('ra-1'), grant('newbie', 'Backup Reader'))).status).toBe(200);
    const changed = await call('PUT', ra('ra-1'), grant('newbie', 'Owner'));
    expect(changed.status).toBe(409);
    expect(changed.body.error).toMatchObject({ code: 'PropertyCannotBeChanged', target: 'properties.role' });
    const dup = await call('PUT', ra('ra-dup'), grant('newbie', 'Backup Reader'));
    expect(dup.status).toBe(409);
    expect(dup.body.error?.code).toBe('RoleAssignmentExists');
    expect((await call('GET', ra('ra-1'))).body).toMatchObject({ name: 'ra-1', etag: created.body.etag });
    const list = await call('GET', `${sub}/roleAssignments`);
    expect(list.status).toBe(200);
    expect(
      (list.body.value as { properties: { principalId: string } }[])
        .map((a) => a.properties.principalId)
        .sort(),
    ).toEqual(['newbie', 'owner']);
    const stale = await call('DELETE', ra('ra-1'), { headers: { 'if-match': 'W/"stale"' } });
    expect(stale.status).toBe(412);
    expect((await call('DELETE', ra('ra-1'))).status).toBe(200);
    expect((await call('GET', `${sub}/vaults`, { token: tokens.newbie })).status).toBe(404);
    const gone = await call('GET', ra('ra-1'));
    expect(gone.status).toBe(404);
    expect(gone.body.error?.code).toBe('RoleAssignmentNotFound');
    expect((await call('DELETE', ra('ra-1'))).status).toBe(404);
  });

  it("a vault's Owner manages that vault's assignments, not the subscription's", async () => {
    const vra = (name: string) => `${sub}/vaults/rv1/roleAssignments/${name}`;
    expect((await call('PUT', vra('va-1'), grant('vowner', 'Owner'))).status).toBe(201);
    const byVaultOwner = await call('PUT', vra('va-2'), {
      token: tokens.vowner,
      ...grant('vreader', 'Backup Reader'),
    });
    expect(byVaultOwner.status).toBe(201);
    expect(byVaultOwner.body).toMatchObject({ id: `${sub}/vaults/rv1/roleAssignments/va-2` });
    expect((await call('GET', `${sub}/vaults/rv1`, { token: tokens.vreader })).status).toBe(200);
    const vaultList = await call('GET', `${sub}/vaults/rv1/roleAssignments`, { token: tokens.vowner });
    expect((vaultList.body.value as { name: string }[]).map((a) => a.name)).toEqual(['va-1', 'va-2']);
    // The subscription scope is not the vault Owner's: it is not even confirmed to exist.
    expect((await call('GET', `${sub}/roleAssignments`, { token: tokens.vowner })).status).toBe(404);
    expect(
      (await call('PUT', ra('sneaky'), { token: tokens.vowner, ...grant('vowner', 'Owner') })).status,
    ).toBe(404);
    // A vault reader may not even read assignments (roleAssignments/read is Contributor and Owner).
    expect((await call('GET', `${sub}/vaults/rv1/roleAssignments`, { token: tokens.vreader })).status).toBe(
      403,
    );
    // The subscription's list shows every scope.
    const all = await call('GET', `${sub}/roleAssignments`);
    expect((all.body.value as { properties: { scope: string } }[]).map((a) => a.properties.scope)).toEqual(
      expect.arrayContaining([sub, `${sub}/vaults/rv1`]),
    );
    const missing = await call('PUT', `${sub}/vaults/nosuch/roleAssignments/x1`, grant('vreader', 'Owner'));
    expect(missing.status).toBe(404);
    expect(missing.body.error?.code).toBe('VaultNotFound');
  });

  it('deleting a vault deletes its assignments: a new vault of the same name does not inherit them', async () => {
    expect((await call('PUT', `${sub}/vaults/rv2`, { body: { location: 'westeurope' } })).status).toBe(201);
    expect(
      (await call('PUT', `${sub}/vaults/rv2/roleAssignments/g1`, grant('ghost', 'Backup Reader'))).status,
    ).toBe(201);
    expect((await call('GET', `${sub}/vaults/rv2`, { token: tokens.ghost })).status).toBe(200);
    expect((await call('DELETE', `${sub}/vaults/rv2`)).status).toBe(200);
    expect((await call('PUT', `${sub}/vaults/rv2`, { body: { location: 'westeurope' } })).status).toBe(201);
    expect((await call('GET', `${sub}/vaults/rv2`, { token: tokens.ghost })).status).toBe(404);
    expect((await call('GET', `${sub}/vaults/rv2/roleAssignments`)).body.value).toEqual([]);
  });

  it('the last Owner of a subscription cannot be deleted', async () => {
    const list = await call('GET', `${sub}/roleAssignments`);
    const mine = (
      list.body.value as { name: string; properties: { principalId: string; role: string; scope: string } }[]
    ).find((a) => a.properties.principalId === 'owner' && a.properties.scope === sub);
    expect(mine?.properties.role).toBe('Owner');
    const before = await snapshot('sub-ra');
    const last = await call('DELETE', ra(mine?.name ?? ''));
    expect(last.status).toBe(409);
    expect(last.body.error?.code).toBe('LastOwnerCannotBeDeleted');
    expect(last.body.error?.message).toMatch(/last Owner of subscription 'sub-ra'/);
    expect(await snapshot('sub-ra')).toEqual(before);
    // With a second Owner the first may go, and then the second is the last.
    expect((await call('PUT', ra('o2'), grant('owner2', 'Owner'))).status).toBe(201);
    expect((await call('DELETE', ra(mine?.name ?? ''), { token: tokens.owner2 })).status).toBe(200);
    expect((await call('GET', `${sub}/vaults`)).status).toBe(404);
    expect((await call('DELETE', ra('o2'), { token: tokens.owner2 })).body.error?.code).toBe(
      'LastOwnerCannotBeDeleted',
    );
    // Put things back for the tests after this one.
    expect((await call('PUT', ra('o1'), { token: tokens.owner2, ...grant('owner', 'Owner') })).status).toBe(
      201,
    );
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
      expect(JSON.stringify(res.body)).not.toMatch(/westeurope|vm1|manifests|fixture-principal/);
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
      case 'roleAssignments-list':
        return { method: 'GET', urlPath: `/subscriptions/${SUB}/roleAssignments` };
      case 'vaultRoleAssignments-list':
        return { method: 'GET', urlPath: `${v}/roleAssignments` };
      case 'roleAssignments-get':
        return { method: 'GET', urlPath: `/subscriptions/${SUB}/roleAssignments/ra-fixture` };
      case 'vaultRoleAssignments-get':
        return { method: 'GET', urlPath: `${v}/roleAssignments/ra-fixture` };
      case 'roleAssignments-put':
      case 'vaultRoleAssignments-put':
        return {
          method: 'PUT',
          urlPath: `${name.startsWith('vault') ? v : `/subscriptions/${SUB}`}/roleAssignments/m-${tag}-put`,
          body: { properties: { principalId: `p-${tag}-put`, role: 'Backup Reader' } },
        };
      case 'roleAssignments-delete':
      case 'vaultRoleAssignments-delete':
        return {
          method: 'DELETE',
          urlPath: `${name.startsWith('vault') ? v : `/subscriptions/${SUB}`}/roleAssignments/m-${tag}-del`,
        };
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
      const doomed = { properties: { principalId: `p-${tag}-del`, role: 'Backup Reader' } };
      await cp.assignments.put({ subscriptionId: SUB }, `m-${tag}-del`, doomed);
      await cp.assignments.put({ subscriptionId: SUB, vaultName: 'v1' }, `m-${tag}-del`, doomed);
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
          expect(JSON.stringify(res.body)).not.toMatch(/westeurope|vm1|manifests|fixture-principal/);
      }
      expect(unexpected).toEqual([]);
      expect(outcomes).toHaveLength(CONTROL_PLANE_OPERATIONS.length);
    },
  );
});

type SweepCase = [
  string,
  string,
  string,
  { body?: unknown; raw?: string; headers?: Record<string, string> },
  number,
  string,
];

/** The malformed inputs of a role-assignment PUT/DELETE under `base` (`.../roleAssignments`). */
function roleAssignmentSweep(what: string, base: string): SweepCase[] {
  const ok = { principalId: 'someone', role: 'Backup Reader' };
  return [
    [`${what}: missing properties`, 'PUT', `${base}/ra1`, { body: {} }, 400, 'properties'],
    [
      `${what}: properties not an object`,
      'PUT',
      `${base}/ra1`,
      { body: { properties: 'Owner' } },
      400,
      'properties',
    ],
    [
      `${what}: missing principalId`,
      'PUT',
      `${base}/ra1`,
      { body: { properties: { role: 'Owner' } } },
      400,
      'properties.principalId',
    ],
    [
      `${what}: principalId not a string`,
      'PUT',
      `${base}/ra1`,
      { body: { properties: { ...ok, principalId: 42 } } },
      400,
      'properties.principalId',
    ],
    [
      `${what}: bad principalId`,
      'PUT',
      `${base}/ra1`,
      { body: { properties: { ...ok, principalId: 'a/b' } } },
      400,
      'properties.principalId',
    ],
    [
      `${what}: missing role`,
      'PUT',
      `${base}/ra1`,
      { body: { properties: { principalId: 'x' } } },
      400,
      'properties.role',
    ],
    [
      `${what}: unknown role`,
      'PUT',
      `${base}/ra1`,
      { body: { properties: { ...ok, role: 'Global Administrator' } } },
      400,
      'properties.role',
    ],
    [
      `${what}: mass-assigning scope`,
      'PUT',
      `${base}/ra1`,
      { body: { properties: { ...ok, scope: '/subscriptions/sub-a' } } },
      400,
      'properties.scope',
    ],
    [
      `${what}: unknown top-level field`,
      'PUT',
      `${base}/ra1`,
      { body: { properties: ok, id: 'x' } },
      400,
      'id',
    ],
    [
      `${what}: oversized body`,
      'PUT',
      `${base}/ra1`,
      { raw: JSON.stringify({ properties: ok, pad: 'x'.repeat(MAX_JSON_BODY_BYTES) }) },
      413,
      'body',
    ],
    [`${what}: bad name`, 'PUT', `${base}/-ra1`, { body: { properties: ok } }, 400, 'roleAssignmentName'],
    [
      `${what}: name too long`,
      'PUT',
      `${base}/r${'x'.repeat(64)}`,
      { body: { properties: ok } },
      400,
      'roleAssignmentName',
    ],
    [`${what} delete: bad name`, 'DELETE', `${base}/ra_1`, {}, 400, 'roleAssignmentName'],
  ];
}

describe('malformed input sweep: 400/413 naming the field, nothing changed', () => {
  const v = '/subscriptions/sub-sweep/vaults/sweep1';
  beforeAll(async () => {
    await cp.vaults.put('sub-sweep', 'sweep1', { location: 'westeurope' });
  });

  const cases: SweepCase[] = [
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
    ...roleAssignmentSweep('role assignment', '/subscriptions/sub-sweep/roleAssignments'),
    ...roleAssignmentSweep('vault role assignment', `${v}/roleAssignments`),
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
