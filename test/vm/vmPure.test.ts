// The pure parts of VM protection: the item queue, register eligibility, snapshot consistency,
// segment sizing, retention's choice of points, and the VM setting of the configuration.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../shared/config/config';
import { vmKeyProvider } from '../../shared/vm/vmKeyProvider';
import { GUEST_OUTCOME_CODES } from '../../shared/inventory/inventoryErrors';
import type { Vm } from '../../shared/inventory/inventory';
import { defaultPolicy } from '../../shared/policy/policy';
import type { RecoveryPointDoc } from '../../shared/controlPlane/recoveryPointService';
import { segmentBytesFor, recoveryPointIdFor } from '../../shared/vm/backupSteps';
import { EMPTY_QUEUE, enqueue, release, tryAcquire, type QueueEntry } from '../../shared/vm/itemQueue';
import { checkRegisterEligibility } from '../../shared/vm/registerEligibility';
import { restoreSegmentsOf } from '../../shared/vm/restoreSteps';
import { expiredPoints } from '../../shared/vm/retention';
import { consistencyOf } from '../../shared/vm/snapshotConsistency';
import { jobError, REMEDIATION, VM_JOB_ERROR_CODES } from '../../shared/vm/vmErrors';
import { DEFAULT_MAX_DATA_DISKS, MAX_SEGMENT_BYTES, MIN_SEGMENT_BYTES } from '../../shared/vm/vmLimits';

const e = (id: string): QueueEntry => ({ instanceId: id, operation: 'Backup', since: '' });
const MiB = 1024 * 1024;

describe('item queue', () => {
  it('gives the turn to the first, queues the rest in order, and is idempotent', () => {
    let s = EMPTY_QUEUE;
    const a = enqueue(s, e('a'));
    expect(a.result.position).toBe(0);
    s = a.state;
    const b = enqueue(s, e('b'));
    expect(b.result).toEqual({ position: 1, head: e('a') });
    s = b.state;
    s = enqueue(s, e('c')).state;
    // Enqueueing again keeps the place.
    expect(enqueue(s, e('b')).result.position).toBe(1);
    expect(enqueue(s, e('b')).state.entries).toHaveLength(3);
    // Releasing the head hands the turn to the next; releasing a waiter wakes nobody.
    const r1 = release(s, 'c');
    expect(r1.result.next).toBeNull();
    const r2 = release(r1.state, 'a');
    expect(r2.result.next).toEqual(e('b'));
    expect(release(r2.state, 'zzz').result.next).toBeNull();
    expect(release(r2.state, 'b').state.entries).toEqual([]);
  });

  it('tryAcquire takes only an idle item (register refuses instead of queueing)', () => {
    const held = enqueue(EMPTY_QUEUE, e('a')).state;
    expect(tryAcquire(EMPTY_QUEUE, e('x')).result).toEqual({ acquired: true });
    expect(tryAcquire(held, e('x')).result).toEqual({ acquired: false, holder: e('a') });
    expect(tryAcquire(held, e('x')).state).toBe(held);
    expect(tryAcquire(held, e('a')).result).toEqual({ acquired: true });
  });
});

function vm(over: Partial<Vm> = {}, dataDisks = 1): Vm {
  return {
    id: '/vms/x',
    name: 'x',
    resourceGroup: 'rg',
    region: 'local',
    powerState: 'running',
    osType: 'linux',
    agent: { status: 'ready', version: '2.12.0.4' },
    backupExtensionInstalled: false,
    disks: [
      { diskId: 'os', name: 'os', role: 'os', lun: undefined, sizeBytes: 512 },
      ...Array.from({ length: dataDisks }, (_, lun) => ({
        diskId: `d${lun}`,
        name: `d${lun}`,
        role: 'data' as const,
        lun,
        sizeBytes: 512,
      })),
    ],
    ...over,
  };
}

