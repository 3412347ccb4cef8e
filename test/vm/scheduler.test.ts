// Scheduled backups start exactly once per (item, scheduled time): twice-firing timers, concurrent
// ticks, and a tick that died between claiming a time and starting its backup, on the memory store.
import { createControlPlane } from '../../shared/controlPlane/controlPlane';
import { cryptoIds } from '../../shared/controlPlane/controlPlanePorts';
import { memStateStore } from '../../shared/state/memStateStore';
import {
  dueSlots,
  scheduledBackupInstanceId,
  startDueBackups,
  type BackupStarter,
} from '../../shared/vm/scheduler';
import type { VmDeps } from '../../shared/vm/vmDeps';
import { itemKey, vmStateStore } from '../../shared/vm/vmStateStore';
import type { BackupInput } from '../../shared/vm/vmWorkflowTypes';

const DAY = 86_400_000;
const T0 = Date.parse('2030-03-01T12:00:00Z');
const schedule = { frequency: 'daily' as const, timeZone: 'UTC', times: ['22:30'] };

function fakeStarter(): BackupStarter & { started: Map<string, BackupInput> } {
  const started = new Map<string, BackupInput>();
  return {
    started,
    exists: (id) => Promise.resolve(started.has(id)),
    async startBackup(id, input) {
      await new Promise((r) => setImmediate(r)); // let concurrent ticks interleave
      if (started.has(id)) return 'exists';
      started.set(id, input);
      return 'started';
    },
  };
}

async function setup() {
  const store = memStateStore();
  const cp = createControlPlane({ store, clock: { now: () => new Date(T0) }, ids: cryptoIds });
  await cp.vaults.put('s', 'v', { location: 'local' });
  await cp.policies.put('s', 'v', 'Nightly', {
    properties: { schedule, instantRestoreDays: 2, retention: { daily: { days: 7 } } },
  });
  const state = vmStateStore(store);
  await state.putSchedule({
    subscriptionId: 's',
    vaultName: 'v',
    itemName: 'web01',
    policyName: 'Nightly',
    protectedAt: new Date(T0).toISOString(),
  });
  const deps = { cp, state } as unknown as VmDeps;
  return { deps, state };
}

describe('dueSlots', () => {
  it('lists the scheduled times of the last day after protection, inclusive of now', () => {
    const at = (s: string) => new Date(s);
    expect(dueSlots(schedule, at('2030-03-01T12:00:00Z'), at('2030-03-01T22:29:59Z'))).toEqual([]);
    expect(dueSlots(schedule, at('2030-03-01T12:00:00Z'), at('2030-03-01T22:30:00Z'))).toEqual([
      at('2030-03-01T22:30:00Z'),
    ]);
    // Down for three days: only the last day's time is caught up.
    expect(dueSlots(schedule, at('2030-03-01T12:00:00Z'), at('2030-03-04T23:00:00Z'))).toEqual([
      at('2030-03-04T22:30:00Z'),
    ]);
    // Protected after the day's time: nothing that day.
    expect(dueSlots(schedule, at('2030-03-01T22:31:00Z'), at('2030-03-01T23:00:00Z'))).toEqual([]);
  });
});

describe('startDueBackups', () => {
  it('starts each scheduled time once, however often and however concurrently the timer fires', async () => {
    const { deps } = await setup();
    const starter = fakeStarter();
    for (let day = 0; day < 3; day++) {
      const now = new Date(T0 + day * DAY + 11 * 3_600_000); // 23:00, after that day's 22:30
      const ticks = await Promise.all([1, 2, 3].map(() => startDueBackups(deps, starter, now.toISOString())));
      expect(ticks.reduce((n, t) => n + t.started, 0)).toBe(1);
      // The same timer again, five minutes later.
      const again = await startDueBackups(deps, starter, new Date(now.getTime() + 300_000).toISOString());
      expect(again).toMatchObject({ started: 0, alreadyStarted: 1 });
    }
    expect([...starter.started.values()].map((i) => i.scheduledTime)).toEqual([
      '2030-03-01T22:30:00.000Z',
      '2030-03-02T22:30:00.000Z',
      '2030-03-03T22:30:00.000Z',
    ]);
    expect([...starter.started.values()].every((i) => i.trigger === 'scheduled')).toBe(true);
  });

  it('starts a time whose tick claimed it and died before starting; never restarts an existing instance', async () => {
    const { deps, state } = await setup();
    const starter = fakeStarter();
    const slot = new Date('2030-03-01T22:30:00Z');
    expect(await state.claimSlot(itemKey('s', 'v', 'web01'), slot.toISOString())).toBe(true);
    const now = '2030-03-01T23:00:00.000Z';
    expect((await startDueBackups(deps, starter, now)).started).toBe(1);
    expect(starter.started.has(scheduledBackupInstanceId('s', 'v', 'web01', slot))).toBe(true);
    expect((await startDueBackups(deps, starter, now)).started).toBe(0);
    expect(starter.started.size).toBe(1);
  });

  it('keeps going when one item cannot be scheduled (its policy was deleted)', async () => {
    const { deps, state } = await setup();
    await state.putSchedule({
      subscriptionId: 's',
      vaultName: 'v',
      itemName: 'ghost',
      policyName: 'Gone',
      protectedAt: new Date(T0).toISOString(),
    });
    const r = await startDueBackups(deps, fakeStarter(), '2030-03-01T23:00:00.000Z');
    expect(r).toMatchObject({ started: 1, items: 2 });
  });
});

describe('missed scheduled times', () => {
  it('are not run late, but reported once as a Failed BackupMissed job naming how many and when', async () => {
    const { deps } = await setup();
    const starter = fakeStarter();
    const at = (day: number) => new Date(T0 + day * DAY + 11 * 3_600_000).toISOString(); // 23:00
    expect((await startDueBackups(deps, starter, at(0))).started).toBe(1);
    // Down from day 0 to day 4: day 4's time is caught up; days 1-3 are missed.
    expect((await startDueBackups(deps, starter, at(4))).started).toBe(1);
    await startDueBackups(deps, starter, new Date(Date.parse(at(4)) + 300_000).toISOString());
    const failed = (await deps.cp.jobs.list('s', 'v', { status: 'Failed' }, { top: 10 })).value;
    expect(failed).toHaveLength(1);
    expect(failed[0]!.properties).toMatchObject({
      operation: 'Backup',
      itemName: 'web01',
      error: { code: 'BackupMissed' },
      extendedInfo: {
        missedCount: 3,
        firstMissed: '2030-03-02T22:30:00.000Z',
        lastMissed: '2030-03-04T22:30:00.000Z',
      },
    });
    expect((failed[0]!.properties.error as { message: string }).message).toMatch(
      /^3 scheduled backups from .* did not run\. The service/,
    );
    // Only the caught-up time was started: days 0 and 4.
    expect([...starter.started.values()].map((b) => b.scheduledTime)).toEqual([
      '2030-03-01T22:30:00.000Z',
      '2030-03-05T22:30:00.000Z',
    ]);
  });

  it('an entry without a watermark (written before it was kept) reports nothing', async () => {
    const { deps } = await setup();
    await startDueBackups(deps, fakeStarter(), new Date(T0 + 5 * DAY).toISOString());
    expect((await deps.cp.jobs.list('s', 'v', { status: 'Failed' }, { top: 10 })).value).toHaveLength(0);
  });
});
