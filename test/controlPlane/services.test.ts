// The control-plane services on memStateStore with a fixed clock: the rules that need many rows or
// precise timing are cheaper to prove here than over HTTP.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseScope } from '../../shared/auth/roleAssignments';
import { runTokenCli } from '../../shared/auth/tokenCli';
import { localTokenVerifier } from '../../shared/auth/tokenVerifier';
import { loadOrCreateLocalSigningKey } from '../../shared/auth/localSigningKey';
import { createControlPlane, type ControlPlane } from '../../shared/controlPlane/controlPlane';
import { uuidV7, type IdSource } from '../../shared/controlPlane/controlPlanePorts';
import { nextProtectionState, PROTECTION_STATES } from '../../shared/controlPlane/itemService';
import { CONTROL_PLANE_TABLE } from '../../shared/controlPlane/names';
import { MAX_VAULTS_PER_SUBSCRIPTION } from '../../shared/controlPlane/vaultService';
import { hasErrorCode } from '../../shared/errors';
import { memStateStore, type MemStateStore } from '../../shared/state/memStateStore';

let now = new Date('2024-05-01T12:00:00.000Z');
let seq = 0;
const ids: IdSource = {
  timeOrdered: (at) => uuidV7(at, Buffer.from(String(++seq).padStart(10, '0'))),
  vaultId: () => (++seq).toString(16).padStart(32, '0'),
};

function setup(): { cp: ControlPlane; store: MemStateStore } {
  const store = memStateStore();
  return { cp: createControlPlane({ store, clock: { now: () => now }, ids }), store };
}

async function code(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code;
  }
}

const policyBody = {
  properties: {
    schedule: { frequency: 'daily', timeZone: 'UTC', times: ['01:00'] },
    instantRestoreDays: 2,
    retention: { daily: { days: 7 } },
  },
};

describe('vaults', () => {
  it(`creates exactly ${MAX_VAULTS_PER_SUBSCRIPTION} vaults per subscription, even when creates race`, async () => {
    const { cp } = setup();
    for (let i = 0; i < MAX_VAULTS_PER_SUBSCRIPTION - 10; i++)
      await cp.vaults.put('s', `v${i}`, { location: 'westeurope' });
    // 20 concurrent creates for the last 10 places: never more than 10 succeed. Losers of the counter race
    // may be told to retry (ConcurrencyConflict) rather than waiting forever.
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => cp.vaults.put('s', `race${i}`, { location: 'westeurope' })),
    );
    const refused = results.filter((r) => r.status === 'rejected');
    expect(results.length - refused.length).toBeLessThanOrEqual(10);
    for (const r of refused) {
      expect(['VaultLimitExceeded', 'ConcurrencyConflict']).toContain((r.reason as { code: string }).code);
    }
    // Retrying sequentially fills exactly the remaining places.
    for (let i = 0; i < 20; i++)
      await cp.vaults.put('s', `race${i}`, { location: 'westeurope' }).catch(() => undefined);
    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = await cp.vaults.list(
        's',
        token === undefined ? { top: 1000 } : { top: 1000, storeToken: token },
      );
      names.push(...page.value.map((v) => v.name));
      token =
        page.skipToken === undefined
          ? undefined
          : (JSON.parse(Buffer.from(page.skipToken, 'base64url').toString()) as { c: string }).c;
    } while (token !== undefined);
    expect(names).toHaveLength(MAX_VAULTS_PER_SUBSCRIPTION);
    expect(await code(cp.vaults.put('s', 'late', { location: 'westeurope' }))).toBe('VaultLimitExceeded');
    expect(await code(cp.vaults.put('other', 'v0', { location: 'westeurope' }))).toBeUndefined();
  });

  it('creates DefaultPolicy with the vault, and deletes the policies with it', async () => {
    const { cp, store } = setup();
    await cp.vaults.put('s', 'v', { location: 'westeurope' });
    await cp.policies.put('s', 'v', 'Extra', policyBody);
    expect((await cp.policies.list('s', 'v', { top: 10 })).value.map((p) => p.name)).toEqual([
      'DefaultPolicy',
      'Extra',
    ]);
    await cp.vaults.delete('s', 'v');
    expect(store.size(CONTROL_PLANE_TABLE)).toBe(1); // only the counter row, now 0
    expect(await code(cp.vaults.get('s', 'v'))).toBe('VaultNotFound');
  });

  it('refuses to delete a vault with items, and allows it once the item is gone', async () => {
    const { cp } = setup();
    await cp.vaults.put('s', 'v', { location: 'westeurope' });
    await cp.items.register('s', 'v', { name: 'vm1', sourceId: 'x', friendlyName: 'x' });
    expect(await code(cp.vaults.delete('s', 'v'))).toBe('VaultHasProtectedItems');
    await cp.items.remove('s', 'v', 'vm1');
    await cp.vaults.delete('s', 'v');
  });

  it('refuses to delete a vault with recovery points even if the item count were wrong', async () => {
    const { cp } = setup();
    await cp.vaults.put('s', 'v', { location: 'westeurope' });
    await cp.items.register('s', 'v', { name: 'vm1', sourceId: 'x', friendlyName: 'x' });
    await cp.items.apply('s', 'v', 'vm1', { kind: 'configureProtection', policyName: 'DefaultPolicy' });
    await cp.recoveryPoints.add('s', 'v', 'vm1', {
      recoveryPointTime: now.toISOString(),
      recoveryPointType: 'Full',
      consistency: 'CrashConsistent',
      sizeBytes: 1,
      manifestRef: 'm',
    });
    expect(await code(cp.items.remove('s', 'v', 'vm1'))).toBe('InvalidStateTransition');
    const err = await cp.vaults.delete('s', 'v').catch((e: Error) => e);
    expect((err as Error).message).toMatch(/1 protected item\(s\) and recovery points/);
  });

  it('does not change redundancy after items are protected', async () => {
    const { cp } = setup();
    await cp.vaults.put('s', 'v', { location: 'westeurope' });
    await cp.items.register('s', 'v', { name: 'vm1', sourceId: 'x', friendlyName: 'x' });
    expect(
      await code(
        cp.vaults.put('s', 'v', { location: 'westeurope', properties: { storageRedundancy: 'GRS' } }),
      ),
    ).toBe('PropertyCannotBeChanged');
  });
});