describe('register eligibility', () => {
  const opts = { maxDataDisks: DEFAULT_MAX_DATA_DISKS };
  it.each([
    ['a stopped VM', vm({ powerState: 'stopped' }), 'VmNotRunning'],
    ['a deallocated VM', vm({ powerState: 'deallocated' }), 'VmNotRunning'],
    ['no agent', vm({ agent: { status: 'missing', version: undefined } }), 'GuestAgentMissing'],
    ['an agent not answering', vm({ agent: { status: 'notReady', version: '2.12' } }), 'GuestAgentMissing'],
    ['an old agent', vm({ agent: { status: 'ready', version: '2.2.10' } }), 'GuestAgentOutdated'],
    ['33 data disks', vm({}, 33), 'TooManyDataDisks'],
  ])('refuses %s', (_what, machine, code) => {
    expect(checkRegisterEligibility(machine, opts)).toMatchObject({ ok: false, code });
  });

  it('accepts exactly the limit of data disks, and the limit is configurable', () => {
    expect(checkRegisterEligibility(vm({}, 32), opts).ok).toBe(true);
    expect(checkRegisterEligibility(vm({}, 3), { maxDataDisks: 2 })).toMatchObject({
      code: 'TooManyDataDisks',
    });
    expect(loadConfig({ AzureWebJobsStorage: 'UseDevelopmentStorage=true' }).vm.maxDataDisks).toBeUndefined();
    expect(
      loadConfig({ AzureWebJobsStorage: 'UseDevelopmentStorage=true', STRONGBOX_VM_MAX_DATA_DISKS: '16' }).vm
        .maxDataDisks,
    ).toBe(16);
    expect(() =>
      loadConfig({ AzureWebJobsStorage: 'UseDevelopmentStorage=true', STRONGBOX_VM_MAX_DATA_DISKS: 'many' }),
    ).toThrow(/STRONGBOX_VM_MAX_DATA_DISKS/);
  });

  it('every job error code has a remediation, and jobError appends it', () => {
    for (const code of VM_JOB_ERROR_CODES) expect(REMEDIATION[code].length).toBeGreaterThan(20);
    expect(jobError('VmDeleted', 'The VM x is gone.').message).toBe(
      `The VM x is gone. ${REMEDIATION.VmDeleted}`,
    );
    expect(REMEDIATION.VmDeleted).toMatch(/Stop protection and keep the backup data/);
  });
});

describe('snapshot consistency', () => {
  const okFreeze = { ok: true } as const;
  const failed = (code: string) => ({ ok: false as const, code: code as never, reason: 'r' });
  it.each([
    ['running, freeze ok', 'running', okFreeze, 'ApplicationConsistent'],
    [
      'running, freeze failed (Linux fsfreeze / VSS)',
      'running',
      failed(GUEST_OUTCOME_CODES.FREEZE_FAILED),
      'FileSystemConsistent',
    ],
    ['stopped', 'stopped', undefined, 'CrashConsistent'],
    ['deallocated', 'deallocated', undefined, 'CrashConsistent'],
    ['stopped during the freeze', 'running', failed(GUEST_OUTCOME_CODES.VM_NOT_RUNNING), 'CrashConsistent'],
    ['the platform cannot freeze', 'running', failed(GUEST_OUTCOME_CODES.NOT_SUPPORTED), 'CrashConsistent'],
  ] as const)('%s', (_what, power, freeze, expected) => {
    expect(consistencyOf(power, freeze, 'x')).toEqual({ ok: true, value: expected });
  });

  it.each([
    ['freeze timed out', 'timeout', 'SnapshotTimedOut'],
    ['agent not answering', failed(GUEST_OUTCOME_CODES.AGENT_NOT_READY), 'SnapshotTimedOut'],
    ['extension missing', failed(GUEST_OUTCOME_CODES.EXTENSION_MISSING), 'ExtensionFailed'],
    ['agent outdated', failed(GUEST_OUTCOME_CODES.AGENT_OUTDATED), 'ExtensionFailed'],
    ['agent missing', failed(GUEST_OUTCOME_CODES.AGENT_MISSING), 'ExtensionFailed'],
  ] as const)('%s fails the backup', (_what, freeze, code) => {
    expect(consistencyOf('running', freeze, 'x')).toMatchObject({ ok: false, code });
  });
});

describe('work units', () => {
  it('cuts a disk into about 8 segments within [8 MiB, 512 MiB], whole MiB', () => {
    expect(segmentBytesFor(16 * MiB)).toBe(MIN_SEGMENT_BYTES);
    expect(segmentBytesFor(64 * MiB)).toBe(8 * MiB);
    expect(segmentBytesFor(2048 * MiB)).toBe(256 * MiB);
    expect(segmentBytesFor(1024 * 1024 * MiB)).toBe(MAX_SEGMENT_BYTES);
    expect(segmentBytesFor(100 * MiB + 512)).toBe(12 * MiB);
  });

  it('cuts restores into ranges covering every byte once, at most the segment size each', () => {
    const segs = restoreSegmentsOf([{ sizeBytes: 10 }, { sizeBytes: 0 }, { sizeBytes: 25 }], 10);
    expect(segs).toEqual([
      { diskIndex: 0, offset: 0, length: 10 },
      { diskIndex: 2, offset: 0, length: 10 },
      { diskIndex: 2, offset: 10, length: 10 },
      { diskIndex: 2, offset: 20, length: 5 },
    ]);
  });

  it("names a backup instance's point the same on every run, ordered by time", () => {
    const a = recoveryPointIdFor('inst-1', '2030-01-01T00:00:00Z');
    expect(recoveryPointIdFor('inst-1', '2030-01-01T00:00:00Z')).toBe(a);
    expect(recoveryPointIdFor('inst-2', '2030-01-01T00:00:00Z')).not.toBe(a);
    expect(recoveryPointIdFor('inst-0', '2030-01-02T00:00:00Z') > a).toBe(true);
  });
});

describe('retention choice', () => {
  const point = (id: string, time: string, extra: Record<string, unknown> = {}): RecoveryPointDoc => ({
    id,
    itemName: 'i',
    vaultName: 'v',
    subscriptionId: 's',
    recoveryPointTime: time,
    recoveryPointType: 'Incremental',
    consistency: 'CrashConsistent',
    sizeBytes: 1,
    manifestRef: '',
    createdTime: time,
    pointKind: 'scheduled',
    ...extra,
  });
  it('expires scheduled points by the policy and ad-hoc points by their retainUntil', () => {
    const policy = { ...defaultPolicy(), retention: { daily: { days: 7 } } };
    const points = Array.from({ length: 10 }, (_, d) =>
      point(`p${d + 1}`, `2030-01-${String(d + 1).padStart(2, '0')}T22:30:00.000Z`),
    );
    points.push(
      point('adhoc-old', '2030-01-02T10:00:00.000Z', {
        pointKind: 'adhoc',
        retainUntil: '2030-01-05T00:00:00.000Z',
      }),
    );
    points.push(
      point('adhoc-kept', '2030-01-02T10:00:00.000Z', {
        pointKind: 'adhoc',
        retainUntil: '2031-01-01T00:00:00.000Z',
      }),
    );
    // Jan 11, before that day's backup: the days' points of Jan 4-10 stay (policy.md: kept through d + 7).
    const expired = expiredPoints(policy, points, new Date('2030-01-11T12:00:00Z')).map((p) => p.id);
    expect(expired.sort()).toEqual(['adhoc-old', 'p1', 'p2', 'p3']);
  });
});

describe('key provider', () => {
  // The Key Vault path (STRONGBOX_KEY_VAULT_URI) is tested in vmKeyProvider.test.ts.
  it('uses a local key file (created 0600 in its folder)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sb-kek-'));
    try {
      const provider = vmKeyProvider({ localKeyFile: 'keys/kek' }, dir);
      const wrapped = await provider.wrap(Buffer.alloc(32, 7), { vaultId: 'ab'.repeat(16) });
      expect((fs.statSync(path.join(dir, 'keys', 'kek')).mode & 0o777).toString(8)).toBe('600');
      expect((await provider.unwrap(wrapped, { vaultId: 'ab'.repeat(16) })).equals(Buffer.alloc(32, 7))).toBe(
        true,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