describe('protected items', () => {
  it('allows only the documented state changes', () => {
    expect(nextProtectionState('Registered', 'configureProtection', false)).toEqual({
      ok: true,
      state: 'ProtectedInitialBackupPending',
    });
    expect(nextProtectionState('ProtectedInitialBackupPending', 'backupSucceeded', false)).toEqual({
      ok: true,
      state: 'Protected',
    });
    expect(nextProtectionState('Protected', 'failed', true)).toEqual({ ok: true, state: 'Error' });
    expect(nextProtectionState('Error', 'backupSucceeded', true)).toEqual({ ok: true, state: 'Protected' });
    expect(nextProtectionState('Protected', 'stopProtection', true)).toEqual({
      ok: true,
      state: 'ProtectionStopped',
    });
    expect(nextProtectionState('ProtectionStopped', 'resumeProtection', true)).toEqual({
      ok: true,
      state: 'Protected',
    });
    expect(nextProtectionState('Registered', 'backupSucceeded', false).ok).toBe(false);
    expect(nextProtectionState('ProtectionStopped', 'configureProtection', true).ok).toBe(false);
    for (const s of PROTECTION_STATES)
      expect(nextProtectionState(s, 'stopProtection', false).ok).toBe(
        s !== 'Registered' && s !== 'ProtectionStopped' && s !== 'SoftDeleted',
      );
    // Soft delete: from any state with data; nothing but undelete (or the purge) leaves it.
    for (const s of ['ProtectedInitialBackupPending', 'Protected', 'Error', 'ProtectionStopped'] as const)
      expect(nextProtectionState(s, 'softDelete', true)).toEqual({ ok: true, state: 'SoftDeleted' });
    expect(nextProtectionState('Registered', 'softDelete', false).ok).toBe(false);
    expect(nextProtectionState('SoftDeleted', 'undelete', true)).toEqual({
      ok: true,
      state: 'ProtectionStopped',
    });
    expect(nextProtectionState('SoftDeleted', 'beginPurge', true)).toEqual({
      ok: true,
      state: 'SoftDeleted',
    });
    for (const e of [
      'configureProtection',
      'resumeProtection',
      'backupSucceeded',
      'failed',
      'stopProtection',
    ] as const)
      expect(nextProtectionState('SoftDeleted', e, true).ok).toBe(false);
    expect(nextProtectionState('Protected', 'undelete', true).ok).toBe(false);
    expect(nextProtectionState('ProtectionStopped', 'beginPurge', true).ok).toBe(false);
  });

  it('soft delete keeps the points and the dates; undelete brings the item back stopped; a purge mark blocks undelete', async () => {
    const { cp } = setup();
    await cp.vaults.put('s', 'v', { location: 'westeurope' });
    await cp.items.register('s', 'v', { name: 'vm1', sourceId: 'x', friendlyName: 'x' });
    await cp.items.apply('s', 'v', 'vm1', { kind: 'configureProtection', policyName: 'DefaultPolicy' });
    const at = '2024-05-01T00:00:00.000Z';
    const purgeAfter = '2024-05-15T00:00:00.000Z';
    const sd = await cp.items.apply('s', 'v', 'vm1', { kind: 'softDelete', at, purgeAfter });
    expect(sd.properties).toMatchObject({
      protectionState: 'SoftDeleted',
      deletedTime: at,
      purgeAfter,
      retainedData: true,
      protectionStatus: `Soft deleted (purged after ${purgeAfter})`,
    });
    expect(sd.properties.policyName).toBeUndefined();
    expect((await cp.policies.get('s', 'v', 'DefaultPolicy')).properties.protectedItemsCount).toBe(0);
    // A repeated soft delete keeps the first dates.
    const again = await cp.items.apply('s', 'v', 'vm1', {
      kind: 'softDelete',
      at: purgeAfter,
      purgeAfter: '2030-01-01T00:00:00.000Z',
    });
    expect(again.properties).toMatchObject({ deletedTime: at, purgeAfter });
    const back = await cp.items.apply('s', 'v', 'vm1', { kind: 'undelete' });
    expect(back.properties).toMatchObject({ protectionState: 'ProtectionStopped', retainedData: true });
    expect(back.properties.purgeAfter).toBeUndefined();
    await cp.items.apply('s', 'v', 'vm1', { kind: 'softDelete', at, purgeAfter });
    await cp.items.apply('s', 'v', 'vm1', { kind: 'beginPurge' });
    expect(await code(cp.items.apply('s', 'v', 'vm1', { kind: 'undelete' }))).toBe('InvalidStateTransition');
  });

  it('immutable vault: no shorter policy retention or weaker soft delete; Enabled can be turned off, Locked cannot', async () => {
    const { cp } = setup();
    const created = await cp.vaults.put('s', 'v', { location: 'westeurope' });
    expect(created.resource.properties.immutabilitySettings).toEqual({ state: 'Disabled' });
    await cp.policies.put('s', 'v', 'P', {
      properties: { ...policyBody.properties, retention: { daily: { days: 10 } } },
    });
    const immutable = { location: 'westeurope', properties: { immutabilitySettings: { state: 'Enabled' } } };
    await cp.vaults.put('s', 'v', immutable);
    const shorter = {
      properties: { ...policyBody.properties, retention: { daily: { days: 8 } } },
    };
    const longer = {
      properties: { ...policyBody.properties, retention: { daily: { days: 12 } } },
    };
    const refused = await cp.policies.put('s', 'v', 'P', shorter).catch((e: unknown) => e);
    expect(refused).toMatchObject({
      code: 'BlockedByImmutableVault',
      target: 'properties.retention.daily.days',
    });
    expect((await cp.policies.get('s', 'v', 'P')).properties).toMatchObject({
      retention: { daily: { days: 10 } },
    });
    await cp.policies.put('s', 'v', 'P', longer); // keeping data longer is always allowed
    expect(
      await code(
        cp.vaults.put('s', 'v', {
          location: 'westeurope',
          properties: { softDeleteSettings: { state: 'Disabled' } },
        }),
      ),
    ).toBe('BlockedByImmutableVault');
    await cp.vaults.put('s', 'v', {
      location: 'westeurope',
      properties: { softDeleteSettings: { retentionDays: 30 } },
    });
    expect(
      await code(
        cp.vaults.put('s', 'v', {
          location: 'westeurope',
          properties: { softDeleteSettings: { retentionDays: 20 } },
        }),
      ),
    ).toBe('BlockedByImmutableVault');
    // Enabled can be turned off (then the policy may be shortened); Locked is one-way.
    await cp.vaults.put('s', 'v', {
      location: 'westeurope',
      properties: { immutabilitySettings: { state: 'Disabled' } },
    });
    await cp.policies.put('s', 'v', 'P', shorter);
    await cp.vaults.put('s', 'v', {
      location: 'westeurope',
      properties: { immutabilitySettings: { state: 'Locked' } },
    });
    expect(
      await code(
        cp.vaults.put('s', 'v', {
          location: 'westeurope',
          properties: { immutabilitySettings: { state: 'Enabled' } },
        }),
      ),
    ).toBe('PropertyCannotBeChanged');
    expect(
      await code(
        cp.policies.put('s', 'v', 'P', {
          properties: { ...policyBody.properties, retention: { daily: { days: 7 } } },
        }),
      ),
    ).toBe('BlockedByImmutableVault');
    expect((await cp.vaults.get('s', 'v')).properties.immutabilitySettings.state).toBe('Locked');
  });

  it('vault soft-delete settings: default Enabled 14 days, 14-180 days, AlwaysOn cannot be left', async () => {
    const { cp } = setup();
    const created = await cp.vaults.put('s', 'v', { location: 'westeurope' });
    expect(created.resource.properties.softDeleteSettings).toEqual({ state: 'Enabled', retentionDays: 14 });
    const longer = await cp.vaults.put('s', 'v', {
      location: 'westeurope',
      properties: { softDeleteSettings: { retentionDays: 30 } },
    });
    expect(longer.resource.properties.softDeleteSettings).toEqual({ state: 'Enabled', retentionDays: 30 });
    // A PUT without the settings keeps them.
    const kept = await cp.vaults.put('s', 'v', { location: 'westeurope' });
    expect(kept.resource.properties.softDeleteSettings.retentionDays).toBe(30);
    for (const bad of [13, 181, 14.5, '14']) {
      const err = await cp.vaults
        .put('s', 'v', { location: 'westeurope', properties: { softDeleteSettings: { retentionDays: bad } } })
        .catch((e: unknown) => e as { code: string; target?: string; message: string });
      expect(err).toMatchObject({ code: 'InvalidRequestBody' });
      expect((err as { message: string }).message).toContain('properties.softDeleteSettings.retentionDays');
    }
    await cp.vaults.put('s', 'v', {
      location: 'westeurope',
      properties: { softDeleteSettings: { state: 'AlwaysOn' } },
    });
    expect(
      await code(
        cp.vaults.put('s', 'v', {
          location: 'westeurope',
          properties: { softDeleteSettings: { state: 'Disabled' } },
        }),
      ),
    ).toBe('PropertyCannotBeChanged');
    expect((await cp.vaults.get('s', 'v')).properties.softDeleteSettings.state).toBe('AlwaysOn');
  });

  it('keeps one policy at a time and counts items per policy', async () => {
    const { cp } = setup();
    await cp.vaults.put('s', 'v', { location: 'westeurope' });
    await cp.policies.put('s', 'v', 'Other', policyBody);
    await cp.items.register('s', 'v', { name: 'vm1', sourceId: 'x', friendlyName: 'x' });
    await cp.items.apply('s', 'v', 'vm1', { kind: 'configureProtection', policyName: 'DefaultPolicy' });
    expect(await code(cp.policies.delete('s', 'v', 'DefaultPolicy'))).toBe('BackupPolicyInUse');
    const moved = await cp.items.apply('s', 'v', 'vm1', { kind: 'configureProtection', policyName: 'Other' });
    expect(moved.properties.policyName).toBe('Other');
    expect((await cp.policies.get('s', 'v', 'DefaultPolicy')).properties.protectedItemsCount).toBe(0);
    expect((await cp.policies.get('s', 'v', 'Other')).properties.protectedItemsCount).toBe(1);
    await cp.policies.delete('s', 'v', 'DefaultPolicy');
    const stopped = await cp.items.apply('s', 'v', 'vm1', { kind: 'stopProtection', retainData: true });
    expect(stopped.properties).toMatchObject({
      protectionState: 'ProtectionStopped',
      retainedData: true,
      protectionStatus: 'Protection stopped (backup data retained)',
    });
    expect(stopped.properties.policyName).toBeUndefined();
    await cp.policies.delete('s', 'v', 'Other');
    expect(
      await code(cp.items.apply('s', 'v', 'vm1', { kind: 'configureProtection', policyName: 'Nope' })),
    ).toBe('InvalidStateTransition');
  });
});

describe('jobs and dashboard', () => {
  it('tracks a job from start to end and counts the last 24 hours', async () => {
    const { cp } = setup();
    await cp.vaults.put('s', 'v', { location: 'westeurope' });
    now = new Date('2024-05-01T00:00:00.000Z');
    const old = await cp.jobs.start('s', 'v', { operation: 'Backup' });
    await cp.jobs.finish('s', 'v', old.name, { status: 'Failed', error: { code: 'X', message: 'x' } });
    now = new Date('2024-05-02T06:00:00.000Z');
    const j = await cp.jobs.start('s', 'v', {
      operation: 'Backup',
      itemName: 'vm1',
      durableInstanceId: 'i1',
    });
    await cp.jobs.progress('s', 'v', j.name, { progressPercent: 140, bytesTransferred: 10 });
    now = new Date('2024-05-02T06:00:05.000Z');
    const done = await cp.jobs.finish('s', 'v', j.name, { status: 'Completed' });
    expect(done.properties).toMatchObject({
      status: 'Completed',
      durationMs: 5000,
      progressPercent: 100,
      bytesTransferred: 10,
    });
    // Finishing twice the same way is a no-op (activities run at least once); differently is refused.
    await cp.jobs.finish('s', 'v', j.name, { status: 'Completed' });
    expect(await code(cp.jobs.finish('s', 'v', j.name, { status: 'Failed' }))).toBe('InvalidStateTransition');
    await cp.jobs.start('s', 'v', { operation: 'Restore' });
    const dash = await cp.jobs.dashboard('s', 'v');
    expect(dash.jobsLast24Hours).toEqual({ completed: 1, failed: 0, inProgress: 1 });
    const failed = await cp.jobs.list('s', 'v', { status: 'Failed' }, { top: 10 });
    expect(failed.value.map((x) => x.name)).toEqual([old.name]);
    const window = await cp.jobs.list('s', 'v', { startFrom: '2024-05-02T00:00:00.000Z' }, { top: 1 });
    expect(window.value).toHaveLength(1);
    expect(window.skipToken).toBeDefined();
  });

  it('annotates a running job once, and never an ended one', async () => {
    const { cp } = setup();
    await cp.vaults.put('s', 'v', { location: 'westeurope' });
    const j = await cp.jobs.start('s', 'v', { operation: 'OfflineSeeding', itemName: 'files' });
    expect(await cp.jobs.annotate('s', 'v', j.name, 'Waiting for import job to complete')).toBe(true);
    const etag = (await cp.jobs.get('s', 'v', j.name)).etag;
    expect(await cp.jobs.annotate('s', 'v', j.name, 'Waiting for import job to complete')).toBe(false);
    // Nothing to change: nothing written (the row keeps its ETag).
    expect((await cp.jobs.get('s', 'v', j.name)).etag).toBe(etag);
    expect((await cp.jobs.get('s', 'v', j.name)).properties.statusDetail).toBe(
      'Waiting for import job to complete',
    );
    await cp.jobs.finish('s', 'v', j.name, { status: 'Completed' });
    expect(await cp.jobs.annotate('s', 'v', j.name, 'too late')).toBe(false);
    expect((await cp.jobs.get('s', 'v', j.name)).properties.statusDetail).toBe(
      'Waiting for import job to complete',
    );
    expect(await code(cp.jobs.annotate('s', 'v', 'no-such-job', 'x'))).toBe('JobNotFound');
  });

  it('records a cancel request on a queued or running Backup or Restore job only', async () => {
    const { cp } = setup();
    await cp.vaults.put('s', 'v', { location: 'westeurope' });
    const b = await cp.jobs.start('s', 'v', { operation: 'Backup', itemName: 'vm1', status: 'Queued' });
    const first = await cp.jobs.requestCancel('s', 'v', b.name, 'alice');
    expect(first.properties.cancelRequested).toEqual({ time: now.toISOString(), by: 'alice' });
    expect(first.properties.status).toBe('Queued'); // the workflow ends it, not the request
    now = new Date(now.getTime() + 1000);
    const again = await cp.jobs.requestCancel('s', 'v', b.name, 'bob');
    expect(again.properties.cancelRequested).toEqual(first.properties.cancelRequested);
    const d = await cp.jobs.start('s', 'v', { operation: 'Discover' });
    expect(await code(cp.jobs.requestCancel('s', 'v', d.name, 'alice'))).toBe('JobNotCancellable');
    const r = await cp.jobs.start('s', 'v', { operation: 'Restore' });
    await cp.jobs.finish('s', 'v', r.name, { status: 'Completed' });
    expect(await code(cp.jobs.requestCancel('s', 'v', r.name, 'alice'))).toBe('JobNotCancellable');
    expect((await cp.jobs.get('s', 'v', r.name)).properties.cancelRequested).toBeUndefined();
  });
});

describe('npm run token (runTokenCli)', () => {
  it('assigns the role and prints a token the local verifier accepts', async () => {
    const store = memStateStore();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-cli-'));
    let out = '';
    let err = '';
    const status = await runTokenCli(
      ['--principal', 'alice', '--role', 'Backup Operator', '--scope', '/subscriptions/s1/vaults/v1'],
      {
        env: { AzureWebJobsStorage: 'UseDevelopmentStorage=true', STRONGBOX_LOCAL_AUTH_DIR: dir },
        appRoot: '/',
        stdout: (t) => (out += t),
        stderr: (t) => (err += t),
        store,
      },
    );
    expect({ status, err }).toEqual({
      status: 0,
      err: 'Assigned "Backup Operator" to alice at /subscriptions/s1/vaults/v1.\n',
    });
    const key = await loadOrCreateLocalSigningKey(dir);
    const principal = await localTokenVerifier([key.publicJwk], {
      issuer: 'strongbox-local',
      audience: 'api://strongbox-local',
    }).verify(`Bearer ${out.trim()}`);
    expect(principal.id).toBe('alice');
    const cp = createControlPlane({ store, clock: { now: () => now }, ids });
    expect(await cp.roleAssignments.rolesAt('alice', parseScope('/subscriptions/s1/vaults/v1'))).toEqual([
      'Backup Operator',
    ]);
    expect(await cp.roleAssignments.rolesAt('alice', parseScope('/subscriptions/s1/vaults/v2'))).toEqual([]);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses bad input and a JWKS-configured (Azure) setup', async () => {
    const io = (env: Record<string, string>) => ({
      env,
      appRoot: '/',
      stdout: () => undefined,
      stderr: () => undefined,
      store: memStateStore(),
    });
    const local = { AzureWebJobsStorage: 'UseDevelopmentStorage=true' };
    expect(
      await runTokenCli(['--principal', 'a', '--role', 'King', '--scope', '/subscriptions/s'], io(local)),
    ).toBe(2);
    expect(
      await runTokenCli(['--principal', 'a', '--role', 'Owner', '--scope', '/elsewhere'], io(local)),
    ).toBe(1);
    expect(
      await runTokenCli(
        ['--principal', 'a', '--role', 'Owner', '--scope', '/subscriptions/s'],
        io({
          ...local,
          STRONGBOX_AUTH_ISSUER: 'https://login.microsoftonline.com/t/v2.0',
          STRONGBOX_AUTH_AUDIENCE: 'api://x',
          STRONGBOX_AUTH_JWKS_URI: 'https://login.microsoftonline.com/t/discovery/v2.0/keys',
        }),
      ),
    ).toBe(1);
  });
});

describe('errors', () => {
  it('maps state conflicts to 409 ConcurrencyConflict', async () => {
    const { errorResponseOf } = await import('../../shared/controlPlane/apiErrors');
    expect(errorResponseOf(Object.assign(new Error('x'), { code: 'STATE.PRECONDITION_FAILED' })).status).toBe(
      409,
    );
    expect(errorResponseOf(Object.assign(new Error('x'), { code: 'STATE.TRANSIENT' })).status).toBe(503);
    const internal = errorResponseOf(new Error('secret detail'));
    expect(internal.status).toBe(500);
    expect(JSON.stringify(internal.body)).not.toContain('secret');
    expect(hasErrorCode(internal.body.error, 'InternalServerError')).toBe(true);
  });
});
